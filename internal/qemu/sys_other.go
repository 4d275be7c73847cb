//go:build !linux

package qemu

import (
	"errors"
	"net"
	"os"
	"os/exec"
)

// Only Linux hosts are supported for now; elsewhere run without the extras.
func setSysProcAttr(*exec.Cmd, bool) {}

func saveTerminal(*os.File) func() { return func() {} }

func isTerminal(*os.File) bool { return false }

func socketPair() (*net.UnixConn, *os.File, error) {
	return nil, nil, errors.New("the application console needs a Linux host")
}

func punchHole(*os.File, int64) {}

func CanHoldLog() bool { return false }

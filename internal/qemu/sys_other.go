//go:build !linux

package qemu

import (
	"os"
	"os/exec"
)

// Only Linux hosts are supported for now; elsewhere run without the extras.
func setSysProcAttr(*exec.Cmd) {}

func saveTerminal(*os.File) func() { return func() {} }

func isTerminal(*os.File) bool { return false }

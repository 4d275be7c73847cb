package qemu

import (
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

// setSysProcAttr makes the kernel TERM QEMU if runikraft dies (e.g. go
// test's SIGKILL on timeout) so no VM outlives us.
func setSysProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// saveTerminal records f's terminal settings, if f is a terminal, and
// returns a function that puts them back if they changed. QEMU puts a tty
// stdin into raw mode and restores it on a clean exit, but not if it is
// SIGKILLed.
func saveTerminal(f *os.File) (restore func()) {
	nop := func() {}
	if f == nil {
		return nop
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nop
	}
	var saved syscall.Termios
	if !termios(rc, syscall.TCGETS, &saved) {
		return nop
	}
	return func() {
		var now syscall.Termios
		// Only write when needed: a background job writing its tty
		// settings would be stopped by SIGTTOU.
		if termios(rc, syscall.TCGETS, &now) && now != saved {
			termios(rc, syscall.TCSETS, &saved)
		}
	}
}

func termios(rc syscall.RawConn, req uintptr, t *syscall.Termios) bool {
	var errno syscall.Errno
	err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t)))
	})
	return err == nil && errno == 0
}

func isTerminal(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var t syscall.Termios
	return termios(rc, syscall.TCGETS, &t)
}

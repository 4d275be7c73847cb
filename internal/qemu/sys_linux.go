package qemu

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

// setSysProcAttr makes the kernel TERM QEMU if runikraft dies (e.g. go
// test's SIGKILL on timeout) so no VM outlives us. ownGroup puts QEMU in
// a process group of its own, out of reach of the terminal's ^C: Run
// forwards the signal, so QEMU gets it once and its "terminating on
// signal" is reliably hidden. Only for QEMU that does not use the
// terminal: in a background group it could not read it.
func setSysProcAttr(cmd *exec.Cmd, ownGroup bool) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: ownGroup}
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

// socketPair makes a connected AF_UNIX stream pair: ours for Run (in the
// poller, so reads can have deadlines) and theirs to pass to QEMU. Both
// are close-on-exec; os/exec clears that on the ExtraFiles it passes.
func socketPair() (ours *net.UnixConn, theirs *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "console socket")
	defer f.Close() // FileConn has its own dup
	c, err := net.FileConn(f)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "qemu console socket"), nil
}

// punchHole gives the first n bytes of f back to the filesystem (rounded
// down to whole 4 KiB blocks), keeping its size; where the filesystem
// cannot, the file just keeps them.
func punchHole(f *os.File, n int64) {
	const punchHole, keepSize = 0x02, 0x01 // FALLOC_FL_PUNCH_HOLE, FALLOC_FL_KEEP_SIZE
	if n &^= 4095; n > 0 {
		syscall.Fallocate(int(f.Fd()), punchHole|keepSize, 0, n)
	}
}

// CanHoldLog reports whether Run can make a held log's file (see
// Config.HeldLog): the temporary directory ($TMPDIR) is one runikraft
// may create files in. Where it is not (a TMPDIR that does not exist),
// the log goes through a socket as before.
func CanHoldLog() bool {
	const wOK, xOK = 0x2, 0x1
	return syscall.Access(os.TempDir(), wOK|xOK) == nil
}

package linux

import "syscall"

// Errno is a Linux error number. It is the standard library's type, so
// the kernel's handlers and package syscall's values mix freely; the
// values are riscv64's (asm-generic), whatever the host running unit
// tests is.
type Errno = syscall.Errno

// ErrnoName is the symbolic name of e ("EBADF"), or "" if unknown.
func ErrnoName(e Errno) string {
	if uint64(e) < uint64(len(errnoNames)) {
		return errnoNames[e].name
	}
	return ""
}

// ErrnoText is strerror(e) as Linux's libcs spell it, or "" if unknown.
func ErrnoText(e Errno) string {
	if uint64(e) < uint64(len(errnoNames)) {
		return errnoNames[e].desc
	}
	return ""
}

// MaxErrno is the largest error number a system call returns: results
// in [-MaxErrno, -1] are errors, as the C libraries decode them.
const MaxErrno = 4095

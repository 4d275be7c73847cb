//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// The quickest system calls never reach trap: trapVector answers the
// identity calls, getpid through gettid (172-178 on riscv64: getpid,
// getppid, getuid, geteuid, getgid, getegid, gettid), before it saves
// anything but two registers. They have fixed answers (the posix layer's:
// the application is process 1 and root) or the thread's id from its
// UserContext, which is the running frame in user mode (see enterUser),
// so that is all they need; an ECALL from user mode with the UserContext's
// Kick or Flags set (a signal to deliver, --strace) takes the full path.
// The SYS_ numbers and offsets below reach entry_riscv64.s by go_asm.h.
//
// SMP: touches only the trapping thread's own UserContext.
const (
	fastSysFirst = linux.SYS_GETPID // answers 1 (abi.AppPid)
	fastSysLast  = linux.SYS_GETTID // answers UserContext.Tid; between: 0
	ucKick       = unsafe.Offsetof(abi.UserContext{}.Kick)
	ucTid        = unsafe.Offsetof(abi.UserContext{}.Tid)
	ucFlags      = unsafe.Offsetof(abi.UserContext{}.Flags)
)

// The numbers trapVector relies on, checked at compile time.
var (
	_ = [1]struct{}{}[abi.AppPid-1]
	_ = [1]struct{}{}[linux.SYS_GETPPID-fastSysFirst-1]
	_ = [1]struct{}{}[linux.SYS_GETUID-fastSysFirst-2]
	_ = [1]struct{}{}[linux.SYS_GETEUID-fastSysFirst-3]
	_ = [1]struct{}{}[linux.SYS_GETGID-fastSysFirst-4]
	_ = [1]struct{}{}[linux.SYS_GETEGID-fastSysFirst-5]
	_ = [1]struct{}{}[fastSysLast-fastSysFirst-6]
	_ = [1]struct{}{}[linux.EnvironmentCallFromUMode-8]
)

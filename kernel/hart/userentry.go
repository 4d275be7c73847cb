//go:build riscv64

package hart

import (
	"syscall"
	_ "unsafe" // go:linkname

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// EnterUser's way into user mode. It used to be a system call of the
// hart layer like the others (an EBREAK the trap vector saved a whole
// frame for, then the dispatch in trap and doSyscall); now the goroutine
// calls enterUserDirect (userentry_riscv64.s), which turns interrupts
// off, saves only what a Go call keeps into the thread's kernel frame and
// runs userEntry on the hart's trap stack, as trap would. Leaving user
// mode is unchanged: leaveUser finishes the kernel frame's "call" and
// schedule resumes it, at enterUserRet. The Go runtime still sees a
// system call around it (entersyscall, exitsyscall), so the P is handed
// off as before while the thread is in user mode.
//
// Trap context from enterUserDirect on: see trap.go.

// Implemented in userentry_riscv64.s.
func enterUserDirect(uc uintptr) (r uintptr)
func enterUserRet(uc uintptr) (r uintptr)

//go:linkname entersyscall runtime.entersyscall
func entersyscall()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// enterUserCall runs the UserContext at uc in user mode until its thread
// leaves it, and returns 0 or -errno, bracketed for the Go runtime as
// syscall.Syscall brackets a system call (nosplit for the same reason:
// no stack growth between entersyscall and exitsyscall).
//
//go:nosplit
func enterUserCall(uc uintptr) uintptr {
	entersyscall()
	r := enterUserDirect(uc)
	exitsyscall()
	return r
}

// userEntry is trap's counterpart for enterUserDirect: the frame fr
// (the running thread's kernel frame) holds the UserContext in a0. It
// returns the frame to resume.
//
//go:nosplit
func userEntry(fr uintptr) uintptr {
	h := hartAt(ptrFrame(fr).hart)
	if h == nil {
		fatal(&emergFrames[0], "user entry frame names no hart")
		return fr // not reached: fatal powers off
	}
	profLock(h)
	i := h.cur
	if i < 0 || i >= maxThreads || frameAddr(i) != fr {
		fatal(ptrFrame(h.emerg), "user entry frame does not belong to the running thread")
		return fr // not reached: fatal powers off
	}
	t := &threads[i]
	profTrap(h, linux.Breakpoint, false)
	profSys(h, sysRKEnterUser)
	enterUser(t, uintptr(t.fr.x[abi.RegA0]))
	next, ok := stay(h) // stay.go; else schedule, as trap
	if !ok {
		next = schedule(h)
	}
	profResume(h, next)
	releaseBKL(h) // next is this hart's alone now: resume reads only it
	return next
}

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

// waitIRQHandedOff waits for irq as WaitIRQ does, after handing the
// goroutine's P to another thread of the runtime (entersyscallblock
// starts one at once when the P has goroutines to run): WaitIRQ's first
// wait told it that the hart has nothing else to run (yieldIRQIdle,
// plic.go). Nosplit like enterUserCall, with the raw call between the
// two runtime hooks as syscall.Syscall has it.
//
//go:nosplit
func waitIRQHandedOff(irq uint32) syscall.Errno {
	entersyscallblock()
	_, _, e := syscall.RawSyscall(sysRKWaitIRQ, uintptr(irq), 0, 0)
	exitsyscall()
	return e
}

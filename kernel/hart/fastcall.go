//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Fast paths for the system calls applications make in hot loops (every
// Go timer reads the clock): answered here, in trap context, instead of
// leaving user mode for the posix layer — one trap instead of four. Each
// gives up on anything unusual (a pending kick, a bad pointer, a clock it
// does not know), and the posix layer then answers as usual, so errors
// and signals keep their one implementation there. The clocks are the
// posix layer's: CLOCK_MONOTONIC is the runtime's nanotime, the
// realtime clocks add the wall-clock offset.
//
// Trap context: no allocation, no blocking, nosplit all the way down.

// userFastCall answers the ECALL in t's user frame if it can, and then
// reports true with the result in a0 and pc past the ECALL (or t blocked
// in a futex wait, see ufutex.go).
//
//go:nosplit
func userFastCall(t *thread) bool {
	u := uctxAt(t.uctx)
	if t.kick || u.Kick != 0 || u.Flags&abi.UserSlowCalls != 0 {
		return false // a signal is on its way, or --strace wants every call
	}
	f := (*frame)(ptr(t.uctx)) // the user frame (see enterUser)
	a0, a1 := f.x[abi.RegA0], f.x[abi.RegA1]
	var r int64
	switch f.x[abi.RegA7] {
	case linux.SYS_CLOCK_GETTIME:
		var ns int64
		switch a0 {
		case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_COARSE, linux.CLOCK_TAI:
			ns = ticksToNS(reg.ReadTime()) + bootWall
		case linux.CLOCK_MONOTONIC, linux.CLOCK_MONOTONIC_RAW, linux.CLOCK_MONOTONIC_COARSE, linux.CLOCK_BOOTTIME:
			ns = ticksToNS(reg.ReadTime())
		default:
			return false
		}
		if !putUserPair(uintptr(a1), uint64(ns/1e9), uint64(ns%1e9)) {
			return false
		}
	case linux.SYS_GETTIMEOFDAY:
		if a1 != 0 || a0 == 0 {
			return false
		}
		ns := ticksToNS(reg.ReadTime()) + bootWall
		if !putUserPair(uintptr(a0), uint64(ns/1e9), uint64(ns%1e9/1000)) {
			return false
		}
	// Identities: the posix layer's answers, which never change (the
	// application is process 1, its own session and group leader, root).
	case linux.SYS_GETPID:
		r = abi.AppPid
	case linux.SYS_GETTID:
		r = int64(u.Tid)
	case linux.SYS_GETPPID, linux.SYS_GETUID, linux.SYS_GETEUID, linux.SYS_GETGID, linux.SYS_GETEGID:
		r = 0
	case linux.SYS_FUTEX:
		return userFutex(t, f)
	case linux.SYS_NANOSLEEP, linux.SYS_CLOCK_NANOSLEEP:
		return userSleep(t, f) // usleep.go
	default:
		return false
	}
	f.x[abi.RegA0] = uint64(r)
	f.pc += 4
	return true
}

// putUserPair stores two words at application address p, if p is a
// mapped, writable application address with both words in one page
// (written through the kernel's identity map, as copyUser does).
//
//go:nosplit
func putUserPair(p uintptr, a, b uint64) bool {
	if p%8 != 0 || p%mm.PageSize > mm.PageSize-16 {
		return false
	}
	pa, ok := userPA(p, true)
	if !ok {
		return false
	}
	put64(pa, a)
	put64(pa+8, b)
	return true
}

// userPA returns where the kernel reaches application address p (the
// identity map of RAM) if the application may read it, or write it if
// write is set; a page not yet backed is faulted in. A page already
// present costs one page-table walk.
//
//go:nosplit
func userPA(p uintptr, write bool) (uintptr, bool) {
	if !uspace.contains(p, 1) {
		return 0, false
	}
	need := uint64(mm.PTEValid | mm.PTEUser | mm.PTERead)
	if write {
		need |= mm.PTEWrite
	}
	pte, size := kpt.Lookup(p)
	if pte&need != need {
		if !userPages(p, 1, write) {
			return 0, false
		}
		if pte, size = kpt.Lookup(p); pte&need != need {
			return 0, false
		}
	}
	return mm.PTEPage(pte) + p&(size-1), true
}

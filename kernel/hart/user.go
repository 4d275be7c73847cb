//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"

	"github.com/runikraft/runikraft/kernel/mm"
)

// User mode. An application thread is a kernel goroutine that calls
// EnterUser in a loop: the hart layer parks the goroutine's kernel frame,
// runs the UserContext's registers in U-mode, and on the next trap that
// the kernel must see (ecall, unresolvable fault, kick) writes the user
// registers back and resumes the goroutine as if EnterUser returned.
// Timer and device interrupts from U-mode are handled here and the user
// frame is simply resumed (or preempted like any thread).
//
// Application memory shares the kernel's page table with U=1 pages in
// the ranges below; it is backed lazily like the kernel's. The kernel
// reaches it only through CopyIn/CopyOut (copyUser), which check every
// page and copy through the kernel's identity map of RAM; sstatus.SUM
// stays clear, so a stray kernel access to an application address
// faults. Trap context: see trap.go.

// UserContext is defined in package abi so the posix layer can be built
// and tested on the host.
type UserContext = abi.UserContext

// CauseKick is UserContext.Cause when Kick ended the user run.
const CauseKick = abi.CauseKick

// The application's address space (see abi).
const (
	UserLowStart  = abi.UserLowStart
	UserLowEnd    = abi.UserLowEnd
	UserHighStart = abi.UserHighStart
	UserHighEnd   = abi.UserHighEnd
)

//go:nosplit
func uctxAt(p uintptr) *UserContext { return (*UserContext)(ptr(p)) }

// enterUser switches thread t from its kernel frame to the user frame
// in the UserContext at uc. That UserContext is the frame itself while
// the thread is in user mode: traps save the user registers straight
// into it and resume restores them from it, so nothing is copied on the
// way in or out (abi.UserContext has frame's layout). The kernel frame
// stays in t.fr, parked at enterUserRet (userentry.go).
//
// FP state moves lazily (fp.go): schedule loads the user's registers,
// which start clean, and they are stored back only if user code changed
// them. The kernel frame's FP registers are not kept: EnterUser is a
// function call to Go code, which keeps nothing in FP registers across
// calls (Go has no callee-saved registers).
//
//go:nosplit
func enterUser(t *thread, uc uintptr) {
	// The posix layer passes the same UserContext each time: checking
	// its pages again (two page-table walks) is needed only when kernel
	// pages were released since.
	if uc != t.ucBacked || t.ucGen != kernelReleases {
		if !backed(uc, unsafe.Sizeof(UserContext{}), true) {
			t.ucBacked = 0
			finish(t, -int64(linux.EFAULT))
			return
		}
		t.ucBacked, t.ucGen = uc, kernelReleases
	}
	u := uctxAt(uc)
	if u.Kick != 0 {
		u.Cause = CauseKick
		finish(t, 0)
		return
	}
	h := hartFor(t.fr.hart)
	if h.fpOwner == frameAddrOf(&t.fr) {
		h.fpOwner = 0 // nothing of the kernel frame's to keep
	}
	t.uctx = uc
	t.appTid = u.Tid
	t.kick = false
	u.Hart = uint64(t.fr.hart)
	u.Status = t.fr.status&^(statusSPP|statusSUM|statusFS) | statusSPIE | userFS(u.Status)
	t.inUser = true
	stamp(PhaseFirstUser) // boot timeline (timeline.go)
}

// leaveUser makes t's kernel frame the running one again, with EnterUser
// returning 0 and the UserContext saying why (cause). t may be running
// or blocked.
//
//go:nosplit
func leaveUser(t *thread, cause uint64) {
	u := uctxAt(t.uctx)
	// If the user frame still owns the hart's FP registers (fp.go), store
	// them if the application changed them; the kernel frame may then run
	// on the application's values, as after any call, but not on its
	// rounding mode. Otherwise the frame's memory has them already.
	h := hartFor(uintptr(u.Hart))
	if h.fpOwner == t.uctx {
		if u.Status&statusFS == statusFS {
			saveFP(t.uctx) // and left dirty (fpRelease)
		}
		h.fpOwner = 0
		if u.FCSR&fcsrFRM == 0 {
			h.fpOwner = frameAddrOf(&t.fr)
		}
	}
	u.Cause = cause
	t.inUser = false
	t.kick = false
	t.uctx = 0
	finish(t, 0)
}

// userTrap handles a synchronous trap from U-mode.
//
//go:nosplit
func userTrap(t *thread, cause uint64) {
	switch cause {
	case linux.EnvironmentCallFromUMode:
		if userFastCall(t) {
			profFast(hartFor(t.fr.hart))
			return
		}
	case linux.InstructionPageFault, linux.LoadPageFault, linux.StoreAMOPageFault:
		ok, oom := uspace.fault(uintptr(uctxAt(t.uctx).Tval), cause)
		if ok {
			return
		}
		if oom {
			cause = abi.CauseOOM // the app is killed; the kernel lives
		}
	}
	leaveUser(t, cause)
}

// UserMap flags (see abi).
const (
	MapFixed     = abi.MapFixed
	MapNoReplace = abi.MapNoReplace
	MapCommit    = abi.MapCommit
	MapAnon      = abi.MapAnon
)

// userPages makes every page of [a, a+n) present in the application's
// memory, with write access if write is set.
//
//go:nosplit
func userPages(a, n uintptr, write bool) bool {
	if !uspace.contains(a, n) {
		return false
	}
	cause := uint64(linux.LoadPageFault)
	if write {
		cause = linux.StoreAMOPageFault
	}
	for va := pageDown(a); va < a+n; va += mm.PageSize {
		pte, _ := kpt.Lookup(va)
		if pte&mm.PTEValid != 0 && pte&mm.PTEUser != 0 {
			if write && pte&mm.PTEWrite == 0 && kpt.IsShared(pte) {
				if ok, _ := uspace.fault(va, cause); !ok { // the zero page: a page of its own now
					return false
				}
				continue
			}
			if write && pte&mm.PTEWrite == 0 {
				return false
			}
			if !write && pte&(mm.PTERead|mm.PTEWrite) == 0 {
				return false
			}
			continue
		}
		if ok, _ := uspace.fault(va, cause); !ok {
			return false
		}
	}
	return true
}

// copyUser copies n bytes between kernel and application memory; toUser
// picks the direction. Bad application addresses give EFAULT.
//
//go:nosplit
func copyUser(dst, src, n uintptr, toUser bool) int64 {
	if n == 0 {
		return 0
	}
	if toUser {
		if !userPages(dst, n, true) || !backed(src, n, false) {
			return -int64(linux.EFAULT)
		}
	} else if !userPages(src, n, false) || !backed(dst, n, true) {
		return -int64(linux.EFAULT)
	}
	// Through the kernel's identity map of RAM, page by page, rather than
	// the application's addresses with sstatus.SUM set: under QEMU each
	// SUM toggle flushes the TLB, which cost more than the copy. The pages
	// stay put: this is trap context, and userPages just made them present.
	for done := uintptr(0); done < n; {
		uva := src + done
		if toUser {
			uva = dst + done
		}
		chunk := min(n-done, mm.PageSize-uva%mm.PageSize)
		pa, ok := kpt.Translate(uva)
		if !ok || chunk > mm.PageSize {
			return -int64(linux.EFAULT)
		}
		// Through page-sized array pointers rather than unsafe.Slice, whose
		// checks could panic; neither address is nil here.
		to, from := pa, src+done
		if !toUser {
			to, from = dst+done, pa
		}
		copy((*[mm.PageSize]byte)(ptr(to))[:chunk], (*[mm.PageSize]byte)(ptr(from))[:chunk])
		done += chunk
	}
	return int64(n)
}

// kick makes the thread running uc leave user mode at its next resume;
// a futex wait the hart layer parked it in ends as interrupted.
//
//go:nosplit
func kick(uc uintptr) int64 {
	for j := int32(0); j < nthreads && j < maxThreads; j++ {
		t := &threads[j]
		if t.inUser && t.uctx == uc {
			t.kick = true
			if t.state == tBlocked && t.wait == wUserFutex {
				interruptUserWait(j, t) // under bkl, like the futex queue
			} else if t.state == tBlocked && t.wait == wUserSleep {
				interruptUserSleep(j, t) // usleep.go
			} else {
				kickRunning(t) // in user mode on another hart
			}
			return 1
		}
	}
	return 0
}

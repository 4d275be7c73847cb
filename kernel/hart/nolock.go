//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// lockFreeCall answers the kernel runtime's clock_gettime without bkl,
// and reports whether it did (trap then resumes fr at once). It is the
// runtime's most frequent call by far (nanotime: about half of all its
// traps with 2 harts in bench/smp), reads nothing shared but the clock,
// and writes only the running thread's frame and its own stack. Anything
// unusual (another call, a clock it does not know, a timespec not yet
// mapped writable) takes the locked path, which handles it as before.
//
// Without the lock: the running thread's frame and fields are this
// hart's alone, and the timespec page cannot be unmapped under the thread
// that is writing to it, so the page-table walk sees a stable path.
//
//go:nosplit
func lockFreeCall(h *hartState, fr uintptr) bool {
	i := h.cur
	if nharts <= 1 || i < 0 || i >= maxThreads || frameAddr(i) != fr {
		return false
	}
	f := ptrFrame(fr)
	if f.cause != linux.Breakpoint || f.status&statusSPP == 0 || f.x[abi.RegA7] != linux.SYS_CLOCK_GETTIME {
		return false
	}
	clk, ts := f.x[abi.RegA0], uintptr(f.x[abi.RegA1])
	if clk != linux.CLOCK_REALTIME && clk != linux.CLOCK_MONOTONIC || !isEcallSite(f.pc) {
		return false
	}
	if ts%8 != 0 || ts%mm.PageSize > mm.PageSize-16 || ts+16 > mm.VALimit {
		return false
	}
	const need = mm.PTEValid | mm.PTEWrite
	if pte, _ := kpt.Lookup(ts); pte&need != need || pte&mm.PTEUser != 0 {
		return false
	}
	ns := ticksToNS(reg.ReadTime())
	if clk == linux.CLOCK_REALTIME {
		ns += bootWall
	}
	put64(ts, uint64(ns/1e9))
	put64(ts+8, uint64(ns%1e9))
	f.x[abi.RegA0] = 0
	f.pc += 4
	return true
}

//go:build riscv64

package hart

import "github.com/runikraft/runikraft/kernel/reg"

// stay is schedule's common case, taken first at the end of a trap and
// of a user entry: the thread that trapped keeps the hart (it is still
// running, its time slice is not over, no kick waits for it, and no
// affinity could send it elsewhere). Then nothing but its frame's hart,
// the timer and the FP registers needs looking at, and stay returns the
// frame to resume and true; otherwise false, and schedule decides.
// Every system call that does not block ends here, twice for one the
// posix layer answers (the trap out of user mode, the entry back).
//
//go:nosplit
func stay(h *hartState) (uintptr, bool) {
	i := h.cur
	if i < 0 || i >= maxThreads || h.preempt {
		return 0, false
	}
	t := &threads[i]
	if t.state != tRunning || t.inUser && (t.kick || uctxAt(t.uctx).Affinity != 0) {
		return 0, false
	}
	fa := frameAddr(i)
	profMigrate(h, fa)
	(*frame)(ptr(fa)).hart = hartAddr(h)
	arm(h, reg.ReadTime())
	// fpSwitch's quick case, here: the frame that owns the registers
	// (the kernel frame back from user mode, the same one after a trap)
	// needs only its FS bit set if it is a kernel frame (fp.go).
	if f := (*frame)(ptr(fa)); h.fpOwner == fa {
		if f.status&statusSPP != 0 {
			f.status |= statusFS
		}
	} else {
		fpSwitch(h, fa)
	}
	return fa, true
}

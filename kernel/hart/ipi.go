//go:build riscv64

package hart

// Inter-hart signalling: SBI IPIs (the target sees sip.SSIP) to wake an
// idle hart, to kick a thread out of user mode on another hart, and to
// make a hart re-arm its timer for an earlier deadline; SBI remote fences for TLB
// shootdown and instruction-cache sync. All are no-ops with one hart,
// so the single-hart path pays nothing. Trap context, under bkl.

// sendIPI asks for a supervisor software interrupt on harts[k]. It is
// raised by releaseBKL once this hart has dropped bkl: an SBI call traps
// to the firmware, which writes the CLINT (under QEMU that takes its
// global lock), and under host load that was seen to take milliseconds,
// all of it with every other hart spinning on bkl.
//
//go:nosplit
func sendIPI(k int32) {
	if k < 0 || k >= nharts || k >= maxHarts {
		return
	}
	pendingIPIs |= 1 << uint(k)
}

// pendingIPIs are the CPUs (bit k = harts[k]) that sendIPI chose since
// bkl was last released. Under bkl.
var pendingIPIs uint64

// releaseBKL drops bkl and then does what sendIPI and arm put off: the
// IPIs and this hart's timer. Both are safe late: a hart woken late finds
// the run queue under bkl as usual, and the timer is this hart's own.
//
//go:nosplit
func releaseBKL(h *hartState) {
	ipis := pendingIPIs
	pendingIPIs = 0
	at, rearm := h.timerAt, h.rearm
	h.rearm = false
	profUnlock(h)
	if rearm {
		t0 := profTimerSet(h)
		setTimer(h, at)
		profTimerDone(h, t0)
	}
	for k := 0; k < maxHarts; k++ {
		if ipis == 0 {
			break
		}
		if ipis&(1<<uint(k)) != 0 {
			ipis &^= 1 << uint(k)
			profIPI()
			sbicall(sbiIPI, 0, 1, uint64(harts[k].id), 0) // mask bit 0 at base = hart id
		}
	}
}

// kickIdle wakes one idle hart among mask (0: any) after a thread that
// may run there became runnable; not the caller, which is in trap context
// and so not idle. A pinned thread (mask not 0) with no idle hart of its
// own interrupts a busy one of them instead: that hart's timer may be
// armed for no time slice at all, as its queue looked empty when it last
// scheduled, and the caller's hart may not run the thread.
//
//go:nosplit
func kickIdle(mask uint64) {
	busy := int32(-1)
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		h := &harts[k]
		if mask != 0 && mask&(1<<uint(k)) == 0 {
			continue
		}
		if h.idle && !h.ipiSent {
			h.ipiSent = true
			sendIPI(k)
			return
		}
		if busy < 0 && !h.idle {
			busy = k
		}
	}
	if mask != 0 && busy >= 0 {
		sendIPI(busy)
	}
}

// kickRunning makes the hart running thread t take a trap soon, so that
// schedule sees t.kick (a signal for a thread in user mode).
//
//go:nosplit
func kickRunning(t *thread) {
	if nharts <= 1 || t.state != tRunning {
		return
	}
	if h := hartAt(curFrame(t).hart); h != nil {
		sendIPI(h.cpu)
	}
}

// timekeeperAt makes hart h, whose timer keeps deadline for a thread
// that blocked there, re-arm it if it is another hart that armed it for
// later (block's caller is normally h itself, which arms it when it
// schedules next).
//
//go:nosplit
func timekeeperAt(deadline uint64, h *hartState) {
	if nharts <= 1 || h.cpu == selfCPU() {
		return
	}
	if at := h.timerAt; at != 0 && at > deadline {
		sendIPI(h.cpu)
	}
}

// remoteSfence flushes [addr, addr+n) from every hart's TLB after
// mappings were removed or narrowed (the caller flushed its own). SBI's
// remote sfence.vma waits until every target has flushed, and the
// targets take it in M-mode even when they spin on bkl with interrupts
// off, so the pages are safe to reuse once it returns.
//
//go:nosplit
func remoteSfence(addr, n uintptr) {
	if nharts <= 1 {
		return
	}
	if mask, base, any := fenceTargets(); any {
		sbicall4(sbiRFence, rfenceSfenceVMA, mask, base, uint64(addr), uint64(n))
	}
}

// fenceGen counts remote fences. An idle hart (in WFI, bkl released,
// touching nothing but the kernel's static data) is left out of them and
// catches up with a full local flush when it leaves idle: waking every
// idle hart for each munmap would cost more than the flush.
var fenceGen uint64

// fenceTargets is the SBI hart mask of the harts other than the caller
// that are not idle (any is false when there are none); it moves
// fenceGen on, so idle harts catch up.
//
//go:nosplit
func fenceTargets() (mask, base uint64, any bool) {
	fenceGen++
	self := selfCPU()
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		h := &harts[k]
		if k == self || h.idle {
			continue
		}
		if h.id >= 64 {
			return 0, ^uint64(0), true // ids too large for one mask: all harts
		}
		mask |= 1 << h.id
		any = true
	}
	if self >= 0 && self < maxHarts {
		harts[self].fenceGen = fenceGen
	}
	return mask, 0, any
}

// catchUpFences flushes a hart leaving idle if remote fences skipped it.
//
//go:nosplit
func catchUpFences(h *hartState) {
	if h.fenceGen != fenceGen {
		sfence()
		fenceI()
		h.fenceGen = fenceGen
	}
}

// remoteFenceI makes code stores visible to every hart's instruction
// fetch.
//
//go:nosplit
func remoteFenceI() {
	if nharts <= 1 {
		return
	}
	if mask, base, any := fenceTargets(); any {
		sbicall(sbiRFence, rfenceFenceI, mask, base, 0)
	}
}

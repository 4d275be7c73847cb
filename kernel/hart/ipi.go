//go:build riscv64

package hart

// Inter-hart signalling: SBI IPIs (the target sees sip.SSIP) to wake an
// idle hart, to kick a thread out of user mode on another hart, and to
// make the boot hart re-arm the global timer; SBI remote fences for TLB
// shootdown and instruction-cache sync. All are no-ops with one hart,
// so the single-hart path pays nothing. Trap context, under bkl.

// sendIPI raises a supervisor software interrupt on harts[k].
//
//go:nosplit
func sendIPI(k int32) {
	if k < 0 || k >= nharts || k >= maxHarts {
		return
	}
	sbicall(sbiIPI, 0, 1, uint64(harts[k].id), 0) // mask bit 0 at base = hart id
}

// kickIdle wakes one idle hart (not the caller, which is in trap
// context and so not idle) after a thread became runnable.
//
//go:nosplit
func kickIdle() {
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		h := &harts[k]
		if h.idle && !h.ipiSent {
			h.ipiSent = true
			sendIPI(k)
			return
		}
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
	if h := hartAt(t.fr.hart); h != nil {
		sendIPI(h.cpu)
	}
}

// timekeeperAt makes the boot hart, which keeps the global timer, re-arm
// it when a deadline earlier than the one it armed appears on another
// hart.
//
//go:nosplit
func timekeeperAt(deadline uint64, from *hartState) {
	if nharts <= 1 || from == &harts[0] {
		return
	}
	if at := harts[0].timerAt; at != 0 && at > deadline {
		sendIPI(0)
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
	sbicall4(sbiRFence, rfenceSfenceVMA, 0, ^uint64(0), uint64(addr), uint64(n))
}

// remoteFenceI makes code stores visible to every hart's instruction
// fetch.
//
//go:nosplit
func remoteFenceI() {
	if nharts <= 1 {
		return
	}
	sbicall(sbiRFence, rfenceFenceI, 0, ^uint64(0), 0)
}

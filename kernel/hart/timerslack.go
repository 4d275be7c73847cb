package hart

// Timer slack. Under QEMU every write of the timer (stimecmp, or the
// SBI call that writes mtimecmp) that makes it the emulator's earliest
// virtual-clock timer wakes QEMU's main loop through an event notifier:
// perf trace of nginx under one kept-alive connection counted 5-6.4 such
// writes by the vCPU thread per request against the Linux guest's 2.4,
// and the kernel made 3.3-3.8 timer programmings per request, most
// of them moving the timer a little earlier for a new time slice or a
// 1 ms sleep of the kernel's Go runtime (sysmon, minSleepNS). Linux
// programs its timer about once a tick while busy and lets timers fire
// a little late (jiffies, timer slack).
//
// So deadlines are rounded up to a grid of slackNS: deadlines that land
// in the same grid step (the runtime's sysmon, its netpoller's wait for
// the next Go timer, the end of a time slice) become one value, and a
// re-arm for the value already programmed is skipped. A sleep can end up
// to slackNS late (Go's netpoller already rounds its waits to
// milliseconds). Letting a time slice also end up to a slice late when
// the timer fired by then anyway was tried and dropped: it made the
// kernel's 1,000-connection test (TestNetStorm) stall past its 20 s
// answer deadline after the SYN flood, in both runs.

// slackNS is the timer grid: deadlines are rounded up to a multiple.
const slackNS = 1_000_000

// roundDeadline rounds deadline at (rdtime ticks) up to a multiple of
// grid ticks; ^0 (never), a grid of 0 and values that would overflow
// are returned unchanged.
//
//go:nosplit
func roundDeadline(at, grid uint64) uint64 {
	if grid == 0 || at == ^uint64(0) {
		return at
	}
	r := at % grid
	if r == 0 {
		return at
	}
	if at > ^uint64(0)-(grid-r) {
		return at
	}
	return at + (grid - r)
}

// keepTimer reports whether a timer programmed for timerAt (0: none, or
// fired) can stay as it is when the next deadline is at and the clock
// reads now: it fires no later than at (early: the trap finds nothing
// due and programs the right one then).
//
//go:nosplit
func keepTimer(timerAt, at, now uint64) bool {
	return at == timerAt || timerAt > now && at > timerAt
}

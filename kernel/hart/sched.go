//go:build riscv64

package hart

import (
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/reg"
)

// The scheduler: preemptive round robin of kernel threads over every
// hart, from one run queue under bkl (smp.go).
// Blocking calls park the thread with its pc still on the EBREAK; finish
// sets the result and steps past it, restart leaves the pc alone so the
// call runs again when the thread is resumed (for waits that re-check a
// condition). Trap context: see trap.go.

// finish completes a blocked or running thread's call with result r.
//
//go:nosplit
func finish(t *thread, r int64) {
	f := curFrame(t)
	f.x[abi.RegA0] = uint64(r)
	f.pc += 4
}

// block parks thread t until wake or the deadline (0 = none).
//
//go:nosplit
func block(t *thread, wait uint8, key uintptr, deadline uint64) {
	t.state = tBlocked
	t.wait = wait
	t.key = key
	t.deadline = deadline
	if deadline == 0 {
		return
	}
	earliest = min(earliest, deadline)
	// The hart it blocked on keeps its deadline (it is the caller's,
	// which arms its timer when it schedules next).
	if h := hartOf(t); deadline < h.wakeAt {
		h.wakeAt = deadline
		timekeeperAt(deadline, h)
	}
}

// wake makes a blocked thread runnable.
//
//go:nosplit
func wake(i int32) {
	if i < 0 || i >= maxThreads {
		return
	}
	t := &threads[i]
	if t.state != tBlocked {
		return
	}
	if t.wait == wUserFutex {
		atomic.AddInt32(&userFutexParked, -1) // see UserFutexWake
	} else if t.wait == wUserSleep && !t.exact {
		userNaps-- // usleep.go
	}
	if t.deadline != 0 {
		deadlinesStale = true // earliest and wakeAt may still count it
	}
	t.state = tRunnable
	t.wait = wNone
	t.deadline = 0
	runq.push(i)
	kickIdle(allowedMask(t))
}

// earliest is the soonest deadline of any blocked thread, and each
// hart's wakeAt the soonest of those that blocked on it (lower bounds:
// expire recomputes them). Each hart arms its timer for its own: a
// thread sleeping on one hart is woken there, without an IPI to a hart
// that keeps every deadline.
var earliest uint64 = ^uint64(0)

// nextWake is expire's scratch: the soonest deadline by hart.
var nextWake [maxHarts]uint64

// deadlinesStale is set when a thread with a deadline was woken before
// it (a futex wake, an epoll event): earliest and wakeAt may then be
// earlier than any deadline still waited for, and a timer armed for
// them would fire for nothing. Under QEMU each firing is a run of its
// main loop and a trap, and the re-arm after it a wake-up of the main
// loop, so arm recomputes them first (one pass over the threads).
var deadlinesStale bool

// recomputeDeadlines makes earliest and every hart's wakeAt exact, as
// expire does, but wakes no one: arm runs where a thread made runnable
// could be missed (idle is about to wait). A deadline already passed
// stays counted, so the timer fires at once and expire handles it.
//
//go:nosplit
func recomputeDeadlines() { scanDeadlines(0) }

// expire wakes threads whose deadline has passed, and makes earliest and
// every hart's wakeAt exact.
//
//go:nosplit
func expire(now uint64) {
	if now < earliest && !deadlinesStale {
		return
	}
	scanDeadlines(now)
}

// scanDeadlines wakes the blocked threads whose deadline is at or before
// now (none for 0) and recomputes earliest and every hart's wakeAt from
// the deadlines still waited for.
//
//go:nosplit
func scanDeadlines(now uint64) {
	next := ^uint64(0)
	for k := range nextWake {
		nextWake[k] = ^uint64(0)
		exactAt[k] = 0 // usleep.go: set again below for the sleeps still parked
	}
	exactAny = false
	for i := int32(0); i < nthreads && i < maxThreads; i++ {
		t := &threads[i]
		if t.state != tBlocked || t.deadline == 0 {
			continue
		}
		if t.deadline > now {
			next = min(next, t.deadline)
			if k := hartOf(t).cpu; k >= 0 && k < maxHarts {
				nextWake[k] = min(nextWake[k], t.deadline)
				if t.wait == wUserSleep && t.exact && (exactAt[k] == 0 || t.deadline < exactAt[k]) {
					exactAt[k], exactAny = t.deadline, true
				}
			}
			continue
		}
		switch t.wait {
		case wUserFutex:
			if t.handoff {
				handOff(t) // no wake-up came soon: the posix layer waits instead
				break
			}
			finish(t, -int64(linux.ETIMEDOUT))
		case wFutex:
			finish(t, -int64(linux.ETIMEDOUT))
		default: // sleep, epoll: timeout is a normal return of 0
			finish(t, 0)
		}
		wake(i)
	}
	earliest = next
	for k := range nextWake {
		harts[k].wakeAt = nextWake[k]
	}
	deadlinesStale = false // the threads it woke are no longer counted
}

// schedule picks the thread to resume on hart h and returns its frame.
//
//go:nosplit
func schedule(h *hartState) uintptr {
	prev := h.cur
	cur := prev
	switched := false
	if cur >= 0 && cur < maxThreads && threads[cur].state == tRunning {
		if h.preempt && runq.size > 0 || !allowedOn(&threads[cur], h) {
			// Its FP state goes to its frame before another hart can
			// pick it from the queue (once bkl is released).
			fpRelease(h)
			threads[cur].state = tRunnable
			runq.push(cur)
			if !allowedOn(&threads[cur], h) {
				kickIdle(allowedMask(&threads[cur])) // pinned elsewhere
			}
			cur = runq.popFor(h)
			switched = cur != prev
		}
	} else {
		// prev blocked or exited: its FP state goes to its frame now, as
		// idle may release bkl and let another hart resume it.
		fpRelease(h)
		switched = true
		cur = runq.popFor(h)
	}
	if cur < 0 {
		cur = idle(h)
	}
	h.preempt = false
	now := reg.ReadTime()
	if cur < 0 || cur >= maxThreads {
		fatal(ptrFrame(h.emerg), "scheduler lost the running thread")
		return 0 // not reached: fatal powers off
	}
	if switched {
		profSwitch(h)
		h.sliceEnd = roundDeadline(now+quantumTicks, slackTicks)
	}
	h.cur = cur
	t := &threads[cur]
	t.state = tRunning
	if t.inUser && t.kick {
		leaveUser(t, CauseKick)
	}
	fa := frameAddr(cur) // after leaveUser, which makes the kernel frame the running one
	profMigrate(h, fa)
	(*frame)(ptr(fa)).hart = hartAddr(h)
	arm(h, now)
	fpSwitch(h, fa)
	return fa
}

// arm programs the timer for the next deadline, or the end of the time
// slice when another thread is waiting to run. With nothing to wait for
// the timer is pushed to the far future: an idle or lone thread takes no
// timer interrupts at all.
//
// A deadline later than the one already programmed (and still ahead)
// leaves the timer alone: it fires early, the trap finds nothing due and
// programs the right one then. Deadlines are rounded up to a grid
// (timerslack.go). Under QEMU every timer write takes the
// emulator's global lock and wakes its main loop (70-240 µs measured
// with hartprof on this project's machine), and most re-arms move the
// deadline later (a new time slice at each switch, a sleep that ended).
//
//go:nosplit
func arm(h *hartState, now uint64) {
	if deadlinesStale {
		recomputeDeadlines()
	}
	at := roundDeadline(max(h.wakeAt, earliest), slackTicks) // earliest: wakeAt may be stale-early
	at = exactFirst(h, at)                                   // a short application sleep's own deadline (usleep.go)
	if runq.size > 0 && h.sliceEnd < at {
		at = h.sliceEnd
	}
	at = deferToSlice(h, at)
	if keepTimer(h.timerAt, at, now) { // timerslack.go
		return
	}
	h.timerAt = at
	h.rearm = true // programmed by releaseBKL (ipi.go)
}

// deferToSlice moves a busy hart's timer from a sleeper's deadline to
// the end of the running thread's time slice when that comes later (by
// at most one slice): a thread woken in mid-slice waits in the run queue
// for the slice to end anyway, unless another hart is idle to take it
// (then the deadline stands, and the wake-up's IPI sends it there). Firing at the
// deadline cost a second interrupt and timer programming for nothing:
// hartprof traces of bench/smp's Go program showed a third of all timer
// interrupts waking a thread that then waited for the next one (the
// kernel runtime's sysmon, mostly). A hart that blocks or idles before
// then re-arms for the deadline itself (schedule, idle).
//
//go:nosplit
func deferToSlice(h *hartState, at uint64) uint64 {
	if h.cur < 0 || at >= h.sliceEnd || anyIdle() {
		return at
	}
	return min(h.sliceEnd, at+quantumTicks)
}

// anyIdle reports whether some hart waits in WFI (under bkl).
//
//go:nosplit
func anyIdle() bool {
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		if harts[k].idle {
			return true
		}
	}
	return false
}

// othersIdle reports whether every hart but h waits in WFI (under bkl).
//
//go:nosplit
func othersIdle(h *hartState) bool {
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		if o := &harts[k]; o != h && !o.idle {
			return false
		}
	}
	return true
}

// idle waits, with interrupts still masked, until a thread is runnable.
// WFI wakes on any pending interrupt enabled in sie; bkl is released
// around it, and h.idle (set under bkl) tells a hart that makes a thread
// runnable to send this one an IPI, so no wake-up is lost between the
// last look at the run queue and the WFI.
//
//go:nosplit
func idle(h *hartState) int32 {
	h.cur = -1
	for {
		now := reg.ReadTime()
		expire(now)
		if h == &harts[0] {
			pollPLIC() // device interrupts are routed to the boot hart
		}
		if i := runq.popFor(h); i >= 0 {
			return i
		}
		if handOffIdle(h) { // ufutex.go
			continue
		}
		if yieldIRQIdle(h) { // plic.go
			continue
		}
		exactNaps(h) // usleep.go
		arm(h, now)
		h.idle = true
		releaseBKL(h)
		t0 := reg.ReadTime()
		if reg.ReadSIP()&(sieSTIE|sieSEIE|sieSSIE) == 0 {
			wfi()
		}
		profIdle(h, reg.ReadTime()-t0)
		profLock(h)
		h.idle = false
		h.ipiSent = false
		catchUpFences(h)
		sip := reg.ReadSIP()
		if sip&sieSSIE != 0 {
			reg.ClearSIP(sieSSIE)
		}
		if sip&sieSTIE != 0 {
			h.timerAt = 0
		}
	}
}

// allowedOn reports whether hart h may run thread t: any hart may,
// unless t is in user mode with an affinity (sched_setaffinity) that
// leaves h out. The kernel's own code for a thread (its Go code between
// user runs, system calls included) runs on any hart.
//
//go:nosplit
func allowedOn(t *thread, h *hartState) bool {
	m := allowedMask(t)
	return m == 0 || m&(1<<uint(h.cpu&63)) != 0
}

// allowedMask is the CPUs thread t may run on now, 0 meaning any; a mask
// with no online CPU is treated as any, so a thread is never stranded.
//
//go:nosplit
func allowedMask(t *thread) uint64 {
	if !t.inUser {
		return 0
	}
	m := uint64(uctxAt(t.uctx).Affinity) & onlineMask()
	return m
}

// newThread returns a free thread slot, or -1.
//
//go:nosplit
func newThread() int32 {
	for i := int32(1); i < nthreads && i < maxThreads; i++ {
		if threads[i].state == tFree {
			return i
		}
	}
	// Slots from nthreads up were never used; the table is backed as
	// far as they go (tables.go).
	i := max(nthreads, 1)
	if i >= maxThreads || !threadsTable.ensure(uintptr(i+1)*threadBytes) {
		return -1
	}
	nthreads = i + 1
	return i
}

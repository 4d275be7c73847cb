//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Short application sleeps in trap context. The posix layer's nanosleep
// waits on a Go timer of the kernel's runtime, whose netpoller rounds
// its waits up to whole milliseconds, and arm rounds every deadline up
// to the 1 ms grid (timerslack.go): a usleep(100) lasted 1.1-1.5 ms, the
// Linux guest's 0.67 ms. A nanosleep or clock_nanosleep between
// userSleepMinNS and userSleepMaxNS parks the thread here instead, as a
// futex wait with a short timeout does (ufutex.go), and its deadline is
// armed exactly (exactAt), not on the grid. Anything else (longer
// sleeps or none, clocks not known here, bad pointers, a kick already
// pending, --strace) is the posix layer's, as before.
//
// Sleeps shorter than userSleepMinNS (a Go program's sysmon sleeps 20 µs
// at a time while the program is busy: about once per request of a Go
// server) are parked here too, and never end early. While the hart is
// busy their deadline rides the timer grid (no exactAt): such a sleep
// ends at the timer interrupt that the grid or the running thread's
// time slice brings; once the hart would go idle, exactNaps arms it
// exactly. The posix layer's sleep lasted about as long while busy (its
// Go timer fired at the kernel runtime's next look) but cost the whole
// way out of user mode and back: leaving EnterUser, the dispatch, a
// timer, a select that parks the goroutine, the timer's firing and the
// goroutine's wake-up (about 11,000 guest instructions per request of
// bench/net's Go server at one connection, 1,500 at 16). Tried and left
// out: handing such a sleep to the posix layer when the hart would go
// idle, as futex waits are (most of them were then handed off, and the
// cost did not move); and leaving it on the grid while idle (a sleep
// then lasted up to a grid step with its kernel thread holding, for the
// kernel's Go runtime, a system call and its P: the Go server at one
// connection served 30-40% fewer requests a second).
//
// A signal (a kick) ends such a sleep as the posix layer's would: the
// time left is written to rem (relative sleeps), and the call returns to
// the posix layer interrupted with -ERESTARTNOHAND, which becomes EINTR
// when a handler runs and a quiet restart when none does (Linux's
// nanosleep restarts then too).

const (
	// userSleepMinNS: shorter sleeps are parked without an exact
	// deadline (on the grid): a Go program's sysmon takes 20 µs sleeps
	// while busy, and exact wake-ups for those would multiply the timer
	// interrupts the grid saves. Linux's default timer slack is the same
	// 50 µs.
	userSleepMinNS = 50_000
	// userSleepMaxNS: a thread parked here holds, for the kernel's Go
	// runtime, a system call in progress and with it a P, which a
	// goroutine made runnable meanwhile (a device's, another thread's
	// system call) gets only when sysmon retakes it, after about 1 ms
	// (its sleeps last minSleepNS at least): parks no longer than that delay nothing
	// more than it would be anyway. A Go program's sysmon sleeps up to
	// 10 ms while idle; those stay with the posix layer (and the grid).
	userSleepMaxNS = slackNS
)

// exactAt is each hart's soonest deadline of a sleep parked here (0:
// none), which arm programs without rounding. A lower bound, as wakeAt
// is: scanDeadlines makes it exact again.
var exactAt [maxHarts]uint64

// exactAny is set while some exactAt may be set: arm, which runs at the
// end of almost every trap, then looks no further (a load and a branch).
var exactAny bool

// userSleep parks t for the nanosleep or clock_nanosleep in its user
// frame f and reports true, or reports false to leave the call to the
// posix layer.
//
//go:nosplit
func userSleep(t *thread, f *frame) bool {
	if nthreads >= maxThreads/2 {
		return false // as for futex waits: parked threads must not use up the slots
	}
	clk, flags := uint64(linux.CLOCK_MONOTONIC), uint64(0)
	ts, rem := uintptr(f.x[abi.RegA0]), uintptr(f.x[abi.RegA1])
	if f.x[abi.RegA7] == linux.SYS_CLOCK_NANOSLEEP {
		clk, flags = f.x[abi.RegA0], f.x[abi.RegA1]
		ts, rem = uintptr(f.x[abi.RegA2]), uintptr(f.x[abi.RegA3])
	}
	var offset int64 // the clock's reading minus CLOCK_MONOTONIC's
	switch clk {
	case linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME:
	case linux.CLOCK_REALTIME:
		offset = bootWall
	default:
		return false
	}
	sec, nsec, ok := getUserPair(ts)
	if !ok || sec > 1 || nsec >= 1e9 { // EFAULT, EINVAL, long or negative: the posix layer's
		return false
	}
	ns := int64(sec)*1e9 + int64(nsec)
	now := reg.ReadTime()
	switch flags {
	case 0:
	case linux.TIMER_ABSTIME:
		ns -= ticksToNS(now) + offset
		rem = 0 // an absolute sleep reports no time left
	default:
		return false
	}
	if ns <= 0 || ns > userSleepMaxNS {
		return false // nothing to wait for (the posix layer yields), or long
	}
	at := now + nsToTicks(ns) + 1 // nsToTicks rounds down: never early
	block(t, wUserSleep, rem, at)
	t.exact = ns >= userSleepMinNS
	if !t.exact {
		userNaps++ // wake counts it down
		return true
	}
	if k := hartOf(t).cpu; k >= 0 && k < maxHarts && (exactAt[k] == 0 || at < exactAt[k]) {
		exactAt[k] = at
		exactAny = true
	}
	return true
}

// userNaps counts the short sleeps (under userSleepMinNS) parked here,
// under bkl: exactNaps looks for them only while it is not 0.
var userNaps int32

// exactNaps makes the deadlines of the short sleeps parked here exact
// when hart h is about to idle: nothing else would end them sooner than
// the grid, and a sleeping thread's kernel thread holds, for the Go
// runtime, a system call in progress (see userSleepMaxNS).
//
//go:nosplit
func exactNaps(h *hartState) {
	if userNaps == 0 {
		return
	}
	for i := int32(0); i < nthreads && i < maxThreads; i++ {
		t := &threads[i]
		if t.state != tBlocked || t.wait != wUserSleep || t.exact {
			continue
		}
		t.exact = true
		userNaps--
		if k := hartOf(t).cpu; k >= 0 && k < maxHarts && (exactAt[k] == 0 || t.deadline < exactAt[k]) {
			exactAt[k] = t.deadline
			exactAny = true
		}
	}
}

// exactFirst returns the timer deadline at, or hart h's soonest parked
// sleep if that comes first: arm's grid must not make it late.
//
//go:nosplit
func exactFirst(h *hartState, at uint64) uint64 {
	if !exactAny {
		return at
	}
	if k := h.cpu; k >= 0 && k < maxHarts && exactAt[k] != 0 && exactAt[k] < at {
		return exactAt[k]
	}
	return at
}

// interruptUserSleep ends thread i's parked sleep because of a kick: the
// time left goes to rem (if the sleep has one and it can be written
// here), and EnterUser returns with abi.CauseInterruptedCall and a0 =
// -ERESTARTNOHAND.
//
//go:nosplit
func interruptUserSleep(i int32, t *thread) {
	const errRestartNoHand = 514
	if rem := t.key; rem != 0 {
		left := int64(0)
		if now := reg.ReadTime(); t.deadline > now {
			left = ticksToNS(t.deadline - now)
		}
		putUserPair(rem, uint64(left/1e9), uint64(left%1e9)) // one that cannot be written keeps its value
	}
	endParkedCall(i, t, errRestartNoHand)
}

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
// armed exactly (exactAt), not on the grid. Anything else (longer or
// shorter sleeps, clocks not known here, bad pointers, a kick already
// pending, --strace) is the posix layer's, as before.
//
// A signal (a kick) ends such a sleep as the posix layer's would: the
// time left is written to rem (relative sleeps), and the call returns to
// the posix layer interrupted with -ERESTARTNOHAND, which becomes EINTR
// when a handler runs and a quiet restart when none does (Linux's
// nanosleep restarts then too).

const (
	// userSleepMinNS: shorter sleeps stay with the posix layer, which
	// ends them within about 0.1 ms already (its timer fires at the
	// runtime's next look, not on the grid), and which a Go program's
	// sysmon uses for its 20 µs sleeps while busy: exact wake-ups for
	// those would multiply the timer interrupts the grid saves.
	// Linux's default timer slack is the same 50 µs.
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
	if ns < userSleepMinNS || ns > userSleepMaxNS {
		return false
	}
	at := now + nsToTicks(ns) + 1 // nsToTicks rounds down: never early
	block(t, wUserSleep, rem, at)
	if k := hartOf(t).cpu; k >= 0 && k < maxHarts && (exactAt[k] == 0 || at < exactAt[k]) {
		exactAt[k] = at
		exactAny = true
	}
	return true
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

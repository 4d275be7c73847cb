package net

import (
	"sync"
	"time"
	"unsafe"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// clock is the stack's tcpip.Clock. gVisor's own (tcpip.NewStdClock)
// builds every monotonic reading with MonotonicTime.Add, which goes
// through time.Unix, Time.Add, Time.Sub and Time.Equal: about 280 guest
// instructions a reading, and TCP reads the clock 16-17 times per
// nginx request (segment arrival, RTT and timer bookkeeping), so that
// arithmetic was 5,000 of the 185,000 instructions a request cost
// (bench/netprof). This clock hands out the same readings (nanoseconds
// since the clock was made) by writing the nanoseconds straight into a
// MonotonicTime, whose only field they are; monoDirect checks that at
// start against MonotonicTime's own methods and, should a gVisor update
// change the type, falls back to Add.
//
// Where the time CSR counts a whole number of nanoseconds per tick (QEMU
// virt's 10 MHz timebase: 100), the reading is that counter scaled
// (timebase_riscv64.go): time.Since goes through the runtime's nanotime
// and the kernel's vDSO-style clock_gettime, about 100 instructions a
// reading against about 10, at 13-14 readings per Go server request.
type clock struct {
	base time.Time // carries a monotonic reading: time.Since is cheap

	// tick0 is the counter at base, nsPerTick its nanoseconds per
	// tick; 0 when the counter cannot be used (not riscv64, no
	// timebase, or one that does not divide a second evenly).
	tick0     uint64
	nsPerTick int64
}

func newClock() *clock {
	c := &clock{base: time.Now()}
	if ns := tickNanos(); ns > 0 {
		c.tick0, c.nsPerTick = readTicks(), ns
	}
	return c
}

// Now implements tcpip.Clock.
func (*clock) Now() time.Time { return time.Now() }

// NowMonotonic implements tcpip.Clock.
func (c *clock) NowMonotonic() tcpip.MonotonicTime {
	if c.nsPerTick != 0 && monoDirect {
		// The counter only moves forward; 2^63 ns is 292 years.
		return monoFromNanos(int64(readTicks()-c.tick0) * c.nsPerTick)
	}
	d := time.Since(c.base)
	if d < 0 { // cannot happen with a monotonic base; never go backwards
		d = 0
	}
	if monoDirect {
		return monoFromNanos(int64(d))
	}
	return tcpip.MonotonicTime{}.Add(d)
}

// nanosPerTick is the length of one tick of a counter at hz, or 0 when
// hz is unknown (0), faster than a nanosecond, or does not divide a
// second into whole nanoseconds (then the clock uses time.Since).
func nanosPerTick(hz uint64) int64 {
	if hz == 0 || hz > 1e9 || 1e9%hz != 0 {
		return 0
	}
	return int64(1e9 / hz)
}

// AfterFunc implements tcpip.Clock with a lazyTimer.
func (c *clock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	t := &lazyTimer{c: c, f: f, active: true}
	t.deadline = c.nanos() + int64(max(d, 0))
	t.armedAt = t.deadline
	t.t = time.AfterFunc(d, t.fire)
	return t
}

// nanos is the clock's monotonic reading in nanoseconds.
func (c *clock) nanos() int64 {
	if c.nsPerTick != 0 {
		return int64(readTicks()-c.tick0) * c.nsPerTick
	}
	return int64(max(time.Since(c.base), 0))
}

// lazyTimer is a tcpip.Timer that moves its deadline later without
// touching the runtime's timer. The stack pushes some deadlines back
// all the time: every ACK a connection receives confirms its neighbor
// and resets that entry's reachable timer (neighborEntry.
// handleUpperLevelConfirmation), once per Redis request, and a
// time.Timer Reset takes the runtime's timer lock and reorders its heap
// (about 300 instructions). Here a Reset to a later deadline than the
// runtime timer's only records it; when the runtime timer fires early,
// fire arms it again for what is left, as gVisor's TCP timers do with
// theirs (tcp.timer.checkExpiration). f runs once per activation, never
// before its deadline (as the clock reads it).
type lazyTimer struct {
	c *clock
	f func()
	t *time.Timer // runs fire

	mu       sync.Mutex
	deadline int64 // when f is due (clock nanos), while active
	active   bool  // f is due: set, not stopped, not yet run
	armedAt  int64 // t's deadline while t is set; 0: t is set for no known time or not at all
}

// Reset implements tcpip.Timer.
func (t *lazyTimer) Reset(d time.Duration) {
	d = max(d, 0)
	t.mu.Lock()
	dl := t.c.nanos() + int64(d)
	t.deadline, t.active = dl, true
	if t.armedAt == 0 || t.armedAt > dl {
		// The runtime timer would fire too late, or is not set: set it.
		t.armedAt = dl
		t.t.Reset(d)
	}
	t.mu.Unlock()
}

// Stop implements tcpip.Timer: true if f was due and now will not run.
// The runtime timer is stopped too, so that a stopped timer (a closed
// connection's) does not keep f and what it refers to until its old
// deadline.
func (t *lazyTimer) Stop() bool {
	t.mu.Lock()
	was := t.active
	t.active = false
	if t.armedAt != 0 {
		t.t.Stop()
		t.armedAt = 0
	}
	t.mu.Unlock()
	return was
}

// fire is the runtime timer's function: f if its deadline has come,
// else the runtime timer again for the rest. A Reset that set the
// runtime timer again while fire waited for the lock leaves it set
// with armedAt cleared here: a later Reset then sets it once more, and
// a firing that finds nothing due returns.
func (t *lazyTimer) fire() {
	t.mu.Lock()
	t.armedAt = 0
	if !t.active {
		t.mu.Unlock()
		return
	}
	if now := t.c.nanos(); now < t.deadline {
		t.armedAt = t.deadline
		t.t.Reset(time.Duration(t.deadline - now))
		t.mu.Unlock()
		return
	}
	t.active = false
	t.mu.Unlock()
	t.f()
}

// monoFromNanos is the MonotonicTime of ns nanoseconds; valid only
// when monoDirect is true.
func monoFromNanos(ns int64) tcpip.MonotonicTime {
	return *(*tcpip.MonotonicTime)(unsafe.Pointer(&ns))
}

// monoDirect says whether a MonotonicTime is exactly its nanoseconds:
// the same size as an int64, and for a spread of values the direct
// reading agrees with Add, Sub, Milliseconds and Before.
var monoDirect = checkMonoDirect()

func checkMonoDirect() bool {
	if unsafe.Sizeof(tcpip.MonotonicTime{}) != unsafe.Sizeof(int64(0)) {
		return false
	}
	vals := []int64{0, 1, 999_999, 1_000_000, 123_456_789_012, 1 << 40, 1<<62 + 12345}
	for i, v := range vals {
		m := monoFromNanos(v)
		if m != (tcpip.MonotonicTime{}).Add(time.Duration(v)) || m.Milliseconds() != v/1e6 {
			return false
		}
		if m.Sub(tcpip.MonotonicTime{}) != time.Duration(v) {
			return false
		}
		if i > 0 && !monoFromNanos(vals[i-1]).Before(m) {
			return false
		}
	}
	return true
}

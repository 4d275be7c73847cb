package net

import (
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

// AfterFunc implements tcpip.Clock, as gVisor's standard clock does.
func (*clock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	return tcpip.NewStdTimer(time.AfterFunc(d, f))
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

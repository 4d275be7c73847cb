package net

import (
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// The direct path must be the one taken on this gVisor, and agree with
// gVisor's own arithmetic.
func TestClockMonotonic(t *testing.T) {
	if !monoDirect {
		t.Fatal("MonotonicTime is no longer its nanoseconds alone: the clock fell back to Add (slow path); check gVisor's tcpip.MonotonicTime")
	}
	c := newClock()
	a := c.NowMonotonic()
	time.Sleep(2 * time.Millisecond)
	b := c.NowMonotonic()
	if d := b.Sub(a); d < 2*time.Millisecond || d > 5*time.Second {
		t.Fatalf("two readings 2 ms apart differ by %v", d)
	}
	if !a.Before(b) || b.Before(a) {
		t.Fatalf("readings out of order: %v then %v", a, b)
	}
	for _, d := range []time.Duration{0, time.Nanosecond, 1500 * time.Millisecond, 90 * time.Hour} {
		if got, want := monoFromNanos(int64(d)), (tcpip.MonotonicTime{}).Add(d); got != want {
			t.Errorf("monoFromNanos(%d) = %v, Add gives %v", d, got, want)
		}
	}
}

func TestClockTimer(t *testing.T) {
	fired := make(chan struct{}, 1)
	tm := newClock().AfterFunc(time.Hour, func() { fired <- struct{}{} })
	tm.Reset(time.Millisecond)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("timer reset to 1 ms did not fire within 5 s")
	}
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported it stopped")
	}
}

// The tick path only takes timebases that divide a second evenly: QEMU
// virt's 10 MHz is 100 ns a tick; 24 MHz (a fraction of a nanosecond
// lost each tick) and no timebase fall back to time.Since.
func TestNanosPerTick(t *testing.T) {
	for _, c := range []struct {
		hz   uint64
		want int64
	}{{10_000_000, 100}, {1_000_000_000, 1}, {1_000_000, 1000}, {24_000_000, 0}, {0, 0}, {2_000_000_000, 0}, {3, 0}} {
		if got := nanosPerTick(c.hz); got != c.want {
			t.Errorf("nanosPerTick(%d) = %d, want %d", c.hz, got, c.want)
		}
	}
}

// A lazyTimer pushed later fires at the later deadline, not at the
// runtime timer's first one; pulled earlier, it fires early; stopped, it
// does not fire, and Stop says whether it stopped anything.
func TestLazyTimer(t *testing.T) {
	c := newClock()
	fired := make(chan time.Time, 4)
	start := time.Now()
	tm := c.AfterFunc(20*time.Millisecond, func() { fired <- time.Now() })
	tm.Reset(120 * time.Millisecond) // later: only recorded
	select {
	case at := <-fired:
		if el := at.Sub(start); el < 120*time.Millisecond {
			t.Fatalf("fired after %v, before the deadline pushed to 120 ms", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer pushed to 120 ms did not fire within 5 s")
	}
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported it stopped")
	}

	tm.Reset(time.Hour)
	tm.Reset(time.Millisecond) // earlier: the runtime timer moves
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("timer pulled in to 1 ms did not fire within 5 s")
	}

	tm.Reset(10 * time.Millisecond)
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported nothing stopped")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported it stopped")
	}
	select {
	case <-fired:
		t.Fatal("stopped timer fired")
	case <-time.After(50 * time.Millisecond):
	}

	// Many pushes, each later: one run of f, after the last deadline.
	start = time.Now()
	for i := 1; i <= 20; i++ {
		tm.Reset(time.Duration(i) * 5 * time.Millisecond)
	}
	select {
	case at := <-fired:
		if el := at.Sub(start); el < 100*time.Millisecond {
			t.Fatalf("fired after %v, before the last deadline (100 ms)", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pushed timer did not fire within 5 s")
	}
	select {
	case <-fired:
		t.Fatal("timer ran f twice for one activation")
	case <-time.After(50 * time.Millisecond):
	}
}

package posix

import (
	"encoding/binary"
	"runtime"
	"time"
	_ "unsafe" // go:linkname

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Time: the kernel's clocks (the hart layer's rdtime and the RTC), sleeps
// that a signal interrupts.

// Clock ids.
const ()

// nanotime is the runtime's monotonic clock: in the kernel, the hart's
// rdtime counter in nanoseconds, which is also what the hart layer's
// trap-context fast path answers CLOCK_MONOTONIC with, so both agree.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

func clockNow(realtime bool) time.Duration {
	if realtime {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(nanotime())
}

func clockValue(clk uint64) (time.Duration, bool) {
	switch clk {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_COARSE, linux.CLOCK_TAI:
		return clockNow(true), true
	case linux.CLOCK_MONOTONIC, linux.CLOCK_MONOTONIC_RAW, linux.CLOCK_MONOTONIC_COARSE, linux.CLOCK_BOOTTIME,
		linux.CLOCK_PROCESS_CPUTIME_ID, linux.CLOCK_THREAD_CPUTIME_ID:
		// CPU-time clocks approximate with elapsed time: no accounting yet.
		return clockNow(false), true
	}
	return 0, false
}

func (t *Thread) putTimespec(addr uintptr, d time.Duration) Errno {
	b := &t.word // see put32
	binary.LittleEndian.PutUint64(b[:], uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second))
	return t.p.cpu.CopyOut(addr, b[:])
}

func (t *Thread) readTimespec(addr uintptr) (time.Duration, Errno) {
	b := &t.word // see put32
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return 0, e
	}
	sec, nsec := int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, linux.EINVAL
	}
	if sec > 1<<33 {
		sec = 1 << 33 // centuries: forever, without overflowing Duration
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), 0
}

// sysClockGettime implements clock_gettime(2).
func sysClockGettime(t *Thread, a *[6]uint64) int64 {
	d, ok := clockValue(a[0])
	if !ok {
		return errno(linux.EINVAL)
	}
	return errno(t.putTimespec(uintptr(a[1]), d))
}

// sysClockGetres implements clock_getres(2).
func sysClockGetres(t *Thread, a *[6]uint64) int64 {
	if _, ok := clockValue(a[0]); !ok {
		return errno(linux.EINVAL)
	}
	if a[1] == 0 {
		return 0
	}
	return errno(t.putTimespec(uintptr(a[1]), time.Nanosecond))
}

// sysGettimeofday implements gettimeofday(2).
func sysGettimeofday(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		now := time.Now()
		b := &t.word // see put32
		binary.LittleEndian.PutUint64(b[:], uint64(now.Unix()))
		binary.LittleEndian.PutUint64(b[8:], uint64(now.Nanosecond()/1000))
		if e := t.p.cpu.CopyOut(uintptr(a[0]), b[:]); e != 0 {
			return errno(e)
		}
	}
	if a[1] != 0 {
		var tz [8]byte // UTC
		return errno(t.p.cpu.CopyOut(uintptr(a[1]), tz[:]))
	}
	return 0
}

// sleep waits for d; a signal cuts it short (remaining time returned).
func (t *Thread) sleep(d time.Duration) (time.Duration, bool) {
	if d <= 0 {
		runtime.Gosched()
		return 0, true
	}
	start := time.Now()
	tick := t.startTimer(d)
	defer t.stopTimer()
	select {
	case <-tick:
		return 0, true
	case <-t.intr:
	case <-t.p.done:
	}
	return max(0, d-time.Since(start)), false
}

// startTimer starts the thread's timer for d and returns its channel;
// stopTimer must follow. The timer is reused: a Go program's sysmon
// sleeps 20 µs at a time while it is busy (about once per request of a
// Go server), and epoll_pwait and poll wait with timeouts, and a new
// timer and its channel each time were three allocations and their
// garbage. A thread sleeps or waits for one thing at a time. Timer
// channels are synchronous (Go 1.23 and later, as go.mod asks), so
// after Stop or Reset no stale tick is left to end a later wait early.
func (t *Thread) startTimer(d time.Duration) <-chan time.Time {
	if t.timer == nil {
		t.timer = time.NewTimer(d)
	} else {
		t.timer.Reset(d)
	}
	return t.timer.C
}

// stopTimer stops the timer startTimer started.
func (t *Thread) stopTimer() { t.timer.Stop() }

// sysNanosleep implements nanosleep(2).
func sysNanosleep(t *Thread, a *[6]uint64) int64 {
	d, e := t.readTimespec(uintptr(a[0]))
	if e != 0 {
		return errno(e)
	}
	left, ok := t.sleep(d)
	if ok {
		return 0
	}
	if a[1] != 0 {
		t.putTimespec(uintptr(a[1]), left)
	}
	return errno(linux.EINTR)
}

// sysClockNanosleep implements clock_nanosleep(2).
func sysClockNanosleep(t *Thread, a *[6]uint64) int64 {
	clk, flags := a[0], a[1]
	if _, ok := clockValue(clk); !ok {
		return errno(linux.EINVAL)
	}
	d, e := t.readTimespec(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	if flags&linux.TIMER_ABSTIME != 0 {
		now, _ := clockValue(clk)
		d -= now
	}
	left, ok := t.sleep(d)
	if ok {
		return 0
	}
	if flags&linux.TIMER_ABSTIME == 0 && a[3] != 0 {
		t.putTimespec(uintptr(a[3]), left)
	}
	return errno(linux.EINTR)
}

// sysTimes implements times(2).
func sysTimes(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		var b [32]byte
		if e := t.p.cpu.CopyOut(uintptr(a[0]), b[:]); e != 0 {
			return errno(e)
		}
	}
	return int64(clockNow(false) / (10 * time.Millisecond)) // clock ticks at 100 Hz
}

func yield() { runtime.Gosched() }

func ncpu() int { return runtime.NumCPU() }

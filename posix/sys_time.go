package posix

import (
	"encoding/binary"
	"runtime"
	"syscall"
	"time"
	_ "unsafe" // go:linkname
)

// Time: the kernel's clocks (the hart layer's rdtime and the RTC), sleeps
// that a signal interrupts.

var timeCalls = []entry{
	{nr: 113, name: "clock_gettime", fn: sysClockGettime},
	{nr: 114, name: "clock_getres", fn: sysClockGetres},
	{nr: 169, name: "gettimeofday", fn: sysGettimeofday},
	{nr: 101, name: "nanosleep", fn: sysNanosleep},
	{nr: 115, name: "clock_nanosleep", fn: sysClockNanosleep},
	{nr: 153, name: "times", fn: sysTimes, level: Partial, note: "CPU times are not accounted: zeros"},
}

// Clock ids.
const (
	clockRealtime         = 0
	clockMonotonic        = 1
	clockProcessCPUTimeID = 2
	clockThreadCPUTimeID  = 3
	clockMonotonicRaw     = 4
	clockRealtimeCoarse   = 5
	clockMonotonicCoarse  = 6
	clockBoottime         = 7
	clockTAI              = 11
)

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
	case clockRealtime, clockRealtimeCoarse, clockTAI:
		return clockNow(true), true
	case clockMonotonic, clockMonotonicRaw, clockMonotonicCoarse, clockBoottime,
		clockProcessCPUTimeID, clockThreadCPUTimeID:
		// CPU-time clocks approximate with elapsed time: no accounting yet.
		return clockNow(false), true
	}
	return 0, false
}

func (t *Thread) putTimespec(addr uintptr, d time.Duration) Errno {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second))
	return t.p.cpu.CopyOut(addr, b[:])
}

func (t *Thread) readTimespec(addr uintptr) (time.Duration, Errno) {
	var b [16]byte
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return 0, e
	}
	sec, nsec := int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, syscall.EINVAL
	}
	if sec > 1<<33 {
		sec = 1 << 33 // centuries: forever, without overflowing Duration
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), 0
}

func sysClockGettime(t *Thread, a *[6]uint64) int64 {
	d, ok := clockValue(a[0])
	if !ok {
		return errno(syscall.EINVAL)
	}
	return errno(t.putTimespec(uintptr(a[1]), d))
}

func sysClockGetres(t *Thread, a *[6]uint64) int64 {
	if _, ok := clockValue(a[0]); !ok {
		return errno(syscall.EINVAL)
	}
	if a[1] == 0 {
		return 0
	}
	return errno(t.putTimespec(uintptr(a[1]), time.Nanosecond))
}

func sysGettimeofday(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		now := time.Now()
		var b [16]byte
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
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0, true
	case <-t.intr:
	case <-t.p.done:
	}
	return max(0, d-time.Since(start)), false
}

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
	return errno(syscall.EINTR)
}

func sysClockNanosleep(t *Thread, a *[6]uint64) int64 {
	const timerAbstime = 1
	clk, flags := a[0], a[1]
	if _, ok := clockValue(clk); !ok {
		return errno(syscall.EINVAL)
	}
	d, e := t.readTimespec(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	if flags&timerAbstime != 0 {
		now, _ := clockValue(clk)
		d -= now
	}
	left, ok := t.sleep(d)
	if ok {
		return 0
	}
	if flags&timerAbstime == 0 && a[3] != 0 {
		t.putTimespec(uintptr(a[3]), left)
	}
	return errno(syscall.EINTR)
}

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

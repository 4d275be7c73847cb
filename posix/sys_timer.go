package posix

import (
	"encoding/binary"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Timers that deliver signals or wake readers: interval timers
// (setitimer; musl's and glibc's alarm use ITIMER_REAL), POSIX timers and
// timerfds. The timers themselves are in timer.go and timerfd.go.

// readTimeval reads a struct timeval; EINVAL if out of range.
func (t *Thread) readTimeval(addr uintptr) (time.Duration, Errno) {
	var b [16]byte
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return 0, e
	}
	sec, usec := int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || usec < 0 || usec >= 1e6 {
		return 0, linux.EINVAL
	}
	sec = min(sec, int64(maxTimerDelay/time.Second))
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, 0
}

// putItimerval writes struct itimerval {interval, value}, rounding a
// value up to the next microsecond so a running timer never reads 0.
func (t *Thread) putItimerval(addr uintptr, value, interval time.Duration) Errno {
	var b [32]byte
	le := binary.LittleEndian
	value = (value + time.Microsecond - 1) / time.Microsecond * time.Microsecond
	le.PutUint64(b[0:], uint64(interval/time.Second))
	le.PutUint64(b[8:], uint64(interval%time.Second/time.Microsecond))
	le.PutUint64(b[16:], uint64(value/time.Second))
	le.PutUint64(b[24:], uint64(value%time.Second/time.Microsecond))
	return t.p.cpu.CopyOut(addr, b[:])
}

// readItimerspec reads struct itimerspec {interval, value}.
func (t *Thread) readItimerspec(addr uintptr) (value, interval time.Duration, e Errno) {
	if interval, e = t.readTimespec(addr); e != 0 {
		return 0, 0, e
	}
	if value, e = t.readTimespec(addr + 16); e != 0 {
		return 0, 0, e
	}
	return min(value, maxTimerDelay), min(interval, maxTimerDelay), 0
}

func (t *Thread) putItimerspec(addr uintptr, value, interval time.Duration) Errno {
	if e := t.putTimespec(addr, interval); e != 0 {
		return e
	}
	return t.putTimespec(addr+16, value)
}

// sysSetitimer implements setitimer(2).
func sysSetitimer(t *Thread, a *[6]uint64) int64 {
	which := a[0]
	if which > linux.ITIMER_PROF {
		return errno(linux.EINVAL)
	}
	var value, interval time.Duration
	if a[1] != 0 { // NULL disarms, as Linux still accepts
		var e Errno
		if interval, e = t.readTimeval(uintptr(a[1])); e != 0 {
			return errno(e)
		}
		if value, e = t.readTimeval(uintptr(a[1]) + 16); e != 0 {
			return errno(e)
		}
	}
	oldV, oldI := t.p.itimer(int(which)).arm(value, interval)
	if a[2] != 0 {
		return errno(t.putItimerval(uintptr(a[2]), oldV, oldI))
	}
	return 0
}

// sysGetitimer implements getitimer(2).
func sysGetitimer(t *Thread, a *[6]uint64) int64 {
	if a[0] > linux.ITIMER_PROF {
		return errno(linux.EINVAL)
	}
	v, i := t.p.itimer(int(a[0])).left()
	return errno(t.putItimerval(uintptr(a[1]), v, i))
}

// timerClock reports whether clk is a clock POSIX timers can run on.
func timerClock(clk uint64) bool {
	switch clk {
	case linux.CLOCK_REALTIME, linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME, linux.CLOCK_TAI,
		linux.CLOCK_REALTIME_ALARM, linux.CLOCK_BOOTTIME_ALARM,
		linux.CLOCK_PROCESS_CPUTIME_ID, linux.CLOCK_THREAD_CPUTIME_ID:
		return true
	}
	return false
}

// absDelay turns an absolute time on clk into a delay from now; a time
// already past expires at once (the smallest delay), as on Linux.
func absDelay(clk uint64, at time.Duration) time.Duration {
	var now time.Duration
	switch clk {
	case linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_ALARM, linux.CLOCK_TAI:
		now = clockNow(true)
	default:
		now = clockNow(false)
	}
	return max(at-now, time.Nanosecond)
}

// sysTimerCreate implements timer_create(2).
func sysTimerCreate(t *Thread, a *[6]uint64) int64 {
	clk, sevp, idp := a[0], uintptr(a[1]), uintptr(a[2])
	if !timerClock(clk) {
		return errno(linux.EINVAL)
	}
	pt := &posixTimer{clock: clk, notify: linux.SIGEV_SIGNAL, signo: linux.SIGALRM}
	if sevp != 0 {
		var ev linux.Sigevent
		if e := t.p.cpu.CopyIn(linux.AsBytes(&ev), sevp); e != 0 {
			return errno(e)
		}
		pt.notify, pt.value = ev.Notify, ev.Value
		switch ev.Notify {
		case linux.SIGEV_NONE:
		case linux.SIGEV_SIGNAL, linux.SIGEV_THREAD: // SIGEV_THREAD is the libc's business
		case linux.SIGEV_SIGNAL | linux.SIGEV_THREAD_ID:
			if ev.Tid <= 0 || t.p.thread(int(ev.Tid)) == nil {
				return errno(linux.EINVAL)
			}
			pt.tid = int(ev.Tid)
		default:
			return errno(linux.EINVAL)
		}
		if ev.Notify != linux.SIGEV_NONE && (ev.Signo < 1 || ev.Signo > linux.NSIG) {
			return errno(linux.EINVAL)
		}
		pt.signo = int(ev.Signo)
	}
	if e := t.p.addTimer(pt); e != 0 {
		return errno(e)
	}
	if sevp == 0 {
		pt.value = uint64(pt.id) // sigev_value defaults to the timer id
	}
	if e := t.put32(idp, uint32(pt.id)); e != 0 {
		t.p.deleteTimer(uint64(pt.id))
		return errno(e)
	}
	return 0
}

// sysTimerSettime implements timer_settime(2).
func sysTimerSettime(t *Thread, a *[6]uint64) int64 {
	pt := t.p.timer(a[0])
	if pt == nil {
		return errno(linux.EINVAL)
	}
	if a[2] == 0 || a[1]&^linux.TIMER_ABSTIME != 0 {
		return errno(linux.EINVAL)
	}
	value, interval, e := t.readItimerspec(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	if value > 0 && a[1]&linux.TIMER_ABSTIME != 0 {
		value = absDelay(pt.clock, value)
	}
	pt.overrun.Store(0)
	oldV, oldI := pt.k.arm(value, interval)
	if a[3] != 0 {
		return errno(t.putItimerspec(uintptr(a[3]), oldV, oldI))
	}
	return 0
}

// sysTimerGettime implements timer_gettime(2).
func sysTimerGettime(t *Thread, a *[6]uint64) int64 {
	pt := t.p.timer(a[0])
	if pt == nil {
		return errno(linux.EINVAL)
	}
	v, i := pt.k.left()
	return errno(t.putItimerspec(uintptr(a[1]), v, i))
}

// sysTimerGetoverrun implements timer_getoverrun(2).
func sysTimerGetoverrun(t *Thread, a *[6]uint64) int64 {
	pt := t.p.timer(a[0])
	if pt == nil {
		return errno(linux.EINVAL)
	}
	return pt.lastOverrun.Load()
}

// sysTimerDelete implements timer_delete(2).
func sysTimerDelete(t *Thread, a *[6]uint64) int64 {
	if !t.p.deleteTimer(a[0]) {
		return errno(linux.EINVAL)
	}
	return 0
}

// sysTimerfdCreate implements timerfd_create(2).
func sysTimerfdCreate(t *Thread, a *[6]uint64) int64 {
	clk, flags := a[0], a[1]
	switch clk {
	case linux.CLOCK_REALTIME, linux.CLOCK_MONOTONIC, linux.CLOCK_BOOTTIME,
		linux.CLOCK_REALTIME_ALARM, linux.CLOCK_BOOTTIME_ALARM:
	default:
		return errno(linux.EINVAL)
	}
	if flags&^uint64(linux.TFD_CLOEXEC|linux.TFD_NONBLOCK) != 0 {
		return errno(linux.EINVAL)
	}
	f := newTimerfd(clk)
	fd, e := t.p.fds.install(newOpenFile(f, linux.O_RDWR|uint32(flags)&linux.O_NONBLOCK), 0, flags&linux.TFD_CLOEXEC != 0)
	if e != 0 {
		return errno(e)
	}
	return int64(fd)
}

// timerfdOf finds the timerfd behind descriptor fd.
func (t *Thread) timerfdOf(fd uint64) (*timerfd, Errno) {
	of, e := t.fd(fd)
	if e != 0 {
		return nil, e
	}
	f, ok := of.f.(*timerfd)
	if !ok {
		return nil, linux.EINVAL
	}
	return f, 0
}

// sysTimerfdSettime implements timerfd_settime(2).
func sysTimerfdSettime(t *Thread, a *[6]uint64) int64 {
	f, e := t.timerfdOf(a[0])
	if e != 0 {
		return errno(e)
	}
	flags := a[1]
	if flags&^uint64(linux.TFD_TIMER_ABSTIME|linux.TFD_TIMER_CANCEL_ON_SET) != 0 {
		return errno(linux.EINVAL)
	}
	value, interval, e := t.readItimerspec(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	if value > 0 && flags&linux.TFD_TIMER_ABSTIME != 0 {
		value = absDelay(f.clock, value)
	}
	oldV, oldI := f.set(value, interval)
	if a[3] != 0 {
		return errno(t.putItimerspec(uintptr(a[3]), oldV, oldI))
	}
	return 0
}

// sysTimerfdGettime implements timerfd_gettime(2).
func sysTimerfdGettime(t *Thread, a *[6]uint64) int64 {
	f, e := t.timerfdOf(a[0])
	if e != 0 {
		return errno(e)
	}
	v, i := f.k.left()
	return errno(t.putItimerspec(uintptr(a[1]), v, i))
}

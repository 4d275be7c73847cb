package posix

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Host tests of the timers on the fake CPU (the QEMU ones are
// tests/app/timers_test.go).

// itimerval builds struct itimerval {interval, value} in microseconds.
func itimerval(interval, value int64) []byte {
	le := binary.LittleEndian
	b := le.AppendUint64(nil, uint64(interval/1e6))
	b = le.AppendUint64(b, uint64(interval%1e6))
	b = le.AppendUint64(b, uint64(value/1e6))
	return le.AppendUint64(b, uint64(value%1e6))
}

// An ITIMER_REAL interval timer of 10 ms runs a SIGALRM handler five
// times while the program waits in ppoll (pause), each wait ending EINTR
// although the handler asked for SA_RESTART (ppoll is never restarted).
func TestSetitimerDeliversSIGALRM(t *testing.T) {
	var ticks atomic.Int32
	p, _, _, _ := start(t, func(s *userSide) {
		const handler = 0x5000
		s.handlers[handler] = func(*userSide, int) { ticks.Add(1) }
		buf := s.scratch()
		s.poke(buf, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, handler), linux.SA_RESTART))
		s.call(linux.SYS_RT_SIGACTION, linux.SIGALRM, uint64(buf), 0, 8)
		s.poke(buf, itimerval(10000, 10000))
		if s.call(linux.SYS_SETITIMER, linux.ITIMER_REAL, uint64(buf), 0) != 0 {
			s.call(linux.SYS_EXIT_GROUP, 1)
		}
		for i := 0; i < 5; i++ {
			if r := s.call(linux.SYS_PPOLL, 0, 0, 0, 0, 0); r != errno(linux.EINTR) {
				s.call(linux.SYS_EXIT_GROUP, 2)
			}
		}
		if s.call(linux.SYS_GETITIMER, linux.ITIMER_REAL, uint64(buf)) != 0 || binary.LittleEndian.Uint64(s.peek(buf+8, 8)) != 10000 {
			s.call(linux.SYS_EXIT_GROUP, 3)
		}
		s.poke(buf, itimerval(0, 0))
		s.call(linux.SYS_SETITIMER, linux.ITIMER_REAL, uint64(buf), 0)
		s.poke(buf, linux.AsBytes(&linux.Itimerval{Value: linux.Timeval{Usec: 1e6}})) // usec out of range
		if s.call(linux.SYS_SETITIMER, linux.ITIMER_REAL, uint64(buf), 0) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 4)
		}
		if s.call(linux.SYS_SETITIMER, 3, uint64(buf), 0) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 5)
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 || ticks.Load() != 5 {
		t.Fatalf("exit %d, %d handler runs", code, ticks.Load())
	}
}

// timer_create checks its sigevent; SIGEV_NONE timers run and read back;
// ids are reused only after timer_delete.
func TestTimerCreateChecks(t *testing.T) {
	p, _, _, _ := start(t, func(s *userSide) {
		buf, id := s.scratch(), s.scratch()
		ev := linux.Sigevent{Signo: linux.SIGUSR1, Notify: linux.SIGEV_SIGNAL | linux.SIGEV_THREAD_ID, Tid: 99}
		s.poke(buf, linux.AsBytes(&ev))
		if s.call(linux.SYS_TIMER_CREATE, linux.CLOCK_MONOTONIC, uint64(buf), uint64(id)) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 1) // no thread 99
		}
		ev = linux.Sigevent{Signo: 65, Notify: linux.SIGEV_SIGNAL}
		s.poke(buf, linux.AsBytes(&ev))
		if s.call(linux.SYS_TIMER_CREATE, linux.CLOCK_MONOTONIC, uint64(buf), uint64(id)) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 2)
		}
		if s.call(linux.SYS_TIMER_CREATE, 77, 0, uint64(id)) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 3)
		}
		ev = linux.Sigevent{Notify: linux.SIGEV_NONE}
		s.poke(buf, linux.AsBytes(&ev))
		if s.call(linux.SYS_TIMER_CREATE, linux.CLOCK_PROCESS_CPUTIME_ID, uint64(buf), uint64(id)) != 0 {
			s.call(linux.SYS_EXIT_GROUP, 4)
		}
		tid := uint64(binary.LittleEndian.Uint32(s.peek(id, 4)))
		its := linux.Itimerspec{Value: linux.Timespec{Sec: 100}}
		s.poke(buf, linux.AsBytes(&its))
		if s.call(linux.SYS_TIMER_SETTIME, tid, 0, uint64(buf), 0) != 0 || s.call(linux.SYS_TIMER_GETTIME, tid, uint64(buf)) != 0 {
			s.call(linux.SYS_EXIT_GROUP, 5)
		}
		if sec := binary.LittleEndian.Uint64(s.peek(buf+16, 8)); sec < 98 || sec > 99 {
			s.call(linux.SYS_EXIT_GROUP, 6)
		}
		its = linux.Itimerspec{Value: linux.Timespec{Nsec: 1e9}}
		s.poke(buf, linux.AsBytes(&its))
		if s.call(linux.SYS_TIMER_SETTIME, tid, 0, uint64(buf), 0) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 7)
		}
		if s.call(linux.SYS_TIMER_DELETE, tid) != 0 || s.call(linux.SYS_TIMER_DELETE, tid) != errno(linux.EINVAL) ||
			s.call(linux.SYS_TIMER_GETOVERRUN, 1<<40) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 8)
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// A periodic timerfd counts expirations; a read takes the count; epoll
// sees it readable.
func TestTimerfdCounts(t *testing.T) {
	p, _, _, _ := start(t, func(s *userSide) {
		buf := s.scratch()
		fd := uint64(s.call(linux.SYS_TIMERFD_CREATE, linux.CLOCK_MONOTONIC, linux.TFD_NONBLOCK))
		if int64(fd) < 0 {
			s.call(linux.SYS_EXIT_GROUP, 1)
		}
		if s.call(linux.SYS_READ, fd, uint64(buf), 8) != errno(linux.EAGAIN) {
			s.call(linux.SYS_EXIT_GROUP, 2)
		}
		its := linux.Itimerspec{Interval: linux.Timespec{Nsec: 5e6}, Value: linux.Timespec{Nsec: 5e6}}
		s.poke(buf, linux.AsBytes(&its))
		if s.call(linux.SYS_TIMERFD_SETTIME, fd, 0, uint64(buf), 0) != 0 {
			s.call(linux.SYS_EXIT_GROUP, 3)
		}
		time.Sleep(60 * time.Millisecond)
		if s.call(linux.SYS_READ, fd, uint64(buf), 8) != 8 || binary.LittleEndian.Uint64(s.peek(buf, 8)) < 5 {
			s.call(linux.SYS_EXIT_GROUP, 4)
		}
		ep := uint64(s.call(linux.SYS_EPOLL_CREATE1, 0))
		ev := linux.EpollEvent{Events: linux.EPOLLIN}
		s.poke(buf, linux.AsBytes(&ev))
		s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, fd, uint64(buf))
		if s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(buf), 1, 2000, 0, 0) != 1 {
			s.call(linux.SYS_EXIT_GROUP, 5)
		}
		if s.call(linux.SYS_TIMERFD_SETTIME, 0, 0, uint64(buf), 0) != errno(linux.EINVAL) { // stdin is no timerfd
			s.call(linux.SYS_EXIT_GROUP, 6)
		}
		if s.call(linux.SYS_READ, fd, uint64(buf), 4) != errno(linux.EINVAL) {
			s.call(linux.SYS_EXIT_GROUP, 7)
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// Every call that takes a sigset_t refuses a size other than 8.
func TestSigsetSizeChecked(t *testing.T) {
	p, _, _, _ := start(t, func(s *userSide) {
		buf := s.scratch()
		for i, c := range [][]uint64{
			{linux.SYS_RT_SIGSUSPEND, uint64(buf), 16},
			{linux.SYS_RT_SIGTIMEDWAIT, uint64(buf), 0, 0, 4},
			{linux.SYS_RT_SIGPENDING, uint64(buf), 9},
			{linux.SYS_RT_SIGPROCMASK, 0, uint64(buf), 0, 7},
			{linux.SYS_PPOLL, 0, 0, 0, uint64(buf), 128},
		} {
			if r := s.call(c[0], c[1:]...); r != errno(linux.EINVAL) {
				s.call(linux.SYS_EXIT_GROUP, uint64(10+i))
			}
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// fadvise64 checks its arguments; setpriority's nice value reads back as
// Linux's 20-nice, clamped.
func TestFadvisePriority(t *testing.T) {
	p, _, _, _ := start(t, func(s *userSide) {
		buf := s.scratch()
		if s.call(linux.SYS_PIPE2, uint64(buf), 0) != 0 {
			s.call(linux.SYS_EXIT_GROUP, 1)
		}
		rfd := uint64(s.peek(buf, 1)[0])
		for i, c := range []struct {
			args []uint64
			want int64
		}{
			{[]uint64{rfd, 0, 0, linux.POSIX_FADV_SEQUENTIAL}, errno(linux.ESPIPE)},
			{[]uint64{99, 0, 0, 0}, errno(linux.EBADF)},
			{[]uint64{^uint64(0), 0, 0, 0}, errno(linux.EBADF)},
		} {
			if r := s.call(linux.SYS_FADVISE64, c.args...); r != c.want {
				s.call(linux.SYS_EXIT_GROUP, uint64(10+i))
			}
		}
		if s.call(linux.SYS_SETPRIORITY, linux.PRIO_PROCESS, 0, 100) != 0 || s.call(linux.SYS_GETPRIORITY, linux.PRIO_PROCESS, 0) != 20-19 {
			s.call(linux.SYS_EXIT_GROUP, 2)
		}
		if s.call(linux.SYS_SETPRIORITY, linux.PRIO_PROCESS, Pid, uint64(1<<64-5)) != 0 || s.call(linux.SYS_GETPRIORITY, linux.PRIO_PGRP, 0) != 25 {
			s.call(linux.SYS_EXIT_GROUP, 3)
		}
		if s.call(linux.SYS_GETPRIORITY, 7, 0) != errno(linux.EINVAL) || s.call(linux.SYS_SETPRIORITY, linux.PRIO_PROCESS, 4242, 0) != errno(linux.ESRCH) {
			s.call(linux.SYS_EXIT_GROUP, 4)
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// nanosleep reuses one timer per thread: short sleeps in a row, one cut
// short by a signal, and the sleeps after it each last at least what they
// asked (a tick left from an earlier sleep would end one early; a timer
// not reset would never end it).
func TestNanosleepReusedTimer(t *testing.T) {
	var ticks atomic.Int32
	var short atomic.Int32
	p, _, _, _ := start(t, func(s *userSide) {
		const handler = 0x5000
		s.handlers[handler] = func(*userSide, int) { ticks.Add(1) }
		buf := s.scratch()
		now := func() time.Duration {
			s.call(linux.SYS_CLOCK_GETTIME, linux.CLOCK_MONOTONIC, uint64(buf)+64)
			ts := s.peek(buf+64, 16)
			return time.Duration(binary.LittleEndian.Uint64(ts))*time.Second + time.Duration(binary.LittleEndian.Uint64(ts[8:]))
		}
		sleep := func(d time.Duration) int64 {
			s.poke(buf+32, linux.AsBytes(&linux.Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}))
			return s.call(linux.SYS_NANOSLEEP, uint64(buf)+32, uint64(buf)+48)
		}
		timed := func(d time.Duration) {
			t0 := now()
			if r := sleep(d); r != 0 {
				s.call(linux.SYS_EXIT_GROUP, 1)
			}
			if now()-t0 < d {
				short.Add(1)
			}
		}
		for range 20 {
			timed(200 * time.Microsecond)
		}
		s.poke(buf, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, handler), 0))
		s.call(linux.SYS_RT_SIGACTION, linux.SIGALRM, uint64(buf), 0, 8)
		s.poke(buf, itimerval(0, 5000)) // one SIGALRM after 5 ms
		s.call(linux.SYS_SETITIMER, linux.ITIMER_REAL, uint64(buf), 0)
		if r := sleep(10 * time.Second); r != errno(linux.EINTR) {
			s.call(linux.SYS_EXIT_GROUP, 2)
		}
		left := s.peek(buf+48, 16)
		if sec := binary.LittleEndian.Uint64(left); sec > 10 || sec < 5 {
			s.call(linux.SYS_EXIT_GROUP, 3) // the time left comes back
		}
		timed(30 * time.Millisecond)
		for range 5 {
			timed(2 * time.Millisecond)
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 || ticks.Load() != 1 || short.Load() != 0 {
		t.Fatalf("exit %d, %d handler runs, %d sleeps ended early", code, ticks.Load(), short.Load())
	}
}

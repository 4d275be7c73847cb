package posix

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// epoll calls used below.
const (
	nrEventfd2   = 19
	nrEpollCreat = 20
	nrEpollCtl   = 21
	nrEpollPwait = 22
	nrPipe2      = 59
)

// epollEvent is struct epoll_event.
func epollEvent(events uint32, data uint64) []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, uint64(events)), data)
}

// A thread blocked in epoll_pwait must see files added to the interest
// list after it went to sleep, and their later readiness: Go's netpoller
// adds descriptors while another thread waits (os's TestPipeThreads hung
// on this when the waiter only watched the files listed when it began).
func TestEpollWaitSeesFilesAddedLater(t *testing.T) {
	cpu := newFakeCPU()
	var got [2]atomic.Int64 // what the waiter's two epoll_pwait calls returned (+1: not yet)
	cpu.progs[0x2000] = func(s *userSide) {
		ep, out := s.u.X[rA5], s.scratch()
		for i := range got {
			n := s.call(nrEpollPwait, ep, uint64(out), 8, ^uint64(0), 0) // no timeout
			got[i].Store(n + 1)
		}
	}
	cpu.progs[0x1000] = func(s *userSide) {
		ep := s.call(nrEpollCreat, 0)
		s.u.X[rA5] = uint64(ep)
		s.u.PC = 0x2000 - 4 // the child starts at the clone's PC
		s.call(220, cloneVM|cloneThread|cloneSighand|cloneFS|cloneFiles, 0, 0, 0, 0)
		s.u.PC = 0x1000
		buf := s.scratch()
		waitFor := func(i int) int64 {
			for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(time.Millisecond) {
				if n := got[i].Load(); n != 0 {
					return n - 1
				}
			}
			return -1000
		}
		time.Sleep(20 * time.Millisecond) // let the waiter block on the empty list
		// An eventfd that is ready when it is added wakes the waiter.
		efd := s.call(nrEventfd2, 1, oNonblock)
		s.poke(buf, epollEvent(pollIn|epollET, 1))
		s.call(nrEpollCtl, uint64(ep), epollAdd, uint64(efd), uint64(buf))
		if n := waitFor(0); n != 1 {
			s.call(nrExitGroup, 1)
		}
		// A pipe added while nothing is ready wakes it when written.
		s.call(nrPipe2, uint64(buf), oNonblock)
		rfd, wfd := binary.LittleEndian.Uint32(s.peek(buf, 4)), binary.LittleEndian.Uint32(s.peek(buf+4, 4))
		s.poke(buf, epollEvent(pollIn|epollET, 2))
		s.call(nrEpollCtl, uint64(ep), epollAdd, uint64(rfd), uint64(buf))
		time.Sleep(20 * time.Millisecond)
		if got[1].Load() != 0 {
			s.call(nrExitGroup, 2) // woke with nothing new to report
		}
		s.call(nrWrite, uint64(wfd), uint64(buf), 1)
		if n := waitFor(1); n != 1 {
			s.call(nrExitGroup, 3)
		}
		s.call(nrExitGroup, 0)
	}
	p, err := Start(Config{CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000, Random: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d (1: not woken by a ready file's ADD, 2: spurious report, 3: not woken by a later write)", code)
	}
}

func TestEpollItems(t *testing.T) {
	p, _, _, _ := start(t, func(s *userSide) {
		buf, out := s.scratch(), s.scratch()
		check := func(code uint64, got, want int64) {
			if got != want {
				s.call(nrExitGroup, code)
			}
		}
		ep := uint64(s.call(nrEpollCreat, 0))
		// Closing a file forgets its item, so the fd number can be added
		// again once reused.
		efd := uint64(s.call(nrEventfd2, 1, oNonblock))
		s.poke(buf, epollEvent(pollIn, 7))
		check(1, s.call(nrEpollCtl, ep, epollAdd, efd, uint64(buf)), 0)
		s.call(nrClose, efd)
		check(2, s.call(nrEpollPwait, ep, uint64(out), 8, 0, 0), 0)
		check(3, s.call(nrEventfd2, 0, oNonblock), int64(efd))
		check(4, s.call(nrEpollCtl, ep, epollAdd, efd, uint64(buf)), 0)
		check(5, s.call(nrEpollCtl, ep, epollAdd, efd, uint64(buf)), errno(syscall.EEXIST))
		check(6, s.call(nrEpollCtl, ep, epollDel, efd, 0), 0)
		check(7, s.call(nrEpollCtl, ep, epollDel, efd, 0), errno(syscall.ENOENT))

		// A one-shot item reports once, then nothing (not even a hang-up)
		// until it is re-armed.
		s.call(nrPipe2, uint64(buf), 0)
		rfd, wfd := uint64(binary.LittleEndian.Uint32(s.peek(buf, 4))), uint64(binary.LittleEndian.Uint32(s.peek(buf+4, 4)))
		s.call(nrClose, wfd)
		s.poke(buf, epollEvent(pollIn|epollOneshot, 9))
		check(8, s.call(nrEpollCtl, ep, epollAdd, rfd, uint64(buf)), 0)
		check(9, s.call(nrEpollPwait, ep, uint64(out), 8, 0, 0), 1)
		check(10, s.call(nrEpollPwait, ep, uint64(out), 8, 0, 0), 0)
		check(11, s.call(nrEpollCtl, ep, epollMod, rfd, uint64(buf)), 0)
		check(12, s.call(nrEpollPwait, ep, uint64(out), 8, 0, 0), 1)

		// Epolls may watch epolls, but not in a cycle.
		ep2 := uint64(s.call(nrEpollCreat, 0))
		s.poke(buf, epollEvent(pollIn, 0))
		check(13, s.call(nrEpollCtl, ep, epollAdd, ep2, uint64(buf)), 0)
		check(14, s.call(nrEpollCtl, ep2, epollAdd, ep, uint64(buf)), errno(syscall.ELOOP))
		check(15, s.call(nrEpollCtl, ep, epollAdd, ep, uint64(buf)), errno(syscall.EINVAL))
		// A nested epoll's readiness reaches the outer one.
		efd = uint64(s.call(nrEventfd2, 1, 0))
		check(16, s.call(nrEpollCtl, ep2, epollAdd, efd, uint64(buf)), 0)
		check(17, s.call(nrEpollCtl, ep, epollDel, rfd, 0), 0)
		check(18, s.call(nrEpollPwait, ep, uint64(out), 8, 0, 0), 1)
		s.call(nrExitGroup, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("failed check %d", code)
	}
}

func TestWaitHasNoChildren(t *testing.T) {
	const nrWaitid, nrWait4 = 95, 260
	p, _, log, _ := start(t, func(s *userSide) {
		info := s.scratch()
		for i, c := range []struct {
			nr   uint64
			args []uint64
			want Errno
		}{
			{nrWait4, []uint64{^uint64(0), uint64(info), 0, 0}, syscall.ECHILD},
			{nrWait4, []uint64{12345, 0, wNohang, 0}, syscall.ECHILD},
			{nrWait4, []uint64{^uint64(0), 0, 0x100, 0}, syscall.EINVAL},
			{nrWaitid, []uint64{pAll, 0, uint64(info), wExited, 0}, syscall.ECHILD},
			{nrWaitid, []uint64{pPid, 7, uint64(info), wExited | wNohang, 0}, syscall.ECHILD},
			{nrWaitid, []uint64{pAll, 0, uint64(info), wNohang, 0}, syscall.EINVAL},
			{nrWaitid, []uint64{pPid, 0, uint64(info), wExited, 0}, syscall.EINVAL},
			{nrWaitid, []uint64{pPidfd, 99, uint64(info), wExited, 0}, syscall.EBADF},
			{nrWaitid, []uint64{9, 0, uint64(info), wExited, 0}, syscall.EINVAL},
		} {
			if got := s.call(c.nr, c.args...); got != errno(c.want) {
				s.call(nrExitGroup, uint64(i+1))
			}
		}
		s.call(nrExitGroup, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("failed case %d", code-1)
	}
	if log.Len() != 0 {
		t.Errorf("logged %q", log.String())
	}
}

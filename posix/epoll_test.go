package posix

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// epoll calls used below.

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
		ep, out := s.u.X[abi.RegA5], s.scratch()
		for i := range got {
			n := s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, ^uint64(0), 0) // no timeout
			got[i].Store(n + 1)
		}
	}
	cpu.progs[0x1000] = func(s *userSide) {
		ep := s.call(linux.SYS_EPOLL_CREATE1, 0)
		s.u.X[abi.RegA5] = uint64(ep)
		s.u.PC = 0x2000 - 4 // the child starts at the clone's PC
		s.call(linux.SYS_CLONE, linux.CLONE_VM|linux.CLONE_THREAD|linux.CLONE_SIGHAND|linux.CLONE_FS|linux.CLONE_FILES, 0, 0, 0, 0)
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
		efd := s.call(linux.SYS_EVENTFD2, 1, linux.O_NONBLOCK)
		s.poke(buf, epollEvent(linux.POLLIN|linux.EPOLLET, 1))
		s.call(linux.SYS_EPOLL_CTL, uint64(ep), linux.EPOLL_CTL_ADD, uint64(efd), uint64(buf))
		s.expect("the waiter's epoll_pwait after ADD of a ready eventfd", waitFor(0), 1)
		// A pipe added while nothing is ready wakes it when written.
		s.call(linux.SYS_PIPE2, uint64(buf), linux.O_NONBLOCK)
		rfd, wfd := binary.LittleEndian.Uint32(s.peek(buf, 4)), binary.LittleEndian.Uint32(s.peek(buf+4, 4))
		s.poke(buf, epollEvent(linux.POLLIN|linux.EPOLLET, 2))
		s.call(linux.SYS_EPOLL_CTL, uint64(ep), linux.EPOLL_CTL_ADD, uint64(rfd), uint64(buf))
		time.Sleep(20 * time.Millisecond)
		s.expectTrue("the waiter woke with nothing new to report", got[1].Load() == 0)
		s.call(linux.SYS_WRITE, uint64(wfd), uint64(buf), 1)
		s.expect("the waiter's epoll_pwait after a write to an added pipe", waitFor(1), 1)
		s.call(linux.SYS_EXIT_GROUP, 0)
	}
	p, err := Start(Config{CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000, Random: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
}

func TestEpollItems(t *testing.T) {
	p, _, _, cpu := start(t, func(s *userSide) {
		buf, out := s.scratch(), s.scratch()
		check := func(n int, got, want int64) { s.expect(fmt.Sprintf("epoll check %d", n), got, want) }
		ep := uint64(s.call(linux.SYS_EPOLL_CREATE1, 0))
		// Closing a file forgets its item, so the fd number can be added
		// again once reused.
		efd := uint64(s.call(linux.SYS_EVENTFD2, 1, linux.O_NONBLOCK))
		s.poke(buf, epollEvent(linux.POLLIN, 7))
		check(1, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, efd, uint64(buf)), 0)
		s.call(linux.SYS_CLOSE, efd)
		check(2, s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0), 0)
		check(3, s.call(linux.SYS_EVENTFD2, 0, linux.O_NONBLOCK), int64(efd))
		check(4, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, efd, uint64(buf)), 0)
		check(5, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, efd, uint64(buf)), errno(linux.EEXIST))
		check(6, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_DEL, efd, 0), 0)
		check(7, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_DEL, efd, 0), errno(linux.ENOENT))

		// A one-shot item reports once, then nothing (not even a hang-up)
		// until it is re-armed.
		s.call(linux.SYS_PIPE2, uint64(buf), 0)
		rfd, wfd := uint64(binary.LittleEndian.Uint32(s.peek(buf, 4))), uint64(binary.LittleEndian.Uint32(s.peek(buf+4, 4)))
		s.call(linux.SYS_CLOSE, wfd)
		s.poke(buf, epollEvent(linux.POLLIN|linux.EPOLLONESHOT, 9))
		check(8, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, rfd, uint64(buf)), 0)
		check(9, s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0), 1)
		check(10, s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0), 0)
		check(11, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_MOD, rfd, uint64(buf)), 0)
		check(12, s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0), 1)

		// Epolls may watch epolls, but not in a cycle.
		ep2 := uint64(s.call(linux.SYS_EPOLL_CREATE1, 0))
		s.poke(buf, epollEvent(linux.POLLIN, 0))
		check(13, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, ep2, uint64(buf)), 0)
		check(14, s.call(linux.SYS_EPOLL_CTL, ep2, linux.EPOLL_CTL_ADD, ep, uint64(buf)), errno(linux.ELOOP))
		check(15, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, ep, uint64(buf)), errno(linux.EINVAL))
		// A nested epoll's readiness reaches the outer one.
		efd = uint64(s.call(linux.SYS_EVENTFD2, 1, 0))
		check(16, s.call(linux.SYS_EPOLL_CTL, ep2, linux.EPOLL_CTL_ADD, efd, uint64(buf)), 0)
		check(17, s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_DEL, rfd, 0), 0)
		check(18, s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0), 1)
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
}

func TestWaitHasNoChildren(t *testing.T) {
	p, _, log, cpu := start(t, func(s *userSide) {
		info := s.scratch()
		for i, c := range []struct {
			nr   uint64
			args []uint64
			want Errno
		}{
			{linux.SYS_WAIT4, []uint64{^uint64(0), uint64(info), 0, 0}, linux.ECHILD},
			{linux.SYS_WAIT4, []uint64{12345, 0, linux.WNOHANG, 0}, linux.ECHILD},
			{linux.SYS_WAIT4, []uint64{^uint64(0), 0, 0x100, 0}, linux.EINVAL},
			{linux.SYS_WAITID, []uint64{linux.P_ALL, 0, uint64(info), linux.WEXITED, 0}, linux.ECHILD},
			{linux.SYS_WAITID, []uint64{linux.P_PID, 7, uint64(info), linux.WEXITED | linux.WNOHANG, 0}, linux.ECHILD},
			{linux.SYS_WAITID, []uint64{linux.P_ALL, 0, uint64(info), linux.WNOHANG, 0}, linux.EINVAL},
			{linux.SYS_WAITID, []uint64{linux.P_PID, 0, uint64(info), linux.WEXITED, 0}, linux.EINVAL},
			{linux.SYS_WAITID, []uint64{linux.P_PIDFD, 99, uint64(info), linux.WEXITED, 0}, linux.EBADF},
			{linux.SYS_WAITID, []uint64{9, 0, uint64(info), linux.WEXITED, 0}, linux.EINVAL},
		} {
			s.expect(fmt.Sprintf("case %d: %s%v", i, linux.SyscallName(c.nr), c.args), s.call(c.nr, c.args...), errno(c.want))
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
	if log.Len() != 0 {
		t.Errorf("logged %q", log.String())
	}
}

// racyFile is a file that becomes ready, and says so on its wait queue,
// while its readiness is being read: the state Ready returns is the one
// from just before, as when a packet lands right after the check.
type racyFile struct {
	fileDefaults
	wq    waitQueue
	ready atomic.Bool
	flip  atomic.Bool // the next Ready call makes the file ready
}

func (f *racyFile) waitQueue() *waitQueue { return &f.wq }
func (f *racyFile) Stat() fs.Stat         { return anonStat(0o600) }
func (f *racyFile) Name(*Process) string  { return "racy" }
func (f *racyFile) Ready() uint32 {
	was := f.ready.Load()
	if f.flip.CompareAndSwap(true, false) {
		f.ready.Store(true)
		f.wq.notify()
	}
	if was {
		return linux.POLLIN
	}
	return 0
}

// An edge-triggered item whose file becomes ready while collect reads
// its state is reported by the next collect: the change's token must
// not be eaten together with the stale "not ready".
func TestEpollEdgeDuringCollect(t *testing.T) {
	ep := &epoll{interest: map[int]*epollItem{}}
	f := &racyFile{}
	it := &epollItem{fd: 3, of: newOpenFile(f, 0), events: linux.POLLIN | linux.EPOLLET, data: 7, edge: newWaiter()}
	ep.watch(it)
	ep.interest[3] = it
	f.wq.notify() // a change that leaves the file not ready (a window update)
	f.flip.Store(true)
	if got := ep.collect(8); len(got) != 0 {
		t.Fatalf("first collect reported %v while the file was not ready", got)
	}
	got := ep.collect(8)
	if len(got) != 1 || got[0][1] != 7 || got[0][0]&linux.POLLIN == 0 {
		t.Fatalf("second collect = %v, want the item (data 7) readable: the edge was lost", got)
	}
	if got := ep.collect(8); len(got) != 0 {
		t.Fatalf("third collect = %v: no change since, nothing to report", got)
	}
}

// levelFile is ready while ready is set; it notifies only when told.
type levelFile struct {
	fileDefaults
	ready atomic.Bool
	wq    waitQueue
}

func (f *levelFile) waitQueue() *waitQueue { return &f.wq }
func (f *levelFile) Stat() fs.Stat         { return anonStat(0o600) }
func (f *levelFile) Name(*Process) string  { return "level" }
func (f *levelFile) Ready() uint32 {
	if f.ready.Load() {
		return linux.POLLIN
	}
	return 0
}

// collect looks at the ready list: a level-triggered item is reported
// while its file stays ready, leaves the list when it is not, and comes
// back with the file's next wake-up, not before.
func TestEpollReadyList(t *testing.T) {
	ep := &epoll{interest: map[int]*epollItem{}}
	f := &levelFile{}
	it := &epollItem{fd: 4, of: newOpenFile(f, 0), events: linux.POLLIN, data: 9, edge: newWaiter()}
	ep.watch(it)
	ep.interest[4] = it
	f.ready.Store(true)
	for i := 0; i < 2; i++ {
		if got := ep.collect(8); len(got) != 1 || got[0][1] != 9 {
			t.Fatalf("collect %d while ready = %v", i, got)
		}
	}
	f.ready.Store(false)
	if got := ep.collect(8); len(got) != 0 {
		t.Fatalf("collect while not ready = %v", got)
	}
	if n := len(ep.ready); n != 0 {
		t.Fatalf("%d items left on the ready list after a not-ready look", n)
	}
	f.ready.Store(true) // without a wake-up: not looked at
	if got := ep.collect(8); len(got) != 0 {
		t.Fatalf("collect without a wake-up = %v", got)
	}
	f.wq.notify()
	if got := ep.collect(8); len(got) != 1 {
		t.Fatalf("collect after the wake-up = %v", got)
	}
	// More ready items than max: the rest wait on the list.
	g := &levelFile{}
	g.ready.Store(true)
	it2 := &epollItem{fd: 5, of: newOpenFile(g, 0), events: linux.POLLIN, data: 10, edge: newWaiter()}
	ep.watch(it2)
	ep.interest[5] = it2
	seen := map[uint64]bool{}
	for i := 0; i < 2; i++ { // round robin: each once
		got := ep.collect(1)
		if len(got) != 1 {
			t.Fatalf("collect(1) = %v", got)
		}
		seen[got[0][1]] = true
	}
	if !seen[10] {
		t.Errorf("the second ready item was never reported: %v", seen)
	}
}

// An item deleted while on the ready list is not reported, and a new
// item for the same descriptor number is, once: collect tells them
// apart without looking the number up.
func TestEpollDroppedItemOnReadyList(t *testing.T) {
	ep := &epoll{interest: map[int]*epollItem{}}
	f := &levelFile{}
	f.ready.Store(true)
	old := &epollItem{fd: 6, of: newOpenFile(f, 0), events: linux.POLLIN, data: 1, edge: &waiter{}}
	ep.watch(old)
	ep.interest[6] = old
	ep.mu.Lock()
	ep.drop(old) // EPOLL_CTL_DEL: old stays on the ready list
	ep.mu.Unlock()
	g := &levelFile{}
	g.ready.Store(true)
	it := &epollItem{fd: 6, of: newOpenFile(g, 0), events: linux.POLLIN, data: 2, edge: &waiter{}}
	ep.watch(it)
	ep.interest[6] = it
	got := ep.collect(8)
	if len(got) != 1 || got[0][1] != 2 {
		t.Fatalf("collect = %v, want only the new item (data 2)", got)
	}
	// A closed file's item is dropped by collect, as live does.
	g2 := &levelFile{}
	g2.ready.Store(true)
	c := &epollItem{fd: 7, of: newOpenFile(g2, 0), events: linux.POLLIN, data: 3, edge: &waiter{}}
	ep.watch(c)
	ep.interest[7] = c
	c.of.closed.Store(true)
	for _, g := range ep.collect(8) {
		if g[1] == 3 {
			t.Fatalf("collect reported the closed file's item: %v", g)
		}
	}
	if _, ok := ep.interest[7]; ok || !c.dropped {
		t.Fatalf("the closed file's item is still in the interest list")
	}
}

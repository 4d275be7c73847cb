package posix

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// TestSyscallPathDoesNotAllocate checks, with the runtime's allocation
// counters, that a system call which does not block costs the kernel no
// heap allocation on its way through the posix layer: the thread loop,
// the table lookup, the dispatch and the return with signals checked.
// An allocation per call would make every call pay for the garbage
// collector too.
func TestSyscallPathDoesNotAllocate(t *testing.T) {
	var results []float64
	var names []string
	p, _, _, cpu := start(t, func(s *userSide) {
		buf := s.scratch()
		s.poke(buf, []byte{7, 0, 0, 0})
		s.poke(buf+64, linux.AsBytes(&linux.Timespec{Nsec: 1000}))
		calls := []struct {
			name string
			nr   uint64
			args []uint64
		}{
			{"getpid", linux.SYS_GETPID, nil},
			{"gettid", linux.SYS_GETTID, nil},
			{"getuid", linux.SYS_GETUID, nil},
			{"fcntl F_GETFD", linux.SYS_FCNTL, []uint64{1, linux.F_GETFD}},
			{"clock_gettime", linux.SYS_CLOCK_GETTIME, []uint64{linux.CLOCK_MONOTONIC, uint64(buf) + 16}},
			{"futex wake, no waiter", linux.SYS_FUTEX, []uint64{uint64(buf), linux.FUTEX_WAKE | linux.FUTEX_PRIVATE_FLAG, 1}},
			{"futex wait, value changed", linux.SYS_FUTEX, []uint64{uint64(buf), linux.FUTEX_WAIT | linux.FUTEX_PRIVATE_FLAG, 8, 0}},
			// {0, 1000}: one microsecond, the kind of sleep Go's sysmon takes.
			{"nanosleep 1 µs", linux.SYS_NANOSLEEP, []uint64{uint64(buf) + 64, 0}},
		}
		for _, c := range calls {
			s.call(c.nr, c.args...) // warm up: first-use allocations are fine
			names = append(names, c.name)
			results = append(results, testing.AllocsPerRun(200, func() { s.call(c.nr, c.args...) }))
		}
		// A pipe written a byte at a time and read back: its queue, once
		// grown, is reused.
		s.expect("pipe2", s.call(linux.SYS_PIPE2, uint64(buf)+32, 0), 0)
		fds := s.peek(buf+32, 8)
		rfd, wfd := uint64(fds[0]), uint64(fds[4])
		pipeRound := func() {
			s.call(linux.SYS_WRITE, wfd, uint64(buf), 1)
			s.call(linux.SYS_READ, rfd, uint64(buf)+48, 1)
		}
		for range 3 * ringMin {
			s.call(linux.SYS_WRITE, wfd, uint64(buf), 1) // grown and wrapped round
		}
		names = append(names, "pipe write and read of 1 byte")
		results = append(results, testing.AllocsPerRun(200, pipeRound)/2)

		// epoll_pwait reporting a level-triggered readable pipe (its event
		// array and encoding reused), and one waiting 1 ms on an empty
		// epoll (the thread's timer reused).
		s.call(linux.SYS_WRITE, wfd, uint64(buf), 1)
		ep := uint64(s.call(linux.SYS_EPOLL_CREATE1, 0))
		empty := uint64(s.call(linux.SYS_EPOLL_CREATE1, 0))
		s.poke(buf+64, linux.AsBytes(&linux.EpollEvent{Events: linux.EPOLLIN, Data: 77}))
		s.expect("epoll_ctl ADD", s.call(linux.SYS_EPOLL_CTL, ep, linux.EPOLL_CTL_ADD, rfd, uint64(buf)+64), 0)
		out := buf + 256
		s.poke(out, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		s.expect("epoll_pwait, pipe readable", s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0), 1)
		ev := s.peek(out, 16)
		s.expectTrue(fmt.Sprintf("epoll_event % x: want EPOLLIN, zero padding, data 77", ev),
			binary.LittleEndian.Uint64(ev) == linux.EPOLLIN && binary.LittleEndian.Uint64(ev[8:]) == 77)
		names = append(names, "epoll_pwait with one event")
		results = append(results, testing.AllocsPerRun(200, func() { s.call(linux.SYS_EPOLL_PWAIT, ep, uint64(out), 8, 0, 0) }))
		s.call(linux.SYS_EPOLL_PWAIT, empty, uint64(out), 8, 1, 0)
		names = append(names, "epoll_pwait timing out after 1 ms")
		results = append(results, testing.AllocsPerRun(20, func() { s.call(linux.SYS_EPOLL_PWAIT, empty, uint64(out), 8, 1, 0) }))

		// A futex wait that times out after 1 ms (the word unchanged): a Go
		// program's sysmon waits so whenever the program idles.
		s.poke(buf+80, linux.AsBytes(&linux.Timespec{Nsec: 1_000_000}))
		futexTimed := func() int64 {
			return s.call(linux.SYS_FUTEX, uint64(buf), linux.FUTEX_WAIT|linux.FUTEX_PRIVATE_FLAG, 7, uint64(buf)+80)
		}
		s.expect("futex wait timing out", futexTimed(), -int64(linux.ETIMEDOUT))
		names = append(names, "futex wait timing out after 1 ms")
		results = append(results, testing.AllocsPerRun(20, func() { futexTimed() }))
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
	if len(results) == 0 {
		t.Fatal("the program measured nothing")
	}
	for i, n := range results {
		if n != 0 {
			t.Errorf("%s: %.1f allocations per call, want 0", names[i], n)
		}
	}
}

// TestOpenFstatCloseAllocations bounds the kernel's heap allocations for
// what a static web server does per request with its file: openat,
// fstat, pread and close (nginx: with sendfile instead of pread). Four
// remain: the path as a string, the posix file (with its description),
// the VFS's open file and the filesystem's handle. Each allocation is
// paid again in garbage collection.
func TestOpenFstatCloseAllocations(t *testing.T) {
	var n float64
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		u.ok("mkdir /www", s.call(linux.SYS_MKDIRAT, fdcwd, u.str("/www"), 0o755))
		u.writeFile("/www/1k.bin", string(make([]byte, 1024)))
		path := u.str("/www/1k.bin")
		st := uint64(u.buf())
		round := func() {
			fd := uint64(s.call(linux.SYS_OPENAT, fdcwd, path, linux.O_RDONLY|linux.O_NONBLOCK))
			s.call(linux.SYS_FSTAT, fd, st)
			s.call(linux.SYS_PREAD64, fd, st+256, 1024, 0)
			s.call(linux.SYS_CLOSE, fd)
		}
		round()
		fd := u.ok("openat", s.call(linux.SYS_OPENAT, fdcwd, path, linux.O_RDONLY|linux.O_NONBLOCK))
		u.want("pread64 of the file", s.call(linux.SYS_PREAD64, uint64(fd), st+256, 1024, 0), 1024)
		u.want("close", s.call(linux.SYS_CLOSE, uint64(fd)), 0)
		n = testing.AllocsPerRun(200, round)
	})
	if n > 4 {
		t.Errorf("openat, fstat, pread64 and close: %.1f allocations, want at most 4", n)
	}
	t.Logf("openat, fstat, pread64 and close: %.1f allocations", n)
}

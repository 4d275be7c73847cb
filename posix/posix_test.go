package posix

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// start runs prog as the main thread of a new process on a fake CPU.
func start(t *testing.T, prog func(*userSide), stdin string) (*Process, *bytes.Buffer, *bytes.Buffer, *fakeCPU) {
	t.Helper()
	cpu := newFakeCPU()
	cpu.progs[0x1000] = prog
	cpu.Map(0x6fff_0000, 0x10000, linux.PROT_READ|linux.PROT_WRITE, 1) // the stack
	var out, log bytes.Buffer
	p, err := Start(Config{
		CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000,
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out, Log: &log, Random: rand.Reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, &out, &log, cpu
}

func wait(t *testing.T, p *Process) int {
	t.Helper()
	select {
	case <-p.Done():
		return p.Wait()
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
		return -1
	}
}

func TestWriteReadExit(t *testing.T) {
	p, out, _, cpu := start(t, func(s *userSide) {
		buf := s.scratch()
		n := s.call(linux.SYS_READ, 0, uint64(buf), 100) // read(0)
		s.call(linux.SYS_WRITE, 1, uint64(buf), uint64(n))
		s.expect("read at the end of stdin", s.call(linux.SYS_READ, 0, uint64(buf), 100), 0)
		s.expect("write from a bad pointer", s.call(linux.SYS_WRITE, 1, 0xdead0000, 5), errno(linux.EFAULT))
		s.expect("write to an unopened fd", s.call(linux.SYS_WRITE, 77, uint64(buf), 1), errno(linux.EBADF))
		s.call(linux.SYS_EXIT_GROUP, 3)
	}, "echo me\x00\xff")
	if code := wait(t, p); code != 3 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
	if out.String() != "echo me\x00\xff" {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestUnknownSyscallLoggedOnce(t *testing.T) {
	p, _, log, cpu := start(t, func(s *userSide) {
		for i := 0; i < 3; i++ {
			s.expect("mincore", s.call(linux.SYS_MINCORE, 0, 4096, 0), errno(linux.ENOSYS))
			s.expect("io_setup (not in the table)", s.call(linux.SYS_IO_SETUP, 1, 0), errno(linux.ENOSYS))
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
	for _, want := range []string{"syscall 232 (mincore)", "syscall 0 (io_setup)"} {
		if n := strings.Count(log.String(), want); n != 1 {
			t.Errorf("%s logged %d times: %q", want, n, log.String())
		}
	}
}

func TestBrkAndMmap(t *testing.T) {
	p, _, _, cpu := start(t, func(s *userSide) {
		base := s.call(linux.SYS_BRK, 0)
		s.expect("initial brk", base, 0x40_0000)
		s.expect("brk grown by 10000", s.call(linux.SYS_BRK, uint64(base)+10000), base+10000)
		s.poke(uintptr(base)+9000, []byte{42}) // now mapped
		s.expect("mmap W+X", s.call(linux.SYS_MMAP, 0, 8192, linux.PROT_READ|linux.PROT_WRITE|linux.PROT_EXEC, linux.MAP_PRIVATE|linux.MAP_ANONYMOUS, ^uint64(0), 0), errno(linux.EACCES))
		r := s.call(linux.SYS_MMAP, 0, 8192, linux.PROT_READ|linux.PROT_WRITE, linux.MAP_PRIVATE|linux.MAP_ANONYMOUS, ^uint64(0), 0)
		s.expectTrue(fmt.Sprintf("mmap RW anonymous = %d, want an address", r), r > 0)
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
}

// TestMmapMinAddr: MAP_FIXED (and MAP_FIXED_NOREPLACE) below 64 KiB is
// EPERM as on Linux; at 64 KiB it is allowed.
func TestMmapMinAddr(t *testing.T) {
	p, _, _, _ := start(t, func(s *userSide) {
		rw, anon := uint64(linux.PROT_READ|linux.PROT_WRITE), uint64(linux.MAP_PRIVATE|linux.MAP_ANONYMOUS)
		for i, fl := range []uint64{linux.MAP_FIXED, linux.MAP_FIXED_NOREPLACE} {
			if r := s.call(linux.SYS_MMAP, 0x1000, 4096, rw, anon|fl, ^uint64(0), 0); r != errno(linux.EPERM) {
				s.call(linux.SYS_EXIT_GROUP, uint64(1+i))
			}
		}
		if r := s.call(linux.SYS_MMAP, linux.MmapMinAddr, 4096, rw, anon|linux.MAP_FIXED, ^uint64(0), 0); r != linux.MmapMinAddr {
			s.call(linux.SYS_EXIT_GROUP, 3)
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestFutexWakesOtherThread(t *testing.T) {
	cpu := newFakeCPU()
	var woke atomic.Int32
	cpu.progs[0x2000] = func(s *userSide) { // child: wait on the word
		word := uintptr(s.u.X[abi.RegA5]) // passed through a5 below
		if s.call(linux.SYS_FUTEX, uint64(word), linux.FUTEX_WAIT|linux.FUTEX_PRIVATE_FLAG, 0, 0) == 0 {
			woke.Add(1)
		}
		s.poke(word+4, []byte{1}) // tell the parent it may exit
	}
	cpu.progs[0x1000] = func(s *userSide) {
		word := s.scratch()
		s.u.X[abi.RegA5] = uint64(word)
		// The child starts at the clone's PC; our fake dispatches on the
		// PC, so point it at the child's program for the clone.
		s.u.PC = 0x2000 - 4
		tid := s.call(linux.SYS_CLONE, linux.CLONE_VM|linux.CLONE_THREAD|linux.CLONE_SIGHAND|linux.CLONE_FS|linux.CLONE_FILES, 0, 0, 0, 0)
		s.u.PC = 0x1000
		s.expectTrue(fmt.Sprintf("clone = %d, want a new tid", tid), tid > 1)
		for i := 0; i < 5000; i++ { // up to ~5 s for the child to start waiting on a loaded host
			if s.call(linux.SYS_FUTEX, uint64(word), linux.FUTEX_WAKE|linux.FUTEX_PRIVATE_FLAG, 1) == 1 {
				break
			}
			ts := s.scratch()
			s.poke(ts+8, []byte{0x40, 0x42, 0x0f, 0}) // 1 ms
			s.call(linux.SYS_NANOSLEEP, uint64(ts), 0)
		}
		for i := 0; i < 5000 && s.peek(word+4, 1)[0] == 0; i++ {
			s.call(linux.SYS_SCHED_YIELD) // sched_yield until the child has counted its wake-up
		}
		s.call(linux.SYS_EXIT_GROUP, 0)
	}
	var out bytes.Buffer
	p, err := Start(Config{CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000, Stdout: &out, Random: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 0 || woke.Load() != 1 {
		t.Fatalf("exit %d, woke %d", code, woke.Load())
	}
	cpu.report(t)
}

func TestSignalHandlerAndSigreturn(t *testing.T) {
	var gotSig atomic.Int32
	var sawS0 atomic.Uint64
	p, _, _, cpu := start(t, func(s *userSide) {
		const handler = 0x5000
		s.handlers[handler] = func(s *userSide, sig int) {
			gotSig.Store(int32(sig))
			// The frame holds the interrupted registers: s0 (x8) at
			// mcontext + 8*8.
			uc := uintptr(s.u.X[abi.RegA2])
			sawS0.Store(binary.LittleEndian.Uint64(s.peek(uc+unsafe.Offsetof(linux.UContext{}.MContext)+8*8, 8)))
			s.u.X[7] = 0 // clobber s0: sigreturn must restore it
		}
		act := s.scratch()
		s.poke(act, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, handler), linux.SA_SIGINFO))
		s.expect("rt_sigaction(SIGUSR1)", s.call(linux.SYS_RT_SIGACTION, linux.SIGUSR1, uint64(act), 0, linux.SigsetSize), 0)
		s.u.X[7] = 0x5eed
		s.call(linux.SYS_TGKILL, Pid, 1, linux.SIGUSR1)
		s.expect("s0 after the handler returned", int64(s.u.X[7]), 0x5eed)
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
	if gotSig.Load() != linux.SIGUSR1 || sawS0.Load() != 0x5eed {
		t.Fatalf("handler got signal %d and s0 %#x", gotSig.Load(), sawS0.Load())
	}
}

func TestDefaultActionKills(t *testing.T) {
	p, _, log, _ := start(t, func(s *userSide) {
		s.call(linux.SYS_KILL, Pid, linux.SIGTERM)
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 128+linux.SIGTERM {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(log.String(), "SIGTERM") {
		t.Fatalf("log %q", log.String())
	}
}

func TestEpollEventfd(t *testing.T) {
	p, _, _, cpu := start(t, func(s *userSide) {
		efd := s.call(linux.SYS_EVENTFD2, 0, linux.O_NONBLOCK)
		ep := s.call(linux.SYS_EPOLL_CREATE1, 0)
		ev := s.scratch()
		s.poke(ev, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, linux.POLLIN|linux.EPOLLET), 77))
		s.expect("epoll_ctl ADD eventfd", s.call(linux.SYS_EPOLL_CTL, uint64(ep), linux.EPOLL_CTL_ADD, uint64(efd), uint64(ev)), 0)
		out := s.scratch()
		s.expect("epoll_pwait with nothing ready", s.call(linux.SYS_EPOLL_PWAIT, uint64(ep), uint64(out), 8, 0, 0), 0)
		one := s.scratch()
		s.poke(one, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		s.call(linux.SYS_WRITE, uint64(efd), uint64(one), 8)
		s.expect("epoll_pwait after a write", s.call(linux.SYS_EPOLL_PWAIT, uint64(ep), uint64(out), 8, 1000, 0), 1)
		s.expect("the reported data", int64(binary.LittleEndian.Uint64(s.peek(out+8, 8))), 77)
		s.expect("edge-triggered: epoll_pwait again", s.call(linux.SYS_EPOLL_PWAIT, uint64(ep), uint64(out), 8, 0, 0), 0)
		s.expect("eventfd read", s.call(linux.SYS_READ, uint64(efd), uint64(one), 8), 8)
		s.expect("eventfd read when drained", s.call(linux.SYS_READ, uint64(efd), uint64(one), 8), errno(linux.EAGAIN))
		s.call(linux.SYS_EXIT_GROUP, 0)
	}, "")
	if code := wait(t, p); code != 0 {
		t.Fatalf("exit %d", code)
	}
	cpu.report(t)
}

func TestTableIsConsistent(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"| 64 | write |", "| 98 | futex |", "| 139 | rt_sigreturn |", "| 22 | epoll_pwait |"} {
		if !strings.Contains(b.String(), name) {
			t.Errorf("table lacks %q", name)
		}
	}
}

package posix

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

var _ = func() bool { bugHook = true; return true }()

// A panicking handler is a logged kernel bug and the end of the
// application with abi.ExitSyscallBug, while another thread is blocked in
// the kernel: nothing hangs.
func TestHandlerPanicEndsApp(t *testing.T) {
	cpu := newFakeCPU()
	cpu.progs[0x2000] = func(s *userSide) { // blocked in read of an empty pipe
		s.call(linux.SYS_READ, s.u.X[abi.RegA5], uint64(s.scratch()), 1)
	}
	cpu.progs[0x1000] = func(s *userSide) {
		buf := s.scratch()
		if s.call(linux.SYS_PIPE2, uint64(buf), 0) != 0 {
			s.call(linux.SYS_EXIT_GROUP, 1)
		}
		rfd := uint64(s.peek(buf, 1)[0])
		s.u.X[abi.RegA5] = rfd
		s.u.PC = 0x2000 - 4 // the fake starts the child at the clone's PC
		tid := s.call(linux.SYS_CLONE, linux.CLONE_VM|linux.CLONE_THREAD|linux.CLONE_SIGHAND|linux.CLONE_FS|linux.CLONE_FILES, 0, 0, 0, 0)
		s.u.PC = 0x1000
		if tid <= 1 {
			s.call(linux.SYS_EXIT_GROUP, 2)
		}
		time.Sleep(10 * time.Millisecond)
		s.call(BugHookNr, ^uint64(0), 2, 3)
		s.call(linux.SYS_EXIT_GROUP, 0) // not reached: the process is gone
	}
	var log bytes.Buffer
	p, err := Start(Config{CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000, Stdout: io.Discard, Log: &log, Random: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != abi.ExitSyscallBug {
		t.Fatalf("exit %d, want %d; log:\n%s", code, abi.ExitSyscallBug, log.String())
	}
	for _, want := range []string{"kernel bug: system call runikraft_bughook (31499) panicked", "index out of range", "args 0xffffffffffffffff 0x2 0x3", "posix.sysBugHook", "status 71"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

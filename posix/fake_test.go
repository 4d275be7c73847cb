package posix

import (
	"fmt"
	"sync"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// fakeCPU stands in for the hart layer in host tests: application memory
// is a map of pages, and "user mode" is a Go function per thread that
// makes system calls through a channel handshake with EnterUser.
type fakeCPU struct {
	mu    sync.Mutex
	pages map[uintptr][]byte
	prot  map[uintptr]uint32
	next  uintptr
	progs map[uint64]func(*userSide) // entry PC → program
	users map[*abi.UserContext]*userSide
	fails []string // labelled expectations the programs saw fail
}

// expect records a labelled failure when a result is not the one wanted;
// report prints them all once the process is over.
func (s *userSide) expect(what string, got, want int64) {
	if got != want {
		s.cpu.fail(fmt.Sprintf("%s = %d, want %d", what, got, want))
	}
}

// expectTrue records a labelled failure unless ok.
func (s *userSide) expectTrue(what string, ok bool) {
	if !ok {
		s.cpu.fail(what)
	}
}

func (c *fakeCPU) fail(msg string) {
	c.mu.Lock()
	c.fails = append(c.fails, msg)
	c.mu.Unlock()
}

// report fails t with every expectation that did not hold.
func (c *fakeCPU) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.fails {
		t.Error(f)
	}
}

func newFakeCPU() *fakeCPU {
	return &fakeCPU{
		pages: map[uintptr][]byte{},
		prot:  map[uintptr]uint32{},
		next:  abi.UserHighStart,
		progs: map[uint64]func(*userSide){},
		users: map[*abi.UserContext]*userSide{},
	}
}

// userSide is one fake thread's user half.
type userSide struct {
	cpu      *fakeCPU
	u        *abi.UserContext
	toUser   chan struct{}
	toKernel chan struct{}
	handlers map[uint64]func(s *userSide, sig int) // handler PC → function
}

// enter is one round trip: run user code until its next syscall.
func (c *fakeCPU) EnterUser(u *abi.UserContext) error {
	c.mu.Lock()
	s := c.users[u]
	if s == nil {
		prog := c.progs[u.PC]
		if prog == nil {
			c.mu.Unlock()
			return fmt.Errorf("fake: no program at pc %#x", u.PC)
		}
		s = &userSide{cpu: c, u: u, toUser: make(chan struct{}), toKernel: make(chan struct{}), handlers: map[uint64]func(*userSide, int){}}
		c.users[u] = s
		c.mu.Unlock()
		go func() {
			<-s.toUser
			prog(s)
			s.call(linux.SYS_EXIT, 0) // thread exit when the program returns
		}()
	} else {
		c.mu.Unlock()
	}
	s.toUser <- struct{}{}
	<-s.toKernel
	return nil
}

func (c *fakeCPU) Kick(*abi.UserContext) {}

// The fake has no futex queue of its own: every wait is the posix layer's.
func (c *fakeCPU) FutexWake(uintptr, int, uint32) int     { return 0 }
func (c *fakeCPU) FutexRequeue(uintptr, uintptr, int) int { return 0 }
func (c *fakeCPU) FutexWaiters(uintptr, int)              {}

// call makes a system call from the fake user side and returns its result.
// A pending signal handler set up by the kernel runs first, as it would
// when the kernel resumes user mode at the handler.
func (s *userSide) call(nr uint64, args ...uint64) int64 {
	u := s.u
	for i, a := range args {
		u.X[abi.RegA0+i] = a
	}
	u.X[abi.RegA7] = nr
	ret := u.PC + 4
	u.Cause = linux.EnvironmentCallFromUMode
	s.toKernel <- struct{}{}
	<-s.toUser
	for u.PC != ret {
		h := s.handlers[u.PC]
		if h == nil {
			panic(fmt.Sprintf("fake: resumed at unknown pc %#x", u.PC))
		}
		h(s, int(u.X[abi.RegA0]))
		u.X[abi.RegA7] = 139 // rt_sigreturn from the trampoline
		u.Cause = linux.EnvironmentCallFromUMode
		s.toKernel <- struct{}{}
		<-s.toUser
	}
	return int64(u.X[abi.RegA0])
}

func (c *fakeCPU) Map(addr, length uintptr, prot, flags uint32) (uintptr, Errno) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prot&linux.PROT_WRITE != 0 && prot&linux.PROT_EXEC != 0 {
		return 0, linux.EACCES
	}
	if flags&abi.MapFixed == 0 {
		addr = c.next
	} else if flags&abi.MapNoReplace != 0 {
		for p := addr; p < addr+length; p += linux.PageSize {
			if _, ok := c.pages[p]; ok {
				return 0, linux.EEXIST
			}
		}
	}
	for p := addr; p < addr+length; p += linux.PageSize {
		c.pages[p] = make([]byte, linux.PageSize)
		c.prot[p] = prot
	}
	if addr+length > c.next {
		c.next = addr + length + linux.PageSize
	}
	return addr, 0
}

func (c *fakeCPU) Unmap(addr, length uintptr) Errno {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := addr; p < addr+length; p += linux.PageSize {
		delete(c.pages, p)
	}
	return 0
}

func (c *fakeCPU) Protect(addr, length uintptr, prot uint32) Errno {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := addr; p < addr+length; p += linux.PageSize {
		if _, ok := c.pages[p]; !ok {
			return linux.ENOMEM
		}
		c.prot[p] = prot
	}
	return 0
}

func (c *fakeCPU) Advise(uintptr, uintptr, int) Errno { return 0 }

func (c *fakeCPU) copy(addr uintptr, b []byte, out bool) Errno {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range b {
		a := addr + uintptr(i)
		pg, ok := c.pages[a&^(linux.PageSize-1)]
		if !ok {
			return linux.EFAULT
		}
		if out {
			pg[a%linux.PageSize] = b[i]
		} else {
			b[i] = pg[a%linux.PageSize]
		}
	}
	return 0
}

func (c *fakeCPU) CopyIn(dst []byte, src uintptr) Errno  { return c.copy(src, dst, false) }
func (c *fakeCPU) CopyOut(dst uintptr, src []byte) Errno { return c.copy(dst, src, true) }

func (c *fakeCPU) CopyInString(src uintptr, max int) (string, Errno) {
	var out []byte
	for i := 0; i < max; i++ {
		var b [1]byte
		if e := c.CopyIn(b[:], src+uintptr(i)); e != 0 {
			return "", e
		}
		if b[0] == 0 {
			return string(out), 0
		}
		out = append(out, b[0])
	}
	return "", linux.ENAMETOOLONG
}

// scratch maps a fresh page for a test program's buffers.
func (s *userSide) scratch() uintptr {
	a, e := s.cpu.Map(0, linux.PageSize, linux.PROT_READ|linux.PROT_WRITE, 0)
	if e != 0 {
		panic(e)
	}
	return a
}

func (s *userSide) poke(addr uintptr, b []byte) {
	if e := s.cpu.CopyOut(addr, b); e != 0 {
		panic(e)
	}
}

func (s *userSide) peek(addr uintptr, n int) []byte {
	b := make([]byte, n)
	if e := s.cpu.CopyIn(b, addr); e != 0 {
		panic(e)
	}
	return b
}

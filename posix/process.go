package posix

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Errno is a Linux error number (the same numbers on every Linux arch).
type Errno = linux.Errno

// CPU is what the posix layer needs from the hart layer: running a thread
// in user mode and reaching application memory. The hart layer provides
// the real one (HartCPU on riscv64); tests use a fake.
type CPU interface {
	EnterUser(u *abi.UserContext) error
	Kick(u *abi.UserContext)
	Map(addr, length uintptr, prot, flags uint32) (uintptr, Errno)
	Unmap(addr, length uintptr) Errno
	Protect(addr, length uintptr, prot uint32) Errno
	Advise(addr, length uintptr, advice int) Errno
	CopyIn(dst []byte, src uintptr) Errno
	CopyOut(dst uintptr, src []byte) Errno
	CopyInString(src uintptr, max int) (string, Errno)

	// The hart layer's own futex queue (FUTEX_WAIT and FUTEX_WAKE
	// between application threads answered in trap context), which the
	// posix layer's futexes must include: FutexWake wakes up to n of its
	// waiters on addr whose bitset meets bitset, FutexRequeue moves up to
	// n of them from one address to another (both report how many), and
	// FutexWaiters adds to the count of the posix layer's own waiters
	// on addr (while not zero, every wake on addr comes through here).
	FutexWake(addr uintptr, n int, bitset uint32) int
	FutexRequeue(from, to uintptr, n int) int
	FutexWaiters(addr uintptr, delta int)
}

// Config describes the process to start.
type Config struct {
	CPU    CPU
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    io.Writer // the operator's console: unsupported calls, crashes
	Trace  io.Writer // if set, a line per system call of the application (strace.go)
	Random io.Reader // entropy for getrandom (the kernel's generator)

	Entry, SP   uint64   // initial registers from the loader
	BrkStart    uintptr  // page-aligned end of the loaded image
	Args        []string // for /proc-like answers and crash reports
	Symbolize   func(pc uint64) string
	Hostname    string
	MemoryBytes uint64 // for sysinfo

	// Net, if set, is the kernel's TCP/IP stack: AF_INET and AF_INET6
	// sockets, and /etc/resolv.conf and /etc/hosts from its
	// configuration. Without it those families are EAFNOSUPPORT.
	Net NetStack

	// MemoryRoom, if set, reports whether the kernel can keep n more
	// bytes of file data in RAM (tmpfs writes get ENOSPC otherwise).
	MemoryRoom func(n int64) bool
	// MemoryFree, if set, is the RAM not in use now, in bytes
	// (/proc/meminfo and sysinfo; without it they estimate half).
	MemoryFree func() uint64
	// MemoryResident, if set, is the RAM backing the application's
	// pages now and the most it has been, in bytes (/proc/self/stat's
	// rss, getrusage's ru_maxrss; without it they are 0).
	MemoryResident func() (now, peak uint64)
	// MemoryReport, if set, gives the figures logged when the
	// application is killed for running out of memory.
	MemoryReport func() string

	// RootFS, if set, is a cpio newc archive unpacked into / before the
	// application starts (a malformed one makes Start fail).
	RootFS io.Reader
	// Mounts are mounted after RootFS is unpacked (mounts.go).
	Mounts []Mount
	// Cwd, if set, is the absolute path of the directory the application
	// starts in, made if missing (see export.go).
	Cwd string
}

// Process is the one application of a Runikraft image.
type Process struct {
	cfg Config
	cpu CPU

	mu      sync.Mutex
	threads map[int]*Thread
	stopped chan struct{} // non-nil while stopped (SIGSTOP); closed by SIGCONT
	nextTID int

	console *console
	fds     *fdTable
	sigs    sigTable
	futexes futexTable
	mem     memState
	fs      fsState
	fifos   fifoTable
	unix    unixRegistry
	timers  timerTable
	sigwq   waitQueue // notified whenever a signal is posted (signalfd)

	umask      atomic.Uint32
	nice       atomic.Int32  // setpriority: recorded, one scheduling class
	pipeIDs    atomic.Uint64 // numbers pipes for /proc/self/fd
	lastStatus atomic.Int32  // exit status of the last thread to exit()
	reported   sync.Map      // syscall number → logged once

	exitOnce sync.Once
	doneOnce sync.Once // closes done: exit, or bugReport if exit is stuck
	done     chan struct{}
	status   int
	started  time.Time // once the filesystem was set up: later changes are the app's
}

// Pid is the application's process id (it is init of its machine). The
// hart layer answers getpid in trap context with the same constant.
const Pid = abi.AppPid

// Start creates the process with its main thread and runs it.
func Start(cfg Config) (*Process, error) {
	if cfg.CPU == nil {
		return nil, fmt.Errorf("posix: no CPU")
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Random == nil {
		return nil, fmt.Errorf("posix: no entropy source")
	}
	p := &Process{
		cfg:     cfg,
		cpu:     cfg.CPU,
		threads: map[int]*Thread{},
		nextTID: Pid,
		done:    make(chan struct{}),
	}
	p.umask.Store(0o022)
	p.console = newConsole(cfg)
	p.fds = newFDTable(p.console)
	if err := p.initFS(); err != nil {
		return nil, fmt.Errorf("posix: %w", err)
	}
	p.futexes.init(p.cpu)
	if err := p.mem.init(p.cpu, cfg.BrkStart); err != nil {
		return nil, fmt.Errorf("posix: %w", err)
	}
	if err := p.sigs.init(p.cpu); err != nil {
		return nil, fmt.Errorf("posix: %w", err)
	}
	if err := p.enterCwd(cfg.Cwd); err != nil {
		return nil, fmt.Errorf("posix: working directory %s: %w", cfg.Cwd, err)
	}
	p.started = time.Now()
	t := p.newThread()
	t.u.PC = cfg.Entry
	t.u.X[abi.RegSP] = cfg.SP
	go t.run()
	return p, nil
}

// Wait blocks until the process exits and returns its exit status.
func (p *Process) Wait() int {
	<-p.done
	return p.status
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// exit ends the whole process with status (exit_group, fatal signal).
func (p *Process) exit(status int) {
	p.exitOnce.Do(func() {
		p.stopTimers()
		p.mem.writeBackAll()
		p.status = status
		p.mu.Lock()
		for _, t := range p.threads {
			t.exiting.Store(true)
			t.interrupt()
		}
		p.mu.Unlock()
		p.end(status)
	})
}

// end records the status and lets Wait return, once.
func (p *Process) end(status int) {
	p.doneOnce.Do(func() {
		p.status = status
		close(p.done)
	})
}

// bugExitGrace bounds how long bugReport waits for an orderly exit (the
// panicking handler may have left a lock held that exit needs).
var bugExitGrace = 2 * time.Second

// bugReport logs a panic in the handler of system call nr as a kernel bug
// (call, arguments, Go stack) and ends the application with
// abi.ExitSyscallBug. It never hangs: if the orderly exit cannot finish in
// bugExitGrace, Wait returns anyway with the same status.
func (p *Process) bugReport(t *Thread, nr uint64, name string, a *[6]uint64, v any, stack []byte) {
	if name == "" {
		name = linux.SyscallName(nr)
	}
	p.logf("kernel bug: system call %s (%d) panicked: %v\n"+
		"  thread %d, pc %#x, args %#x %#x %#x %#x %#x %#x\n"+
		"  the application is ended with status %d; please report this with the trace below\n%s",
		name, nr, v, t.tid, t.u.PC-4, a[0], a[1], a[2], a[3], a[4], a[5], abi.ExitSyscallBug, stack)
	t.exiting.Store(true)
	go p.exit(abi.ExitSyscallBug)
	select {
	case <-p.done:
	case <-time.After(bugExitGrace):
		p.logf("kernel bug: orderly exit did not finish in %v; ending anyway", bugExitGrace)
		p.end(abi.ExitSyscallBug)
	}
}

func (p *Process) logf(format string, args ...any) {
	fmt.Fprintf(p.cfg.Log, "runikraft: "+format+"\n", args...)
}

func (p *Process) newThread() *Thread {
	p.mu.Lock()
	defer p.mu.Unlock()
	tid := p.nextTID
	p.nextTID++
	t := &Thread{p: p, tid: tid, u: &abi.UserContext{Tid: uint32(tid)}, intr: make(chan struct{}, 1),
		futexW: &futexWaiter{ch: make(chan struct{}, 1)}}
	if p.cfg.Trace != nil {
		t.u.Flags |= abi.UserSlowCalls // every call reaches the tracer
	}
	p.threads[tid] = t
	return t
}

func (p *Process) thread(tid int) *Thread {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.threads[tid]
}

// removeThread forgets t; the last thread leaving ends the process.
func (p *Process) removeThread(t *Thread) {
	p.mu.Lock()
	delete(p.threads, t.tid)
	n := len(p.threads)
	p.mu.Unlock()
	if n == 0 {
		p.exit(int(p.lastStatus.Load()))
	}
}

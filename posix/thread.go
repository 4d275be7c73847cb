package posix

import (
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Register indices into UserContext.X (X[n-1] is register xn).
const ()

// RISC-V trap causes that come back from user mode.
const ()

// Thread is one application thread.
type Thread struct {
	p   *Process
	tid int
	u   *abi.UserContext // heap-allocated: the hart layer keeps its address

	clearTID uintptr // CLONE_CHILD_CLEARTID / set_tid_address
	robust   uintptr // set_robust_list head (recorded only)
	name     string  // prctl(PR_SET_NAME)

	sig     threadSignals
	intr    chan struct{} // poked when a signal or exit needs attention
	waiter  *waiter       // waitReady's, reused (see readyWaiter)
	futexW  *futexWaiter  // futexWait's, reused: one wait at a time per thread (set at creation: interrupt reads it)
	timer   *time.Timer   // sleeps' and timed waits', reused (see startTimer)
	evs     [][2]uint64   // epoll_pwait's events, reused
	exiting atomic.Bool
	inCall  bool // a handler runs (see invoke)

	// The system call in progress, for restarts after a signal.
	callNr, callA0 uint64
	args           [6]uint64 // its arguments (see syscall)
	word           [16]byte  // scratch for small copies (see put32)
	big            *threadScratch
	mid            *[midChunk]byte // ioBuffer's for calls a page cannot hold (see there)
}

// threadScratch holds what a system call copies in or out through an
// interface (CopyIn, CopyOut): a buffer declared in the call would
// escape to the heap, an allocation per call (nginx makes an open and an
// fstat per request). A thread makes one call at a time, so one set
// serves all its calls; it is allocated at the first call that needs it.
type threadScratch struct {
	// uio is the application memory a direct socket read or write
	// covers (userIO): the stack takes it as an interface, so one
	// declared in the call would be allocated per call. First: its
	// fields are then reached with a load or store's own 12-bit offset,
	// not an address computed past the page each time (every socket
	// read and write sets it up).
	uio userIO

	page  [linux.PageSize]byte // a path argument, a page at a time
	stat  linux.Stat
	statx linux.Statx
	off   [2]int64 // offsetArg's results: in and out offsets

	// iov holds a call's iovec array when it has few (ioSeq); iovBusy
	// while one does (recvmmsg and sendmmsg describe several at once).
	iov     [8]linux.Iovec
	iovBusy bool
}

// scratch is the thread's threadScratch.
func (t *Thread) scratch() *threadScratch {
	if t.big == nil {
		t.big = new(threadScratch)
	}
	return t.big
}

// Tid is the thread id.
func (t *Thread) Tid() int { return t.tid }

// run is the thread's life: user mode, trap, handle, repeat.
func (t *Thread) run() {
	for !t.serve() {
		// A handler panicked (reported by recoverCall): serve again,
		// which ends at once, as the report set exiting.
	}
	t.finish()
}

// serve runs the thread until it ends and reports true, or false after
// a handler panicked. The one deferred recoverCall covers every system
// call the loop makes: a defer around each handler cost about 70 guest
// instructions a call (the deferred closure, its recover), a twentieth
// of a call the posix layer answers.
func (t *Thread) serve() bool {
	defer t.recoverCall()
	for !t.exiting.Load() {
		if err := t.p.cpu.EnterUser(t.u); err != nil {
			t.p.logf("thread %d: %v", t.tid, err)
			t.p.exit(128 + int(linux.SIGKILL))
			break
		}
		switch c := t.u.Cause; c {
		case linux.EnvironmentCallFromUMode:
			t.syscall()
		case abi.CauseKick:
			// Signals or exit: handled below.
		case abi.CauseInterruptedCall:
			// The hart layer's futex wait, cut short: like a call of
			// ours interrupted (a0 is -ERESTARTSYS), restarted or EINTR.
			t.callNr, t.callA0 = t.u.X[abi.RegA7], t.u.ArgA0
			t.u.Cause = linux.EnvironmentCallFromUMode
		case abi.CauseOOM:
			t.p.outOfMemory()
		default:
			t.fault(c)
		}
		if t.exiting.Load() {
			break
		}
		// deliverSignals' own first test, here: after nearly every call
		// nothing is due, and that is then no call at all.
		if r0 := int64(t.u.X[abi.RegA0]); t.sig.pending.Load() != 0 || atomic.LoadUint32(&t.u.Kick) != 0 || r0 == -errRestart || r0 == -errRestartNoHand {
			t.deliverSignals()
		}
	}
	return true
}

// finish runs once when the thread ends: CLONE_CHILD_CLEARTID semantics,
// then the process forgets it.
func (t *Thread) finish() {
	if t.clearTID != 0 && !t.p.exiting() {
		var zero [4]byte
		if t.p.cpu.CopyOut(t.clearTID, zero[:]) == 0 {
			t.p.futexes.wake(t.clearTID, 1, ^uint32(0))
		}
	}
	t.p.removeThread(t)
}

func (p *Process) exiting() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// interrupt wakes the thread from a blocking call or out of user mode.
func (t *Thread) interrupt() {
	select {
	case t.intr <- struct{}{}:
	default:
	}
	t.futexW.poke() // after intr: a futex wait it ends finds intr set
	atomic.StoreUint32(&t.u.Kick, 1)
	t.p.cpu.Kick(t.u)
}

// Special handler results.
const (
	// noReturn: the handler set the registers itself (rt_sigreturn).
	noReturn = -(1 << 62)
	// errRestart: interrupted by a signal; restart the call if the
	// handler has SA_RESTART (or no handler runs), else EINTR.
	errRestart = 512 // ERESTARTSYS
	// errRestartNoHand: restart only if no handler runs, else EINTR
	// whatever SA_RESTART says (poll, select, pause: Linux's
	// ERESTARTNOHAND).
	errRestartNoHand = 514
)

func (t *Thread) syscall() {
	u := t.u
	nr := u.X[abi.RegA7]
	// The arguments live in the Thread, not in a local: handlers are
	// called through a func value, so a local array would escape and
	// cost an allocation per call.
	args := &t.args
	// One store each: a composite literal here went through a zeroed
	// temporary and a copy (about 20 more instructions a call).
	args[0], args[1], args[2] = u.X[abi.RegA0], u.X[abi.RegA1], u.X[abi.RegA2]
	args[3], args[4], args[5] = u.X[abi.RegA3], u.X[abi.RegA4], u.X[abi.RegA5]
	u.PC += 4
	t.callNr, t.callA0 = nr, args[0]
	e := lookup(nr) // for --strace: nil for numbers the table does not know
	trace := t.p.cfg.Trace != nil
	var r int64
	if e != nil && e.fn != nil {
		if trace && noReturnCall(e.name) {
			t.strace(nr, e, args, 0, false) // strace.go
		}
		r = t.invoke(e, args)
	} else {
		r = errno(linux.ENOSYS)
		if e == nil || !e.quiet { // quiet: an expected probe, the caller falls back
			t.reportUnknown(nr, e)
		}
	}
	if trace && (e == nil || !noReturnCall(e.name)) {
		t.strace(nr, e, args, r, r != noReturn)
	}
	if r == noReturn {
		return
	}
	u.X[abi.RegA0] = uint64(r)
}

// reportUnknown logs an unsupported call once.
func (t *Thread) reportUnknown(nr uint64, e *entry) {
	if _, seen := t.p.reported.LoadOrStore(nr, true); seen {
		return
	}
	name := ""
	if e != nil {
		name = e.name
	}
	if name == "" {
		name = linux.SyscallName(nr)
	}
	if name == "" {
		name = "unknown"
	}
	t.p.logf("app called unsupported syscall %d (%s): ENOSYS", nr, name)
}

// invoke runs one handler. A panic inside it is a kernel bug, not the
// application's fault: it must not take the kernel down with it (the Go
// runtime would end the machine with ExitKernelPanic, or hang with locks
// held), so it becomes a bug report on the kernel log and the end of the
// application with abi.ExitSyscallBug (recoverCall, deferred once by
// serve; inCall tells it the panic came from a handler).
func (t *Thread) invoke(e *entry, args *[6]uint64) int64 {
	t.inCall = true
	r := e.fn(t, args)
	t.inCall = false
	return r
}

// recoverCall is serve's deferred call: it catches a panic of a handler
// (see invoke) and reports it (bugReport). Any other panic goes on: a
// bug outside the handlers is the kernel's, as before.
func (t *Thread) recoverCall() {
	if !t.inCall {
		return
	}
	v := recover()
	if v == nil {
		return
	}
	t.inCall = false
	nr, name := t.callNr, ""
	if e := lookup(nr); e != nil {
		name = e.name
	}
	t.p.bugReport(t, nr, name, &t.args, v, debug.Stack())
	if e := lookup(nr); t.p.cfg.Trace != nil && (e == nil || !noReturnCall(e.name)) {
		t.strace(nr, e, &t.args, noReturn, false)
	}
}

// errno turns an Errno into a handler result.
func errno(e Errno) int64 {
	if e == 0 {
		return 0
	}
	return -int64(e)
}

// outOfMemory kills the application with SIGKILL, as Linux's OOM killer
// would, when a page it touched cannot be backed: one log line with the
// figures, however many threads fault at once.
func (p *Process) outOfMemory() {
	if _, seen := p.reported.LoadOrStore("oom", true); !seen {
		figures := ""
		if p.cfg.MemoryReport != nil {
			figures = " (" + p.cfg.MemoryReport() + ")"
		}
		p.logf("out of memory: killed the application with SIGKILL%s; give it more RAM with runikraft run -m", figures)
	}
	p.exit(128 + int(linux.SIGKILL))
}

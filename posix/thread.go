package posix

import (
	"sync/atomic"
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi"
)

// Register indices into UserContext.X (X[n-1] is register xn).
const (
	rRA = 0
	rSP = 1
	rTP = 3
	rA0 = 9
	rA1 = 10
	rA2 = 11
	rA3 = 12
	rA4 = 13
	rA5 = 14
	rA7 = 16
)

// RISC-V trap causes that come back from user mode.
const (
	causeInstMisaligned  = 0
	causeInstAccess      = 1
	causeIllegal         = 2
	causeBreakpoint      = 3
	causeLoadMisaligned  = 4
	causeLoadAccess      = 5
	causeStoreMisaligned = 6
	causeStoreAccess     = 7
	causeEcallU          = 8
	causeInstPage        = 12
	causeLoadPage        = 13
	causeStorePage       = 15
)

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
	exiting atomic.Bool

	// The system call in progress, for restarts after a signal.
	callNr, callA0 uint64
}

// Tid is the thread id.
func (t *Thread) Tid() int { return t.tid }

// run is the thread's life: user mode, trap, handle, repeat.
func (t *Thread) run() {
	for !t.exiting.Load() {
		if err := t.p.cpu.EnterUser(t.u); err != nil {
			t.p.logf("thread %d: %v", t.tid, err)
			t.p.exit(128 + int(syscall.SIGKILL))
			break
		}
		switch c := t.u.Cause; c {
		case causeEcallU:
			t.syscall()
		case abi.CauseKick:
			// Signals or exit: handled below.
		case abi.CauseOOM:
			t.p.logf("out of memory: the application needs more RAM than the machine has (runikraft run -m); killed")
			t.p.exit(128 + int(syscall.SIGKILL))
		default:
			t.fault(c)
		}
		if t.exiting.Load() {
			break
		}
		t.deliverSignals()
	}
	t.finish()
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
)

func (t *Thread) syscall() {
	u := t.u
	nr := u.X[rA7]
	args := [6]uint64{u.X[rA0], u.X[rA1], u.X[rA2], u.X[rA3], u.X[rA4], u.X[rA5]}
	u.PC += 4
	t.callNr, t.callA0 = nr, args[0]
	e := lookup(nr)
	var r int64
	if e == nil || e.fn == nil {
		r = -int64(syscall.ENOSYS)
		if e != nil && e.quiet {
			// An expected probe (the caller falls back): say nothing.
		} else if _, seen := t.p.reported.LoadOrStore(nr, true); !seen {
			name := "unknown"
			if e != nil {
				name = e.name
			}
			t.p.logf("app called unsupported syscall %d (%s): ENOSYS", nr, name)
		}
	} else {
		if t.p.cfg.Trace != nil && noReturnCall(e.name) {
			t.strace(nr, e, &args, 0, false) // strace.go
		}
		r = e.fn(t, &args)
	}
	if t.p.cfg.Trace != nil && (e == nil || !noReturnCall(e.name)) {
		t.strace(nr, e, &args, r, r != noReturn)
	}
	if r == noReturn {
		return
	}
	u.X[rA0] = uint64(r)
}

// errno turns an Errno into a handler result.
func errno(e Errno) int64 {
	if e == 0 {
		return 0
	}
	return -int64(e)
}

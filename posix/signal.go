package posix

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Signals: actions per process, masks and pending sets per thread, and
// delivery with the Linux riscv64 signal frame, so Go's runtime (SIGURG
// preemption, SIGSEGV → nil-pointer panic) and C handlers work unchanged.

type sigaction struct {
	handler, flags, mask uint64
}

type sigTable struct {
	mu         sync.Mutex
	act        [linux.NSIG + 1]sigaction
	trampoline uintptr // user page: li a7, 139; ecall
}

// init maps the sigreturn trampoline that handlers return to (Linux puts
// it in the vDSO; Runikraft has none).
func (s *sigTable) init(cpu CPU) error {
	addr, e := cpu.Map(0, linux.PageSize, linux.PROT_READ|linux.PROT_WRITE, 0)
	if e != 0 {
		return fmt.Errorf("map sigreturn trampoline: %w", e)
	}
	code := []byte{0x93, 0x08, 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00} // li a7, 139; ecall
	if e := cpu.CopyOut(addr, code); e != 0 {
		return fmt.Errorf("write sigreturn trampoline: %w", e)
	}
	if e := cpu.Protect(addr, linux.PageSize, linux.PROT_READ|linux.PROT_EXEC); e != 0 {
		return fmt.Errorf("protect sigreturn trampoline: %w", e)
	}
	s.trampoline = addr
	return nil
}

func (s *sigTable) get(sig int) sigaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.act[sig]
}

// sigInfo is what a pending signal carries into siginfo_t.
type sigInfo struct {
	code int32
	addr uint64 // fault address, or sender pid/uid packed for SI_USER, or timer id/overrun for SI_TIMER
	val  uint64 // si_value of SI_TIMER (the second word of the union)
}

type threadSignals struct {
	mask    atomic.Uint64
	pending atomic.Uint64
	waiting atomic.Uint64 // the set rt_sigtimedwait waits for
	mu      sync.Mutex
	info    [linux.NSIG + 1]sigInfo
	altSP   uint64
	altSize uint64
	altOn   bool
	// savedMask is restored by sigreturn after rt_sigsuspend.
	savedMask    uint64
	hasSavedMask bool
}

func bit(sig int) uint64 { return 1 << uint(sig-1) }

const unblockable = 1<<(linux.SIGKILL-1) | 1<<(linux.SIGSTOP-1)

// post queues sig for t and makes it look. SIGCONT resumes a stopped
// process at once, whatever its disposition; a stop signal and SIGCONT
// cancel each other's pending instances, as on Linux.
func (t *Thread) post(sig int, info sigInfo) {
	if sig == linux.SIGCONT {
		t.p.resume()
	} else if stopSignal(sig) {
		t.p.clearPending(bit(linux.SIGCONT))
	}
	t.sig.mu.Lock()
	t.sig.info[sig] = info
	t.sig.mu.Unlock()
	t.sig.pending.Or(bit(sig))
	t.p.sigwq.notify()
	if t.sig.mask.Load()&bit(sig) == 0 || bit(sig)&unblockable != 0 {
		t.interrupt()
	} else if t.sig.waiting.Load()&bit(sig) != 0 { // rt_sigtimedwait takes blocked ones
		select {
		case t.intr <- struct{}{}:
		default:
		}
	}
}

// postProcess picks a thread that does not block sig (as Linux does for
// process-directed signals).
func (p *Process) postProcess(sig int, info sigInfo) {
	p.mu.Lock()
	var target *Thread
	for _, t := range p.threads {
		if target == nil || t.sig.mask.Load()&bit(sig) == 0 {
			target = t
			if t.sig.mask.Load()&bit(sig) == 0 {
				break
			}
		}
	}
	p.mu.Unlock()
	if target != nil {
		target.post(sig, info)
	}
}

func defaultIgnored(sig int) bool {
	switch sig {
	case 17, 18, 23, 28: // CHLD CONT URG WINCH
		return true
	}
	return false
}

// stopSignal: the signals whose default action stops the process.
func stopSignal(sig int) bool {
	switch sig {
	case linux.SIGSTOP, linux.SIGTSTP, linux.SIGTTIN, linux.SIGTTOU:
		return true
	}
	return false
}

// stop stops the application (a stop signal's default action): every
// thread leaves user mode and waits in waitStopped until SIGCONT.
func (p *Process) stop() {
	p.clearPending(bit(linux.SIGCONT))
	p.mu.Lock()
	if p.stopped == nil {
		p.stopped = make(chan struct{})
	}
	ts := make([]*Thread, 0, len(p.threads))
	for _, t := range p.threads {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.interrupt()
	}
}

// resume continues a stopped application.
func (p *Process) resume() {
	p.clearPending(bit(linux.SIGSTOP) | bit(linux.SIGTSTP) | bit(linux.SIGTTIN) | bit(linux.SIGTTOU))
	p.mu.Lock()
	if p.stopped != nil {
		close(p.stopped)
		p.stopped = nil
	}
	p.mu.Unlock()
}

func (p *Process) clearPending(set uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.threads {
		t.sig.pending.And(^set)
	}
}

// waitStopped blocks t while the process is stopped; it returns true if
// it waited (pending signals need another look: SIGKILL, SIGCONT's
// handler).
func (t *Thread) waitStopped() bool {
	waited := false
	for !t.exiting.Load() {
		t.p.mu.Lock()
		ch := t.p.stopped
		t.p.mu.Unlock()
		if ch == nil || t.sig.pending.Load()&bit(linux.SIGKILL) != 0 {
			break
		}
		waited = true
		select {
		case <-ch:
		case <-t.intr:
		case <-t.p.done:
		}
	}
	return waited
}

// deliverSignals runs after every return to the kernel: it delivers one
// pending, unblocked signal (its handler runs next in user mode) and
// settles an interrupted system call; while the application is stopped
// (SIGSTOP) the thread waits here.
func (t *Thread) deliverSignals() {
	// The common case, checked without locks: no signal pending, no kick
	// (a stop or an exit kicks every thread) and no call to restart.
	r0 := int64(t.u.X[abi.RegA0])
	if t.sig.pending.Load() == 0 && atomic.LoadUint32(&t.u.Kick) == 0 && r0 != -errRestart && r0 != -errRestartNoHand {
		return
	}
	t.deliverPending()
	for t.waitStopped() && !t.exiting.Load() {
		t.deliverPending()
	}
}

func (t *Thread) deliverPending() {
	r0 := int64(t.u.X[abi.RegA0])
	restarting := (r0 == -errRestart || r0 == -errRestartNoHand) && t.u.Cause == linux.EnvironmentCallFromUMode
	for {
		pend := t.sig.pending.Load() &^ (t.sig.mask.Load() &^ unblockable)
		if pend == 0 {
			break
		}
		sig := 1
		for pend&1 == 0 {
			pend >>= 1
			sig++
		}
		t.sig.pending.And(^bit(sig))
		t.sig.mu.Lock()
		info := t.sig.info[sig]
		t.sig.mu.Unlock()
		act := t.p.sigs.get(sig)
		if act.handler == linux.SIG_IGN || (act.handler == linux.SIG_DFL && defaultIgnored(sig)) {
			continue
		}
		if sig == linux.SIGSTOP || (act.handler == linux.SIG_DFL && stopSignal(sig)) {
			t.p.stop()
			continue
		}
		if act.handler == linux.SIG_DFL || sig == linux.SIGKILL {
			t.p.fatalSignal(t, sig, info)
			return
		}
		if restarting {
			restarting = false
			if act.flags&linux.SA_RESTART != 0 && r0 == -errRestart {
				t.u.PC -= 4
				t.u.X[abi.RegA0] = t.callA0
			} else {
				t.u.X[abi.RegA0] = uint64(errno(linux.EINTR))
			}
		}
		if !t.setupFrame(sig, info, act) {
			t.p.fatalSignal(t, linux.SIGSEGV, sigInfo{code: 1, addr: t.u.X[abi.RegSP]})
			return
		}
		// The kick that brought the signal is dealt with: left set, it
		// sent the thread straight back here from EnterUser once more
		// (two more trips through the hart layer for every SIGURG the Go
		// runtime preempts a goroutine with).
		t.settleKick()
		return
	}
	if restarting { // interrupted, but nothing to run: restart quietly
		t.u.PC -= 4
		t.u.X[abi.RegA0] = t.callA0
	}
	t.settleKick()
}

// settleKick clears the thread's kick once this return to the kernel has
// dealt with it, and sets it again if something that kicks came
// meanwhile: a signal it may take now, an exit or a stop. Each of those
// is recorded before its kick, so a kick stored before the clear is seen
// by the re-check after it.
func (t *Thread) settleKick() {
	atomic.StoreUint32(&t.u.Kick, 0)
	if t.sig.pending.Load()&^(t.sig.mask.Load()&^unblockable) != 0 || t.exiting.Load() || t.p.stopping() {
		atomic.StoreUint32(&t.u.Kick, 1)
	}
}

// stopping reports whether a stop (SIGSTOP and friends) is in force.
func (p *Process) stopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped != nil
}

// setupFrame builds the signal frame on the user stack and points the
// registers at the handler.
func (t *Thread) setupFrame(sig int, info sigInfo, act sigaction) bool {
	u := t.u
	sp := u.X[abi.RegSP]
	onAlt := t.sig.altOn && sp > t.sig.altSP && sp <= t.sig.altSP+t.sig.altSize
	if act.flags&linux.SA_ONSTACK != 0 && t.sig.altOn && !onAlt {
		sp = t.sig.altSP + t.sig.altSize
	}
	var f linux.RtSigframe
	sp = (sp - uint64(unsafe.Sizeof(f))) &^ 15
	f.Info.Signo, f.Info.Code, f.Info.Fields[0], f.Info.Fields[1] = int32(sig), info.code, info.addr, info.val
	uc := &f.UC
	uc.Stack = linux.StackT{SP: t.sig.altSP, Flags: linux.SS_DISABLE, Size: t.sig.altSize}
	if t.sig.altOn {
		uc.Stack.Flags = 0
		if onAlt {
			uc.Stack.Flags = linux.SS_ONSTACK
		}
	}
	oldMask := t.sig.mask.Load()
	if t.sig.hasSavedMask {
		oldMask, t.sig.hasSavedMask = t.sig.savedMask, false
	}
	uc.Sigmask = oldMask
	uc.MContext.Regs[0] = u.PC
	copy(uc.MContext.Regs[1:], u.X[:])
	copy(uc.MContext.FP.F[:32], u.F[:])
	uc.MContext.FP.FCSR = uint32(u.FCSR)
	if t.p.cpu.CopyOut(uintptr(sp), linux.AsBytes(&f)) != 0 {
		return false
	}
	newMask := oldMask | act.mask
	if act.flags&linux.SA_NODEFER == 0 {
		newMask |= bit(sig)
	}
	t.sig.mask.Store(newMask &^ unblockable)
	if act.flags&linux.SA_RESETHAND != 0 {
		t.p.sigs.mu.Lock()
		t.p.sigs.act[sig] = sigaction{}
		t.p.sigs.mu.Unlock()
	}
	u.PC = act.handler
	u.X[abi.RegRA] = uint64(t.p.sigs.trampoline)
	u.X[abi.RegSP] = sp
	u.X[abi.RegA0] = uint64(sig)
	u.X[abi.RegA1] = sp
	u.X[abi.RegA2] = sp + uint64(unsafe.Offsetof(f.UC))
	return true
}

// fault turns a trap the hart layer could not resolve into a signal.
func (t *Thread) fault(cause uint64) {
	sig, code := linux.SIGSEGV, int32(linux.SEGV_MAPERR)
	switch cause {
	case linux.IllegalInstruction:
		sig, code = linux.SIGILL, linux.ILL_ILLOPC
	case linux.Breakpoint:
		sig, code = linux.SIGTRAP, linux.TRAP_BRKPT
	case linux.InstructionAddressMisaligned, linux.LoadAddressMisaligned, linux.StoreAMOAddressMisaligned:
		sig, code = linux.SIGBUS, linux.BUS_ADRALN
	case linux.InstructionAccessFault, linux.LoadAccessFault, linux.StoreAMOAccessFault:
		code = linux.SEGV_ACCERR
	case linux.InstructionPageFault, linux.LoadPageFault, linux.StoreAMOPageFault:
	default:
		t.p.logf("thread %d: unexpected trap cause %#x at pc %#x", t.tid, cause, t.u.PC)
	}
	info := sigInfo{code: code, addr: t.u.Tval}
	// A fault that is blocked or ignored cannot be survived: the default
	// action applies, as on Linux.
	act := t.p.sigs.get(sig)
	if t.sig.mask.Load()&bit(sig) != 0 || act.handler == linux.SIG_IGN || act.handler == linux.SIG_DFL {
		t.p.fatalSignal(t, sig, info)
		return
	}
	t.post(sig, info)
}

// fatalSignal ends the process as the signal's default action, with a
// report on the operator's console.
func (p *Process) fatalSignal(t *Thread, sig int, info sigInfo) {
	if p.exiting() {
		return
	}
	msg := fmt.Sprintf("app killed by %s (signal %d)", sigName(sig), sig)
	if info.code > 0 && (sig == linux.SIGSEGV || sig == linux.SIGBUS || sig == linux.SIGILL || sig == linux.SIGTRAP) {
		pc := t.u.PC
		msg += fmt.Sprintf(" at pc %#x", pc)
		if p.cfg.Symbolize != nil {
			if s := p.cfg.Symbolize(pc); s != "" {
				msg += " (" + s + ")"
			}
		}
		msg += fmt.Sprintf(", fault address %#x, thread %d", info.addr, t.tid)
	}
	p.logf("%s; exit status %d", msg, 128+sig)
	if info.code > 0 && sig != linux.SIGABRT {
		p.logBacktrace(t) // backtrace.go
	}
	p.exit(128 + sig)
}

// sigName names a signal for crash reports ("SIGSEGV", or "signal 40").
func sigName(sig int) string {
	if n := linux.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", sig)
}

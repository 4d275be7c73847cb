package posix

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
)

// Signals: actions per process, masks and pending sets per thread, and
// delivery with the Linux riscv64 signal frame, so Go's runtime (SIGURG
// preemption, SIGSEGV → nil-pointer panic) and C handlers work unchanged.

var signalCalls = []entry{
	{nr: 134, name: "rt_sigaction", fn: sysRtSigaction},
	{nr: 135, name: "rt_sigprocmask", fn: sysRtSigprocmask},
	{nr: 132, name: "sigaltstack", fn: sysSigaltstack},
	{nr: 139, name: "rt_sigreturn", fn: sysRtSigreturn},
	{nr: 136, name: "rt_sigpending", fn: sysRtSigpending},
	{nr: 133, name: "rt_sigsuspend", fn: sysRtSigsuspend},
	{nr: 129, name: "kill", fn: sysKill, level: Partial, note: "to its own process only"},
	{nr: 130, name: "tkill", fn: sysTkill},
	{nr: 131, name: "tgkill", fn: sysTgkill},
}

const (
	nsig = 64

	sigKill = 9
	sigSegv = 11
	sigStop = 19

	saSiginfo   = 0x4
	saOnstack   = 0x08000000
	saRestart   = 0x10000000
	saNodefer   = 0x40000000
	saResethand = 0x80000000

	sigDfl = 0
	sigIgn = 1

	ssOnstack = 1
	ssDisable = 2

	// Linux riscv64 rt_sigframe: siginfo (128 bytes), then ucontext with
	// uc_mcontext at 176: 32 registers (pc, x1..x31), then the FP state
	// (f0-f31, fcsr) in a 528-byte union.
	siginfoSize  = 128
	ucMask       = 40
	ucStack      = 16
	ucMcontext   = 176
	ucFP         = ucMcontext + 256
	ucontextSize = ucFP + 528
	frameSize    = siginfoSize + ucontextSize
)

var sigNames = map[int]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
	7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
	13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 17: "SIGCHLD", 23: "SIGURG", 28: "SIGWINCH",
}

func sigName(sig int) string {
	if n, ok := sigNames[sig]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", sig)
}

type sigaction struct {
	handler, flags, mask uint64
}

type sigTable struct {
	mu         sync.Mutex
	act        [nsig + 1]sigaction
	trampoline uintptr // user page: li a7, 139; ecall
}

// init maps the sigreturn trampoline that handlers return to (Linux puts
// it in the vDSO; Runikraft has none).
func (s *sigTable) init(cpu CPU) error {
	addr, e := cpu.Map(0, pageSize, protRead|protWrite, 0)
	if e != 0 {
		return fmt.Errorf("map sigreturn trampoline: %w", e)
	}
	code := []byte{0x93, 0x08, 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00} // li a7, 139; ecall
	if e := cpu.CopyOut(addr, code); e != 0 {
		return fmt.Errorf("write sigreturn trampoline: %w", e)
	}
	if e := cpu.Protect(addr, pageSize, protRead|protExec); e != 0 {
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
	addr uint64 // fault address, or sender pid/uid packed for SI_USER
}

type threadSignals struct {
	mask    atomic.Uint64
	pending atomic.Uint64
	mu      sync.Mutex
	info    [nsig + 1]sigInfo
	altSP   uint64
	altSize uint64
	altOn   bool
	// savedMask is restored by sigreturn after rt_sigsuspend.
	savedMask    uint64
	hasSavedMask bool
}

func bit(sig int) uint64 { return 1 << uint(sig-1) }

const unblockable = 1<<(sigKill-1) | 1<<(sigStop-1)

// post queues sig for t and makes it look.
func (t *Thread) post(sig int, info sigInfo) {
	t.sig.mu.Lock()
	t.sig.info[sig] = info
	t.sig.mu.Unlock()
	t.sig.pending.Or(bit(sig))
	if t.sig.mask.Load()&bit(sig) == 0 || bit(sig)&unblockable != 0 {
		t.interrupt()
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
	case 17, 18, 19, 20, 21, 22, 23, 28: // CHLD CONT STOP TSTP TTIN TTOU URG WINCH
		return true
	}
	return false
}

// deliverSignals runs after every return to the kernel: it delivers one
// pending, unblocked signal (its handler runs next in user mode) and
// settles an interrupted system call.
func (t *Thread) deliverSignals() {
	restarting := int64(t.u.X[rA0]) == -errRestart && t.u.Cause == causeEcallU
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
		if act.handler == sigIgn || (act.handler == sigDfl && defaultIgnored(sig)) {
			continue
		}
		if act.handler == sigDfl || sig == sigKill {
			t.p.fatalSignal(t, sig, info)
			return
		}
		if restarting {
			restarting = false
			if act.flags&saRestart != 0 {
				t.u.PC -= 4
				t.u.X[rA0] = t.callA0
			} else {
				t.u.X[rA0] = uint64(errno(syscall.EINTR))
			}
		}
		if !t.setupFrame(sig, info, act) {
			t.p.fatalSignal(t, sigSegv, sigInfo{code: 1, addr: t.u.X[rSP]})
		}
		return
	}
	if restarting { // interrupted, but nothing to run: restart quietly
		t.u.PC -= 4
		t.u.X[rA0] = t.callA0
	}
	atomic.StoreUint32(&t.u.Kick, 0)
	// A signal posted between the check and the store is seen next time:
	// post sets pending before it kicks.
	if t.sig.pending.Load()&^(t.sig.mask.Load()&^unblockable) != 0 {
		atomic.StoreUint32(&t.u.Kick, 1)
	}
}

// setupFrame builds the signal frame on the user stack and points the
// registers at the handler.
func (t *Thread) setupFrame(sig int, info sigInfo, act sigaction) bool {
	u := t.u
	sp := u.X[rSP]
	onAlt := t.sig.altOn && sp > t.sig.altSP && sp <= t.sig.altSP+t.sig.altSize
	if act.flags&saOnstack != 0 && t.sig.altOn && !onAlt {
		sp = t.sig.altSP + t.sig.altSize
	}
	sp = (sp - frameSize) &^ 15
	var f [frameSize]byte
	le := binary.LittleEndian
	le.PutUint32(f[0:], uint32(sig))
	le.PutUint32(f[8:], uint32(info.code))
	le.PutUint64(f[16:], info.addr)
	uc := f[siginfoSize:]
	le.PutUint64(uc[ucStack:], t.sig.altSP)
	flags := uint32(ssDisable)
	if t.sig.altOn {
		flags = 0
		if onAlt {
			flags = ssOnstack
		}
	}
	le.PutUint32(uc[ucStack+8:], flags)
	le.PutUint64(uc[ucStack+16:], t.sig.altSize)
	oldMask := t.sig.mask.Load()
	if t.sig.hasSavedMask {
		oldMask, t.sig.hasSavedMask = t.sig.savedMask, false
	}
	le.PutUint64(uc[ucMask:], oldMask)
	le.PutUint64(uc[ucMcontext:], u.PC)
	for i := 0; i < 31; i++ {
		le.PutUint64(uc[ucMcontext+8+8*i:], u.X[i])
	}
	for i := 0; i < 32; i++ {
		le.PutUint64(uc[ucFP+8*i:], u.F[i])
	}
	le.PutUint32(uc[ucFP+256:], uint32(u.FCSR))
	if t.p.cpu.CopyOut(uintptr(sp), f[:]) != 0 {
		return false
	}
	newMask := oldMask | act.mask
	if act.flags&saNodefer == 0 {
		newMask |= bit(sig)
	}
	t.sig.mask.Store(newMask &^ unblockable)
	if act.flags&saResethand != 0 {
		t.p.sigs.mu.Lock()
		t.p.sigs.act[sig] = sigaction{}
		t.p.sigs.mu.Unlock()
	}
	u.PC = act.handler
	u.X[rRA] = uint64(t.p.sigs.trampoline)
	u.X[rSP] = sp
	u.X[rA0] = uint64(sig)
	u.X[rA1] = sp
	u.X[rA2] = sp + siginfoSize
	return true
}

func sysRtSigreturn(t *Thread, _ *[6]uint64) int64 {
	sp := uintptr(t.u.X[rSP])
	var uc [ucontextSize]byte
	if t.p.cpu.CopyIn(uc[:], sp+siginfoSize) != 0 {
		t.p.fatalSignal(t, sigSegv, sigInfo{code: 1, addr: uint64(sp)})
		return noReturn
	}
	le := binary.LittleEndian
	t.u.PC = le.Uint64(uc[ucMcontext:])
	for i := 0; i < 31; i++ {
		t.u.X[i] = le.Uint64(uc[ucMcontext+8+8*i:])
	}
	for i := 0; i < 32; i++ {
		t.u.F[i] = le.Uint64(uc[ucFP+8*i:])
	}
	t.u.FCSR = uint64(le.Uint32(uc[ucFP+256:]))
	t.sig.mask.Store(le.Uint64(uc[ucMask:]) &^ unblockable)
	return noReturn
}

// fault turns a trap the hart layer could not resolve into a signal.
func (t *Thread) fault(cause uint64) {
	sig, code := sigSegv, int32(1) // SEGV_MAPERR
	switch cause {
	case causeIllegal:
		sig, code = 4, 1 // SIGILL, ILL_ILLOPC
	case causeBreakpoint:
		sig, code = 5, 1 // SIGTRAP, TRAP_BRKPT
	case causeInstMisaligned, causeLoadMisaligned, causeStoreMisaligned:
		sig, code = 7, 1 // SIGBUS, BUS_ADRALN
	case causeInstAccess, causeLoadAccess, causeStoreAccess:
		code = 2 // SEGV_ACCERR
	case causeInstPage, causeLoadPage, causeStorePage:
	default:
		t.p.logf("thread %d: unexpected trap cause %#x at pc %#x", t.tid, cause, t.u.PC)
	}
	info := sigInfo{code: code, addr: t.u.Tval}
	// A fault that is blocked or ignored cannot be survived: the default
	// action applies, as on Linux.
	act := t.p.sigs.get(sig)
	if t.sig.mask.Load()&bit(sig) != 0 || act.handler == sigIgn || act.handler == sigDfl {
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
	if info.code > 0 && (sig == sigSegv || sig == 7 || sig == 4 || sig == 5) {
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
	if info.code > 0 && sig != 6 {
		p.logBacktrace(t) // backtrace.go
	}
	p.exit(128 + sig)
}

func sysRtSigaction(t *Thread, a *[6]uint64) int64 {
	sig, act, old := int(a[0]), uintptr(a[1]), uintptr(a[2])
	if sig < 1 || sig > nsig || a[3] != 8 {
		return errno(syscall.EINVAL)
	}
	s := &t.p.sigs
	var in [24]byte
	if act != 0 {
		if sig == sigKill || sig == sigStop {
			return errno(syscall.EINVAL)
		}
		if e := t.p.cpu.CopyIn(in[:], act); e != 0 {
			return errno(e)
		}
	}
	s.mu.Lock()
	prev := s.act[sig]
	if act != 0 {
		le := binary.LittleEndian
		s.act[sig] = sigaction{le.Uint64(in[0:]), le.Uint64(in[8:]), le.Uint64(in[16:]) &^ unblockable}
	}
	s.mu.Unlock()
	if old != 0 {
		var out [24]byte
		le := binary.LittleEndian
		le.PutUint64(out[0:], prev.handler)
		le.PutUint64(out[8:], prev.flags)
		le.PutUint64(out[16:], prev.mask)
		if e := t.p.cpu.CopyOut(old, out[:]); e != 0 {
			return errno(e)
		}
	}
	return 0
}

func sysRtSigprocmask(t *Thread, a *[6]uint64) int64 {
	how, set, old := a[0], uintptr(a[1]), uintptr(a[2])
	if a[3] != 8 {
		return errno(syscall.EINVAL)
	}
	cur := t.sig.mask.Load()
	if old != 0 {
		if e := t.put64(old, cur); e != 0 {
			return errno(e)
		}
	}
	if set == 0 {
		return 0
	}
	v, e := t.get64(set)
	if e != 0 {
		return errno(e)
	}
	switch how {
	case 0: // SIG_BLOCK
		cur |= v
	case 1: // SIG_UNBLOCK
		cur &^= v
	case 2: // SIG_SETMASK
		cur = v
	default:
		return errno(syscall.EINVAL)
	}
	t.sig.mask.Store(cur &^ unblockable)
	return 0
}

func sysRtSigpending(t *Thread, a *[6]uint64) int64 {
	return errno(t.put64(uintptr(a[0]), t.sig.pending.Load()&t.sig.mask.Load()))
}

// sysRtSigsuspend waits with a temporary mask until a signal is delivered;
// the handler's sigreturn restores the old mask.
func sysRtSigsuspend(t *Thread, a *[6]uint64) int64 {
	m, e := t.get64(uintptr(a[0]))
	if e != 0 {
		return errno(e)
	}
	t.sig.savedMask, t.sig.hasSavedMask = t.sig.mask.Load(), true
	t.sig.mask.Store(m &^ unblockable)
	for t.sig.pending.Load()&^t.sig.mask.Load() == 0 {
		select {
		case <-t.intr:
		case <-t.p.done:
			return errno(syscall.EINTR)
		}
	}
	return errno(syscall.EINTR)
}

func sysSigaltstack(t *Thread, a *[6]uint64) int64 {
	ss, old := uintptr(a[0]), uintptr(a[1])
	sp := t.u.X[rSP]
	on := t.sig.altOn && sp > t.sig.altSP && sp <= t.sig.altSP+t.sig.altSize
	if old != 0 {
		var b [24]byte
		le := binary.LittleEndian
		le.PutUint64(b[0:], t.sig.altSP)
		flags := uint32(ssDisable)
		if t.sig.altOn {
			flags = 0
		}
		if on {
			flags = ssOnstack
		}
		le.PutUint32(b[8:], flags)
		le.PutUint64(b[16:], t.sig.altSize)
		if e := t.p.cpu.CopyOut(old, b[:]); e != 0 {
			return errno(e)
		}
	}
	if ss == 0 {
		return 0
	}
	if on {
		return errno(syscall.EPERM)
	}
	var b [24]byte
	if e := t.p.cpu.CopyIn(b[:], ss); e != 0 {
		return errno(e)
	}
	le := binary.LittleEndian
	flags := le.Uint32(b[8:])
	if flags&ssDisable != 0 {
		t.sig.altOn = false
		return 0
	}
	size := le.Uint64(b[16:])
	if size < 2048 {
		return errno(syscall.ENOMEM)
	}
	t.sig.altSP, t.sig.altSize, t.sig.altOn = le.Uint64(b[0:]), size, true
	return 0
}

func sysKill(t *Thread, a *[6]uint64) int64 {
	pid, sig := int64(a[0]), int(a[1])
	if pid != Pid && pid != 0 && pid != -1 && pid != -Pid {
		return errno(syscall.ESRCH)
	}
	if sig < 0 || sig > nsig {
		return errno(syscall.EINVAL)
	}
	if sig != 0 {
		t.p.postProcess(sig, sigInfo{code: 0, addr: Pid})
	}
	return 0
}

func (t *Thread) signalThread(tid, sig int) int64 {
	if sig < 0 || sig > nsig {
		return errno(syscall.EINVAL)
	}
	target := t.p.thread(tid)
	if target == nil {
		return errno(syscall.ESRCH)
	}
	if sig != 0 {
		target.post(sig, sigInfo{code: -6, addr: Pid}) // SI_TKILL
	}
	return 0
}

func sysTkill(t *Thread, a *[6]uint64) int64 { return t.signalThread(int(a[0]), int(a[1])) }

func sysTgkill(t *Thread, a *[6]uint64) int64 {
	if a[0] != Pid {
		return errno(syscall.ESRCH)
	}
	return t.signalThread(int(a[1]), int(a[2]))
}

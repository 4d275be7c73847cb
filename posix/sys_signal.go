package posix

import (
	"encoding/binary"
	"math/bits"
	"time"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// sysRtSigreturn implements rt_sigreturn(2): the registers and mask
// come back from the frame setupFrame pushed.
func sysRtSigreturn(t *Thread, _ *[6]uint64) int64 {
	sp := uintptr(t.u.X[abi.RegSP])
	var uc linux.UContext
	if t.p.cpu.CopyIn(linux.AsBytes(&uc), sp+unsafe.Offsetof(linux.RtSigframe{}.UC)) != 0 {
		t.p.fatalSignal(t, linux.SIGSEGV, sigInfo{code: linux.SEGV_MAPERR, addr: uint64(sp)})
		return noReturn
	}
	t.u.PC = uc.MContext.Regs[0]
	copy(t.u.X[:], uc.MContext.Regs[1:])
	copy(t.u.F[:], uc.MContext.FP.F[:32])
	t.u.FCSR = uint64(uc.MContext.FP.FCSR)
	t.sig.mask.Store(uc.Sigmask &^ unblockable)
	return noReturn
}

// sysRtSigaction implements rt_sigaction(2).
func sysRtSigaction(t *Thread, a *[6]uint64) int64 {
	sig, act, old := int(a[0]), uintptr(a[1]), uintptr(a[2])
	if sig < 1 || sig > linux.NSIG || a[3] != linux.SigsetSize {
		return errno(linux.EINVAL)
	}
	s := &t.p.sigs
	var in [24]byte
	if act != 0 {
		if sig == linux.SIGKILL || sig == linux.SIGSTOP {
			return errno(linux.EINVAL)
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

// sysRtSigprocmask implements rt_sigprocmask(2).
func sysRtSigprocmask(t *Thread, a *[6]uint64) int64 {
	how, set, old := a[0], uintptr(a[1]), uintptr(a[2])
	if a[3] != linux.SigsetSize {
		return errno(linux.EINVAL)
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
		return errno(linux.EINVAL)
	}
	t.sig.mask.Store(cur &^ unblockable)
	return 0
}

// sysRtSigpending implements rt_sigpending(2): Linux takes any size up
// to its sigset_t and writes that many bytes.
func sysRtSigpending(t *Thread, a *[6]uint64) int64 {
	if a[1] > linux.SigsetSize {
		return errno(linux.EINVAL)
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], t.sig.pending.Load()&t.sig.mask.Load())
	return errno(t.p.cpu.CopyOut(uintptr(a[0]), b[:a[1]]))
}

// sysRtSigsuspend waits with a temporary mask until a signal is delivered;
// the handler's sigreturn restores the old mask.
func sysRtSigsuspend(t *Thread, a *[6]uint64) int64 {
	if a[1] != linux.SigsetSize {
		return errno(linux.EINVAL)
	}
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
			return errno(linux.EINTR)
		}
	}
	return errno(linux.EINTR)
}

// sysSigaltstack implements sigaltstack(2).
func sysSigaltstack(t *Thread, a *[6]uint64) int64 {
	ss, old := uintptr(a[0]), uintptr(a[1])
	sp := t.u.X[abi.RegSP]
	on := t.sig.altOn && sp > t.sig.altSP && sp <= t.sig.altSP+t.sig.altSize
	if old != 0 {
		var b [24]byte
		le := binary.LittleEndian
		le.PutUint64(b[0:], t.sig.altSP)
		flags := uint32(linux.SS_DISABLE)
		if t.sig.altOn {
			flags = 0
		}
		if on {
			flags = linux.SS_ONSTACK
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
		return errno(linux.EPERM)
	}
	var b [24]byte
	if e := t.p.cpu.CopyIn(b[:], ss); e != 0 {
		return errno(e)
	}
	le := binary.LittleEndian
	flags := le.Uint32(b[8:])
	if flags&linux.SS_DISABLE != 0 {
		t.sig.altOn = false
		return 0
	}
	size := le.Uint64(b[16:])
	if size < 2048 {
		return errno(linux.ENOMEM)
	}
	t.sig.altSP, t.sig.altSize, t.sig.altOn = le.Uint64(b[0:]), size, true
	return 0
}

// sysKill implements kill(2).
func sysKill(t *Thread, a *[6]uint64) int64 {
	pid, sig := int64(a[0]), int(a[1])
	if pid != Pid && pid != 0 && pid != -1 && pid != -Pid {
		return errno(linux.ESRCH)
	}
	if sig < 0 || sig > linux.NSIG {
		return errno(linux.EINVAL)
	}
	if sig != 0 {
		t.p.postProcess(sig, sigInfo{code: 0, addr: Pid})
	}
	return 0
}

func (t *Thread) signalThread(tid, sig int) int64 {
	if sig < 0 || sig > linux.NSIG {
		return errno(linux.EINVAL)
	}
	target := t.p.thread(tid)
	if target == nil {
		return errno(linux.ESRCH)
	}
	if sig != 0 {
		target.post(sig, sigInfo{code: -6, addr: Pid}) // SI_TKILL
	}
	return 0
}

// sysTkill implements tkill(2).
func sysTkill(t *Thread, a *[6]uint64) int64 { return t.signalThread(int(a[0]), int(a[1])) }

// sysTgkill implements tgkill(2).
func sysTgkill(t *Thread, a *[6]uint64) int64 {
	if a[0] != Pid {
		return errno(linux.ESRCH)
	}
	return t.signalThread(int(a[1]), int(a[2]))
}

// sysRtSigtimedwait implements rt_sigtimedwait(2): it takes one pending
// signal of the set (blocked ones included: that is how sigwait is used)
// without running a handler; EAGAIN when the timeout passes.
func sysRtSigtimedwait(t *Thread, a *[6]uint64) int64 {
	if a[3] != linux.SigsetSize {
		return errno(linux.EINVAL)
	}
	set, e := t.get64(uintptr(a[0]))
	if e != 0 {
		return errno(e)
	}
	set &^= unblockable
	timeout, e := t.timeoutArg(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	var deadline <-chan time.Time
	if timeout >= 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		deadline = tm.C
	}
	t.sig.waiting.Store(set)
	defer t.sig.waiting.Store(0)
	for {
		if pend := t.sig.pending.Load() & set; pend != 0 {
			sig := bits.TrailingZeros64(pend) + 1
			if t.sig.pending.And(^bit(sig))&bit(sig) == 0 {
				continue // taken by a concurrent delivery
			}
			t.sig.mu.Lock()
			info := t.sig.info[sig]
			t.sig.mu.Unlock()
			if a[1] != 0 {
				var si linux.SigInfo
				si.Signo, si.Code, si.Fields[0], si.Fields[1] = int32(sig), info.code, info.addr, info.val
				if e := t.p.cpu.CopyOut(uintptr(a[1]), linux.AsBytes(&si)); e != 0 {
					return errno(e)
				}
			}
			return int64(sig)
		}
		// Anything else that may run a handler interrupts the wait.
		if t.sig.pending.Load()&^t.sig.mask.Load()&^set != 0 {
			return -errRestartNoHand
		}
		select {
		case <-t.intr:
		case <-deadline:
			return errno(linux.EAGAIN)
		case <-t.p.done:
			return errno(linux.EINTR)
		}
	}
}

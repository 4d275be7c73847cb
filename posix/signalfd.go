package posix

import (
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// signalfd reads pending signals of its mask as signalfd_siginfo records
// instead of having them delivered (the program blocks them first). A
// read takes the reader's own pending signals first, then any thread's
// (process-directed signals wait in one thread's set here).
type signalfd struct {
	fileDefaults
	p    *Process
	mask atomic.Uint64
}

func (s *signalfd) pendingFor(t *Thread) uint64 { return t.sig.pending.Load() & s.mask.Load() }

func (s *signalfd) Ready() uint32 {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	for _, t := range s.p.threads {
		if s.pendingFor(t) != 0 {
			return linux.POLLIN
		}
	}
	return 0
}

func (s *signalfd) waitQueue() *waitQueue { return &s.p.sigwq }
func (s *signalfd) Stat() fs.Stat         { return anonStat(0o600) }
func (s *signalfd) Name(*Process) string  { return "anon_inode:[signalfd]" }

// take dequeues one signal of the mask, from t first.
func (s *signalfd) take(t *Thread) (int, sigInfo, bool) {
	from := []*Thread{t}
	s.p.mu.Lock()
	for _, o := range s.p.threads {
		if o != t {
			from = append(from, o)
		}
	}
	s.p.mu.Unlock()
	for _, o := range from {
		for pend := s.pendingFor(o); pend != 0; pend = s.pendingFor(o) {
			sig := bits.TrailingZeros64(pend) + 1
			if o.sig.pending.And(^bit(sig))&bit(sig) == 0 {
				continue // delivered meanwhile
			}
			o.sig.mu.Lock()
			info := o.sig.info[sig]
			o.sig.mu.Unlock()
			return sig, info, true
		}
	}
	return 0, sigInfo{}, false
}

func (s *signalfd) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	const rec = 128 // sizeof(struct signalfd_siginfo)
	if len(p) < rec {
		return 0, linux.EINVAL
	}
	timeout := time.Duration(-1)
	if nonblock {
		timeout = 0
	}
	n := 0
	for n+rec <= len(p) {
		sig, info, ok := s.take(t)
		if !ok {
			if n > 0 {
				break
			}
			ready, err := t.waitReady([]pollable{s}, timeout, func() bool { return s.Ready() != 0 })
			if err != 0 {
				return 0, err
			}
			if !ready {
				return 0, linux.EAGAIN
			}
			continue
		}
		si := linux.SignalfdSiginfo{Signo: uint32(sig), Code: info.code}
		switch info.code {
		case linux.SI_TIMER:
			si.Tid, si.Overrun, si.Ptr = uint32(info.addr), uint32(info.addr>>32), info.val
			si.Int = int32(info.val)
		case linux.SI_USER, linux.SI_TKILL:
			si.Pid, si.Uid = uint32(info.addr), uint32(info.addr>>32)
		default:
			si.Addr = info.addr
		}
		copy(p[n:], linux.AsBytes(&si))
		n += rec
	}
	return n, 0
}

// sysSignalfd4 implements signalfd4(2).
func sysSignalfd4(t *Thread, a *[6]uint64) int64 {
	fd, flags := int32(a[0]), a[3]
	if a[2] != linux.SigsetSize || flags&^uint64(linux.SFD_CLOEXEC|linux.SFD_NONBLOCK) != 0 {
		return errno(linux.EINVAL)
	}
	mask, e := t.get64(uintptr(a[1]))
	if e != 0 {
		return errno(e)
	}
	mask &^= unblockable
	if fd != -1 {
		of, e := t.fd(uint64(fd))
		if e != 0 {
			return errno(e)
		}
		s, ok := of.f.(*signalfd)
		if !ok {
			return errno(linux.EINVAL)
		}
		s.mask.Store(mask)
		t.p.sigwq.notify()
		return int64(fd)
	}
	s := &signalfd{p: t.p}
	s.mask.Store(mask)
	nfd, e := t.p.fds.install(newOpenFile(s, linux.O_RDWR|uint32(flags)&linux.O_NONBLOCK), 0, flags&linux.SFD_CLOEXEC != 0)
	if e != 0 {
		return errno(e)
	}
	return int64(nfd)
}

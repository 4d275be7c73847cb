package posix

import (
	"encoding/binary"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Readiness: eventfd, epoll, ppoll and pselect6 over pollable files. Go's
// netpoller in the application sleeps in epoll_pwait and is woken through
// an eventfd, exactly as on Linux.

// withSigmask runs a wait with a temporary signal mask (the p* calls);
// a mask whose size is not the kernel's sigset_t is EINVAL, as on Linux.
func (t *Thread) withSigmask(maskAddr uintptr, size uint64, wait func() int64) int64 {
	if maskAddr == 0 {
		if r := wait(); r != -errRestart {
			return r
		}
		return -errRestartNoHand // never restarted after a handler, as on Linux
	}
	if size != linux.SigsetSize {
		return errno(linux.EINVAL)
	}
	m, e := t.get64(maskAddr)
	if e != 0 {
		return errno(e)
	}
	old := t.sig.mask.Load()
	t.sig.mask.Store(m &^ unblockable)
	r := wait()
	if r == -errRestart {
		r = -errRestartNoHand // never restarted after a handler, as on Linux
	}
	if r == -errRestartNoHand || r == -int64(linux.EINTR) {
		// The handler runs with the temporary mask; sigreturn restores.
		t.sig.savedMask, t.sig.hasSavedMask = old, true
	} else {
		t.sig.mask.Store(old)
	}
	return r
}

// timeoutArg reads an optional timespec: nil means wait forever.
func (t *Thread) timeoutArg(addr uintptr) (time.Duration, Errno) {
	if addr == 0 {
		return -1, 0
	}
	return t.readTimespec(addr)
}

// sysPpoll implements ppoll(2).
func sysPpoll(t *Thread, a *[6]uint64) int64 {
	nfds := a[1]
	if nfds > maxFDs {
		return errno(linux.EINVAL)
	}
	raw := make([]byte, 8*nfds)
	if e := t.p.cpu.CopyIn(raw, uintptr(a[0])); e != 0 {
		return errno(e)
	}
	timeout, e := t.timeoutArg(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	return t.withSigmask(uintptr(a[3]), a[4], func() int64 {
		var files []pollable
		for i := uint64(0); i < nfds; i++ {
			if of, e := t.fd(uint64(int32(binary.LittleEndian.Uint32(raw[8*i:])))); e == 0 {
				files = append(files, of.f)
			}
		}
		n := 0
		check := func() bool {
			n = 0
			for i := uint64(0); i < nfds; i++ {
				fd := int32(binary.LittleEndian.Uint32(raw[8*i:]))
				want := uint32(binary.LittleEndian.Uint16(raw[8*i+4:]))
				var rev uint32
				if fd >= 0 {
					of, e := t.fd(uint64(fd))
					switch {
					case e != 0:
						rev = linux.POLLNVAL
					default:
						rev = of.f.Ready() & (want | epollAlways)
					}
				}
				binary.LittleEndian.PutUint16(raw[8*i+6:], uint16(rev))
				if rev != 0 {
					n++
				}
			}
			return n > 0
		}
		_, err := t.waitReady(files, timeout, check)
		if err != 0 {
			return errno(err)
		}
		if e := t.p.cpu.CopyOut(uintptr(a[0]), raw); e != 0 {
			return errno(e)
		}
		return int64(n)
	})
}

// sysPselect6 implements pselect6(2).
func sysPselect6(t *Thread, a *[6]uint64) int64 {
	nfds := int(a[0])
	if nfds < 0 || nfds > maxFDs {
		return errno(linux.EINVAL)
	}
	words := (nfds + 63) / 64
	sets := [3][]uint64{}
	for k := 0; k < 3; k++ {
		if a[1+k] == 0 {
			continue
		}
		raw := make([]byte, 8*words)
		if e := t.p.cpu.CopyIn(raw, uintptr(a[1+k])); e != 0 {
			return errno(e)
		}
		sets[k] = make([]uint64, words)
		for i := range sets[k] {
			sets[k][i] = binary.LittleEndian.Uint64(raw[8*i:])
		}
	}
	timeout, e := t.timeoutArg(uintptr(a[4]))
	if e != 0 {
		return errno(e)
	}
	var maskAddr uintptr
	var maskSize uint64
	if a[5] != 0 { // struct { const sigset_t *ss; size_t ss_len; }
		p, e := t.get64(uintptr(a[5]))
		if e != 0 {
			return errno(e)
		}
		if maskSize, e = t.get64(uintptr(a[5]) + 8); e != 0 {
			return errno(e)
		}
		maskAddr = uintptr(p)
	}
	return t.withSigmask(maskAddr, maskSize, func() int64 {
		var files []pollable
		for fd := 0; fd < nfds; fd++ {
			if of, e := t.fd(uint64(fd)); e == 0 {
				files = append(files, of.f)
			}
		}
		out := [3][]uint64{make([]uint64, words), make([]uint64, words), make([]uint64, words)}
		n := 0
		bad := false
		check := func() bool {
			n = 0
			for k := range out {
				clear(out[k])
			}
			for fd := 0; fd < nfds; fd++ {
				w, b := fd/64, uint64(1)<<(fd%64)
				asked := false
				for k := 0; k < 3; k++ {
					asked = asked || (sets[k] != nil && sets[k][w]&b != 0)
				}
				if !asked {
					continue
				}
				of, e := t.fd(uint64(fd))
				if e != 0 {
					bad = true
					return true
				}
				r := of.f.Ready()
				for k, bits := range []uint32{linux.POLLIN | linux.POLLHUP | linux.POLLERR, linux.POLLOUT | linux.POLLERR, linux.POLLPRI} {
					if sets[k] != nil && sets[k][w]&b != 0 && r&bits != 0 {
						out[k][w] |= b
						n++
					}
				}
			}
			return n > 0
		}
		_, err := t.waitReady(files, timeout, check)
		if bad {
			return errno(linux.EBADF)
		}
		if err != 0 {
			return errno(err)
		}
		for k := 0; k < 3; k++ {
			if sets[k] == nil {
				continue
			}
			raw := make([]byte, 8*words)
			for i, v := range out[k] {
				binary.LittleEndian.PutUint64(raw[8*i:], v)
			}
			if e := t.p.cpu.CopyOut(uintptr(a[1+k]), raw); e != 0 {
				return errno(e)
			}
		}
		return int64(n)
	})
}

package posix

import (
	"encoding/binary"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// sysEpollCreate1 implements epoll_create1(2).
func sysEpollCreate1(t *Thread, a *[6]uint64) int64 {
	if a[0]&^uint64(linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	ep := &epoll{interest: map[int]*epollItem{}}
	fd, e := t.p.fds.install(newOpenFile(ep, linux.O_RDWR), 0, a[0]&linux.O_CLOEXEC != 0)
	if e != 0 {
		return errno(e)
	}
	return int64(fd)
}

func (t *Thread) epollFD(fd uint64) (*epoll, Errno) {
	of, e := t.fd(fd)
	if e != 0 {
		return nil, e
	}
	ep, ok := of.f.(*epoll)
	if !ok {
		return nil, linux.EINVAL
	}
	return ep, 0
}

// sysEpollCtl implements epoll_ctl(2).
func sysEpollCtl(t *Thread, a *[6]uint64) int64 {
	const add, del, mod = linux.EPOLL_CTL_ADD, linux.EPOLL_CTL_DEL, linux.EPOLL_CTL_MOD
	ep, e := t.epollFD(a[0])
	if e != 0 {
		return errno(e)
	}
	fd := int(int32(a[2]))
	of, e := t.fd(a[2])
	if e != 0 {
		return errno(e)
	}
	if !epollable(of.f) {
		return errno(linux.EPERM) // like regular files on Linux
	}
	if of.f == File(ep) {
		return errno(linux.EINVAL)
	}
	if inner, ok := of.f.(*epoll); ok && a[1] == linux.EPOLL_CTL_ADD {
		// Nested epolls forward wake-ups outwards: refuse cycles (and
		// deep nests) as Linux does, or a wake-up would go round forever.
		epollNest.Lock()
		defer epollNest.Unlock()
		if inner.depth(ep, 0) {
			return errno(linux.ELOOP)
		}
	}
	var events uint32
	var data uint64
	if a[1] != del {
		var b [16]byte
		if e := t.p.cpu.CopyIn(b[:], uintptr(a[3])); e != 0 {
			return errno(e)
		}
		events, data = binary.LittleEndian.Uint32(b[:]), binary.LittleEndian.Uint64(b[8:])
	}
	ep.mu.Lock()
	it, exists := ep.live(fd)
	if exists && it.of != of { // fd now names another file: the old item is stale
		ep.drop(it)
		exists = false
	}
	switch a[1] {
	case add:
		if exists {
			ep.mu.Unlock()
			return errno(linux.EEXIST)
		}
		it := &epollItem{fd: fd, of: of, events: events, data: data, edge: &waiter{}}
		ep.watch(it) // reports the current state once
		ep.interest[fd] = it
	case mod:
		if !exists {
			ep.mu.Unlock()
			return errno(linux.ENOENT)
		}
		it.events, it.data = events, data
		it.edge.tok.Store(true) // re-arm: report the current state once more
		ep.markReady(it)
	case del:
		if !exists {
			ep.mu.Unlock()
			return errno(linux.ENOENT)
		}
		ep.drop(it)
	default:
		ep.mu.Unlock()
		return errno(linux.EINVAL)
	}
	ep.mu.Unlock()
	if a[1] != del {
		ep.wq.notify() // the file may be ready already: wake epoll_pwait
	}
	return 0
}

// sysEpollPwait implements epoll_pwait(2).
func sysEpollPwait(t *Thread, a *[6]uint64) int64 {
	ep, e := t.epollFD(a[0])
	if e != 0 {
		return errno(e)
	}
	max := int(int32(a[2]))
	if max <= 0 || max > 1<<16 {
		return errno(linux.EINVAL)
	}
	timeout := time.Duration(int32(a[3])) * time.Millisecond
	return t.withSigmask(uintptr(a[4]), a[5], func() int64 {
		// The events go through the thread's own arrays (t.evs, the
		// scratch page for up to 256): epoll_pwait runs for every batch
		// of requests a server handles.
		got := t.evs[:0]
		_, err := t.waitReady([]pollable{ep}, timeout, func() bool {
			got = ep.collectInto(got[:0], max)
			return len(got) > 0
		})
		t.evs = got[:0]
		if err != 0 {
			if err == ErrRestart {
				return errno(linux.EINTR) // epoll_wait is never restarted
			}
			return errno(err)
		}
		var out []byte
		if sc := &t.scratch().page; 16*len(got) <= len(sc) {
			out = sc[:16*len(got)]
		} else {
			out = make([]byte, 16*len(got))
		}
		for i, g := range got {
			// The padding too: the scratch page holds earlier calls' bytes.
			binary.LittleEndian.PutUint64(out[16*i:], uint64(uint32(g[0])))
			binary.LittleEndian.PutUint64(out[16*i+8:], g[1])
		}
		if e := t.p.cpu.CopyOut(uintptr(a[1]), out); e != 0 {
			return errno(e)
		}
		return int64(len(got))
	})
}

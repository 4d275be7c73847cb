package posix

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"
)

// Readiness: eventfd, epoll, ppoll and pselect6 over pollable files. Go's
// netpoller in the application sleeps in epoll_pwait and is woken through
// an eventfd, exactly as on Linux.

var pollCalls = []entry{
	{nr: 19, name: "eventfd2", fn: sysEventfd2},
	{nr: 20, name: "epoll_create1", fn: sysEpollCreate1},
	{nr: 21, name: "epoll_ctl", fn: sysEpollCtl},
	{nr: 22, name: "epoll_pwait", fn: sysEpollPwait, level: Partial, note: "EPOLLET and EPOLLONESHOT honoured; EPOLLEXCLUSIVE ignored"},
	{nr: 73, name: "ppoll", fn: sysPpoll},
	{nr: 72, name: "pselect6", fn: sysPselect6},
}

// waitReady blocks until check reports true, the timeout passes (false)
// or a signal arrives (ErrRestart). timeout < 0 waits forever.
func (t *Thread) waitReady(files []Pollable, timeout time.Duration, check func() bool) (bool, Errno) {
	if check() {
		return true, 0
	}
	if timeout == 0 {
		return false, 0
	}
	w := newWaiter()
	for _, f := range files {
		f.waitQueue().add(w)
		defer f.waitQueue().remove(w)
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		deadline = tm.C
	}
	for {
		if check() {
			return true, 0
		}
		select {
		case <-w.ch:
		case <-deadline:
			return check(), 0
		case <-t.intr:
			return false, ErrRestart
		case <-t.p.done:
			return false, syscall.EINTR
		}
	}
}

// eventfd is a counter that is readable while non-zero.
type eventfd struct {
	mu        sync.Mutex
	count     uint64
	semaphore bool
	wq        waitQueue
}

func (e *eventfd) Ready() uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := uint32(pollOut)
	if e.count > 0 {
		r |= pollIn
	}
	return r
}

func (e *eventfd) waitQueue() *waitQueue { return &e.wq }
func (e *eventfd) Close() Errno          { return 0 }
func (e *eventfd) Stat() Stat            { return Stat{Mode: 0o600, Nlink: 1} }

func (e *eventfd) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	if len(p) < 8 {
		return 0, syscall.EINVAL
	}
	timeout := time.Duration(-1)
	if nonblock {
		timeout = 0
	}
	ok, err := t.waitReady([]Pollable{e}, timeout, func() bool { return e.Ready()&pollIn != 0 })
	if err != 0 {
		return 0, err
	}
	if !ok {
		return 0, syscall.EAGAIN
	}
	e.mu.Lock()
	v := e.count
	if e.semaphore {
		v = 1
	}
	e.count -= v
	e.mu.Unlock()
	binary.LittleEndian.PutUint64(p, v)
	e.wq.notify()
	return 8, 0
}

func (e *eventfd) Write(_ *Thread, p []byte, _ bool) (int, Errno) {
	if len(p) < 8 {
		return 0, syscall.EINVAL
	}
	v := binary.LittleEndian.Uint64(p)
	if v == ^uint64(0) {
		return 0, syscall.EINVAL
	}
	e.mu.Lock()
	if e.count+v < e.count || e.count+v == ^uint64(0) {
		e.mu.Unlock()
		return 0, syscall.EAGAIN
	}
	e.count += v
	e.mu.Unlock()
	e.wq.notify()
	return 8, 0
}

func sysEventfd2(t *Thread, a *[6]uint64) int64 {
	const efdSemaphore, efdNonblock, efdCloexec = 1, oNonblock, oCloexec
	flags := a[1]
	if flags&^uint64(efdSemaphore|efdNonblock|efdCloexec) != 0 {
		return errno(syscall.EINVAL)
	}
	f := &eventfd{count: uint64(uint32(a[0])), semaphore: flags&efdSemaphore != 0}
	fd, e := t.p.fds.install(&openFile{f: f, flags: oRdwr | uint32(flags)&oNonblock}, 0, flags&efdCloexec != 0)
	if e != 0 {
		return errno(e)
	}
	return int64(fd)
}

// epoll is an interest list over pollable files. Every item's waiter
// forwards the file's wake-ups to wq, so epoll_pwait sleeps on wq alone
// and sees files added while it sleeps (a snapshot of the list would
// leave a thread blocked in it deaf to them: Go's netpoller adds fds
// while another thread waits).
type epoll struct {
	mu       sync.Mutex
	interest map[int]*epollItem
	wq       waitQueue
}

type epollItem struct {
	fd     int
	of     *openFile
	events uint32
	data   uint64
	// edge gets a token whenever the file's readiness may have changed
	// (every notify of its wait queue): an edge-triggered item reports
	// only after one, as Linux reports on each wake-up of the file.
	edge *waiter
}

// epollPrivate are the flag bits of an item that are not events.
const epollPrivate = epollET | epollOneshot

// drop takes an item off its file's queue; called with ep.mu held.
func (ep *epoll) drop(it *epollItem) {
	it.of.f.(Pollable).waitQueue().remove(it.edge)
	delete(ep.interest, it.fd)
}

// live returns the item for fd unless its file has been closed since it
// was added (Linux forgets an item when its file is released, so the fd
// number may be reused); called with ep.mu held.
func (ep *epoll) live(fd int) (*epollItem, bool) {
	it, ok := ep.interest[fd]
	if ok && it.of.closed.Load() {
		ep.drop(it)
		return nil, false
	}
	return it, ok
}

const (
	epollET      = 1 << 31
	epollOneshot = 1 << 30
	epollAlways  = pollErr | pollHup // reported whether asked for or not
)

func (ep *epoll) Read(*Thread, []byte, bool) (int, Errno)  { return 0, syscall.EINVAL }
func (ep *epoll) Write(*Thread, []byte, bool) (int, Errno) { return 0, syscall.EINVAL }
func (ep *epoll) Close() Errno                             { return 0 }
func (ep *epoll) waitQueue() *waitQueue                    { return &ep.wq }

func (ep *epoll) Ready() uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for fd := range ep.interest {
		if it, ok := ep.live(fd); ok && it.armed() && it.of.f.(Pollable).Ready()&(it.events|epollAlways) != 0 {
			return pollIn
		}
	}
	return 0
}

// armed is false for an EPOLLONESHOT item that has reported: it reports
// nothing, not even errors, until EPOLL_CTL_MOD.
func (it *epollItem) armed() bool { return it.events&^epollPrivate != 0 }

// collect reports ready items (at most max), applying ET and ONESHOT.
func (ep *epoll) collect(max int) (out [][2]uint64) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for fd := range ep.interest {
		if len(out) >= max {
			break
		}
		it, ok := ep.live(fd)
		if !ok || !it.armed() {
			continue
		}
		r := it.of.f.(Pollable).Ready() & (it.events | epollAlways)
		if it.events&epollET != 0 {
			select {
			case <-it.edge.ch:
			default:
				r = 0 // no change since the last report
			}
		}
		if r == 0 {
			continue
		}
		out = append(out, [2]uint64{uint64(r), it.data})
		if it.events&epollOneshot != 0 {
			it.events &= epollPrivate // disarmed until EPOLL_CTL_MOD
		}
	}
	return out
}

func sysEpollCreate1(t *Thread, a *[6]uint64) int64 {
	if a[0]&^uint64(oCloexec) != 0 {
		return errno(syscall.EINVAL)
	}
	ep := &epoll{interest: map[int]*epollItem{}}
	fd, e := t.p.fds.install(&openFile{f: ep, flags: oRdwr}, 0, a[0]&oCloexec != 0)
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
		return nil, syscall.EINVAL
	}
	return ep, 0
}

const (
	epollAdd = 1
	epollDel = 2
	epollMod = 3
	// epollMaxNests is how deep Linux lets epolls watch epolls.
	epollMaxNests = 4
)

// epollNest serialises adding epolls to epolls, so two threads cannot
// close a cycle between them unnoticed.
var epollNest sync.Mutex

// depth reports whether ep reaches target, or nests deeper than Linux
// allows, through the epolls it watches.
func (ep *epoll) depth(target *epoll, level int) bool {
	if ep == target || level >= epollMaxNests {
		return true
	}
	ep.mu.Lock()
	var inner []*epoll
	for _, it := range ep.interest {
		if e, ok := it.of.f.(*epoll); ok && !it.of.closed.Load() {
			inner = append(inner, e)
		}
	}
	ep.mu.Unlock()
	for _, e := range inner {
		if e.depth(target, level+1) {
			return true
		}
	}
	return false
}

func sysEpollCtl(t *Thread, a *[6]uint64) int64 {
	const add, del, mod = epollAdd, epollDel, epollMod
	ep, e := t.epollFD(a[0])
	if e != 0 {
		return errno(e)
	}
	fd := int(int32(a[2]))
	of, e := t.fd(a[2])
	if e != 0 {
		return errno(e)
	}
	if _, ok := of.f.(Pollable); !ok || !epollable(of.f) {
		return errno(syscall.EPERM) // like regular files on Linux
	}
	if of.f == File(ep) {
		return errno(syscall.EINVAL)
	}
	if inner, ok := of.f.(*epoll); ok && a[1] == epollAdd {
		// Nested epolls forward wake-ups outwards: refuse cycles (and
		// deep nests) as Linux does, or a wake-up would go round forever.
		epollNest.Lock()
		defer epollNest.Unlock()
		if inner.depth(ep, 0) {
			return errno(syscall.ELOOP)
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
			return errno(syscall.EEXIST)
		}
		it := &epollItem{fd: fd, of: of, events: events, data: data, edge: newWaiter()}
		it.edge.fwd = ep.wq.notify
		it.edge.ch <- struct{}{} // report the current state once
		of.f.(Pollable).waitQueue().add(it.edge)
		ep.interest[fd] = it
	case mod:
		if !exists {
			ep.mu.Unlock()
			return errno(syscall.ENOENT)
		}
		it.events, it.data = events, data
		select { // re-arm: report the current state once more
		case it.edge.ch <- struct{}{}:
		default:
		}
	case del:
		if !exists {
			ep.mu.Unlock()
			return errno(syscall.ENOENT)
		}
		ep.drop(it)
	default:
		ep.mu.Unlock()
		return errno(syscall.EINVAL)
	}
	ep.mu.Unlock()
	if a[1] != del {
		ep.wq.notify() // the file may be ready already: wake epoll_pwait
	}
	return 0
}

// withSigmask runs a wait with a temporary signal mask (the p* calls).
func (t *Thread) withSigmask(maskAddr uintptr, wait func() int64) int64 {
	if maskAddr == 0 {
		return wait()
	}
	m, e := t.get64(maskAddr)
	if e != 0 {
		return errno(e)
	}
	old := t.sig.mask.Load()
	t.sig.mask.Store(m &^ unblockable)
	r := wait()
	if r == -errRestart || r == -int64(syscall.EINTR) {
		// The handler runs with the temporary mask; sigreturn restores.
		t.sig.savedMask, t.sig.hasSavedMask = old, true
	} else {
		t.sig.mask.Store(old)
	}
	return r
}

func sysEpollPwait(t *Thread, a *[6]uint64) int64 {
	ep, e := t.epollFD(a[0])
	if e != 0 {
		return errno(e)
	}
	max := int(int32(a[2]))
	if max <= 0 || max > 1<<16 {
		return errno(syscall.EINVAL)
	}
	timeout := time.Duration(int32(a[3])) * time.Millisecond
	return t.withSigmask(uintptr(a[4]), func() int64 {
		var got [][2]uint64
		_, err := t.waitReady([]Pollable{ep}, timeout, func() bool {
			got = ep.collect(max)
			return len(got) > 0
		})
		if err != 0 {
			if err == ErrRestart {
				return errno(syscall.EINTR) // epoll_wait is never restarted
			}
			return errno(err)
		}
		out := make([]byte, 16*len(got))
		for i, g := range got {
			binary.LittleEndian.PutUint32(out[16*i:], uint32(g[0]))
			binary.LittleEndian.PutUint64(out[16*i+8:], g[1])
		}
		if e := t.p.cpu.CopyOut(uintptr(a[1]), out); e != 0 {
			return errno(e)
		}
		return int64(len(got))
	})
}

// timeoutArg reads an optional timespec: nil means wait forever.
func (t *Thread) timeoutArg(addr uintptr) (time.Duration, Errno) {
	if addr == 0 {
		return -1, 0
	}
	return t.readTimespec(addr)
}

func sysPpoll(t *Thread, a *[6]uint64) int64 {
	nfds := a[1]
	if nfds > maxFDs {
		return errno(syscall.EINVAL)
	}
	raw := make([]byte, 8*nfds)
	if e := t.p.cpu.CopyIn(raw, uintptr(a[0])); e != 0 {
		return errno(e)
	}
	timeout, e := t.timeoutArg(uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	return t.withSigmask(uintptr(a[3]), func() int64 {
		var files []Pollable
		for i := uint64(0); i < nfds; i++ {
			if of, e := t.fd(uint64(int32(binary.LittleEndian.Uint32(raw[8*i:])))); e == 0 {
				if p, ok := of.f.(Pollable); ok {
					files = append(files, p)
				}
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
						rev = 0x20 // POLLNVAL
					default:
						if p, ok := of.f.(Pollable); ok {
							rev = p.Ready() & (want | epollAlways)
						} else {
							rev = (pollIn | pollOut) & want // regular files are always ready
						}
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

func sysPselect6(t *Thread, a *[6]uint64) int64 {
	nfds := int(a[0])
	if nfds < 0 || nfds > maxFDs {
		return errno(syscall.EINVAL)
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
	if a[5] != 0 { // struct { const sigset_t *ss; size_t ss_len; }
		p, e := t.get64(uintptr(a[5]))
		if e != 0 {
			return errno(e)
		}
		maskAddr = uintptr(p)
	}
	return t.withSigmask(maskAddr, func() int64 {
		var files []Pollable
		for fd := 0; fd < nfds; fd++ {
			if of, e := t.fd(uint64(fd)); e == 0 {
				if p, ok := of.f.(Pollable); ok {
					files = append(files, p)
				}
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
				r := uint32(pollIn | pollOut)
				if p, ok := of.f.(Pollable); ok {
					r = p.Ready()
				}
				for k, bits := range []uint32{pollIn | pollHup | pollErr, pollOut | pollErr, 0x2} {
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
			return errno(syscall.EBADF)
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

package posix

import (
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// epoll is an interest list over pollable files. Every item's waiter
// forwards the file's wake-ups to wq, so epoll_pwait sleeps on wq alone
// and sees files added while it sleeps (a snapshot of the list would
// leave a thread blocked in it deaf to them: Go's netpoller adds fds
// while another thread waits).
type epoll struct {
	fileDefaults
	mu       sync.Mutex
	interest map[int]*epollItem
	wq       waitQueue

	// ready lists the items whose file notified since collect last
	// looked (or that it reported level-triggered): collect checks
	// those, not the whole interest list, as Linux keeps a ready list.
	// With many connections, checking each one's readiness on every
	// wake-up cost more than the request. Its own lock: an item's file
	// notifies from wherever its readiness changes, never under ep.mu.
	readyMu sync.Mutex
	ready   []*epollItem // in order: reported items go to the back
	// spare are two emptied arrays for collect, which swaps the ready
	// list out, builds the next one and frees two (under readyMu): it
	// allocated each time it ran, about once per request of a server.
	// The ready list and the spares never share an array.
	spare [2][]*epollItem
	// keep is collect's list of level-triggered items it reported,
	// reused (collect runs under mu).
	keep []*epollItem
}

// markReady puts it at the back of the ready list unless it is on it.
func (ep *epoll) markReady(it *epollItem) {
	ep.readyMu.Lock()
	if !it.queued {
		it.queued = true
		ep.ready = append(ep.ready, it)
	}
	ep.readyMu.Unlock()
}

// watch makes it's file's wake-ups put it on the ready list and wake
// epoll_pwait, and reports its current state once.
func (ep *epoll) watch(it *epollItem) {
	it.edge.fwd = func() {
		ep.markReady(it)
		ep.wq.notify()
	}
	it.edge.tok.Store(true)
	ep.markReady(it)
	it.of.f.waitQueue().add(it.edge)
}

type epollItem struct {
	fd     int
	of     *openFile
	events uint32
	data   uint64
	// edge gets a token (tok) whenever the file's readiness may have changed
	// (every notify of its wait queue): an edge-triggered item reports
	// only after one, as Linux reports on each wake-up of the file.
	edge *waiter
	// queued: on the epoll's ready list (under its readyMu).
	queued bool
	// dropped: no longer in the interest list (under the epoll's mu):
	// collect checks this rather than looking the fd up again.
	dropped bool
}

// epollPrivate are the flag bits of an item that are not events.
const epollPrivate = uint32(linux.EPOLLET | linux.EPOLLONESHOT)

// drop takes an item off its file's queue; called with ep.mu held.
func (ep *epoll) drop(it *epollItem) {
	it.of.f.waitQueue().remove(it.edge)
	delete(ep.interest, it.fd)
	it.dropped = true
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

// epollAlways are reported whether asked for or not.
const epollAlways = linux.EPOLLERR | linux.EPOLLHUP

func (ep *epoll) waitQueue() *waitQueue { return &ep.wq }
func (ep *epoll) Stat() fs.Stat         { return anonStat(0o600) }
func (ep *epoll) Name(*Process) string  { return "anon_inode:[eventpoll]" }

func (ep *epoll) Ready() uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for fd := range ep.interest {
		if it, ok := ep.live(fd); ok && it.armed() && it.of.f.Ready()&(it.events|epollAlways) != 0 {
			return linux.POLLIN
		}
	}
	return 0
}

// armed is false for an EPOLLONESHOT item that has reported: it reports
// nothing, not even errors, until EPOLL_CTL_MOD.
func (it *epollItem) armed() bool { return it.events&^epollPrivate != 0 }

// collect reports ready items (at most max), applying ET and ONESHOT.
func (ep *epoll) collect(max int) [][2]uint64 { return ep.collectInto(nil, max) }

// collectInto is collect appending to out (a caller's reused array).
// It looks at the ready list only: an item leaves it when its file is
// not ready, and comes back with the file's next wake-up; a
// level-triggered item that reports stays on it, to be looked at again.
func (ep *epoll) collectInto(out [][2]uint64, max int) [][2]uint64 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.readyMu.Lock()
	cand := ep.ready
	ep.ready, ep.spare[0] = ep.spare[0][:0], nil
	for _, it := range cand {
		it.queued = false
	}
	ep.readyMu.Unlock()
	keep := ep.keep[:0] // level-triggered items reported: to the back
	next := len(cand)   // cand[next:] were not looked at: to the front
	start := len(out)
	defer func() {
		ep.readyMu.Lock()
		l := ep.spare[1][:0]
		ep.spare[1] = nil
		for _, it := range cand[next:] {
			if !it.queued {
				it.queued = true
				l = append(l, it)
			}
		}
		l = append(l, ep.ready...)
		for _, it := range keep {
			if !it.queued {
				it.queued = true
				l = append(l, it)
			}
		}
		clear(keep)
		ep.keep = keep[:0]
		old := ep.ready
		ep.ready = l
		clear(cand) // hold no items for the collector
		clear(old)
		ep.spare[0], ep.spare[1] = cand[:0], old[:0]
		ep.readyMu.Unlock()
	}()
	for i, it := range cand {
		if len(out)-start >= max {
			next = i
			break
		}
		// live(it.fd) == it, without the map look-up: an item leaves
		// the interest list only through drop.
		if it.dropped || !it.armed() {
			continue // deleted or disarmed: MOD or ADD puts it back
		}
		if it.of.closed.Load() {
			ep.drop(it) // closed: as live does
			continue
		}
		// Edge-triggered: take the change token before reading the
		// state. Read first, a change landing in between (a packet, a
		// peer's write) would leave its token to be eaten here with the
		// stale "not ready" state, and no later edge would come: the
		// netpoller's reader slept forever (net/http's TLS handshakes
		// under go test hung on it).
		if it.events&linux.EPOLLET != 0 {
			if !it.edge.tok.Swap(false) {
				continue // no change since the last report
			}
		}
		r := it.of.f.Ready() & (it.events | epollAlways)
		if r == 0 {
			continue
		}
		out = append(out, [2]uint64{uint64(r), it.data})
		if it.events&linux.EPOLLONESHOT != 0 {
			it.events &= epollPrivate // disarmed until EPOLL_CTL_MOD
		} else if it.events&linux.EPOLLET == 0 {
			keep = append(keep, it) // level-triggered: still ready, maybe
		}
	}
	return out
}

// epollMaxNests is how deep Linux lets epolls watch epolls.
const epollMaxNests = 4

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

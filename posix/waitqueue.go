package posix

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Waiting for readiness: every kind of file has a wait queue that it
// notifies when its readiness may have changed; blocking reads and
// writes, poll, select and epoll all wait the same way.

// pollable is the readiness half of File.
type pollable interface {
	Ready() uint32
	waitQueue() *waitQueue
}

// waitReady blocks until check reports true, the timeout passes (false)
// or a signal arrives (ErrRestart). timeout < 0 waits forever.
func (t *Thread) waitReady(files []pollable, timeout time.Duration, check func() bool) (bool, Errno) {
	if check() {
		return true, 0
	}
	if timeout == 0 {
		return false, 0
	}
	w := t.readyWaiter()
	for _, f := range files {
		f.waitQueue().add(w)
	}
	// One deferred call for all the files: a defer inside the loop
	// cannot be open-coded, and each would put a record on the heap.
	defer func() {
		for _, f := range files {
			f.waitQueue().remove(w)
		}
	}()
	var deadline <-chan time.Time
	if timeout > 0 {
		deadline = t.startTimer(timeout)
		defer t.stopTimer()
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
			return false, linux.EINTR
		}
	}
}

// waiter is a thread waiting for readiness on one or more files, or an
// epoll item watching one (fwd then tells the epoll).
type waiter struct {
	ch  chan struct{}
	fwd func()
	// tok is an epoll item's change token (fwd set): notify sets it, a
	// store where a channel send took the channel's lock and a call.
	tok atomic.Bool
}

func newWaiter() *waiter { return &waiter{ch: make(chan struct{}, 1)} }

// readyWaiter is the thread's own waiter for waitReady, made once: a
// thread waits for one thing at a time, and a blocking read that waits
// for every piece of a stream would otherwise allocate a waiter and a
// channel each time. A wake-up left over from the last wait (sent before
// that wait left the queues) is dropped first.
func (t *Thread) readyWaiter() *waiter {
	if t.waiter == nil {
		t.waiter = newWaiter()
	}
	select {
	case <-t.waiter.ch:
	default:
	}
	return t.waiter
}

type waitQueue struct {
	mu sync.Mutex
	// ws are the waiters, in no order. A slice, not a map: a queue
	// holds a few waiters (blocked threads, the epoll items watching the
	// file), and notify runs on every socket event; iterating a map
	// draws a random start (chacha8rand) and walks its groups, about
	// 300 instructions per notify with one waiter.
	ws []*waiter
	// n is len(ws), for notify's unlocked look: most notifications (a
	// pipe written while its reader is busy) find no one waiting. A
	// waiter is counted before it checks its condition, and a notifier
	// changes the state before it looks, so none is missed.
	n atomic.Int32
}

func (q *waitQueue) add(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, x := range q.ws {
		if x == w {
			return // already in (a set, as before)
		}
	}
	q.ws = append(q.ws, w)
	q.n.Store(int32(len(q.ws)))
}

func (q *waitQueue) remove(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.ws {
		if x == w {
			last := len(q.ws) - 1
			q.ws[i] = q.ws[last]
			q.ws[last] = nil // no stale pointer keeps the waiter alive
			q.ws = q.ws[:last]
			break
		}
	}
	q.n.Store(int32(len(q.ws)))
}

// notify wakes every waiter and runs the forwarding functions (epoll
// items pass the wake-up on to their epoll's queue) after unlocking, so
// queues of nested epolls are never locked inside one another.
func (q *waitQueue) notify() {
	if q.n.Load() == 0 {
		return
	}
	var buf [4]func() // on the stack: notify allocates nothing for a few watchers
	fwd := buf[:0]
	q.mu.Lock()
	for _, w := range q.ws {
		if w.fwd != nil {
			w.tok.Store(true) // before fwd puts the item on the ready list
			fwd = append(fwd, w.fwd)
			continue
		}
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
	for _, f := range fwd {
		f()
	}
}

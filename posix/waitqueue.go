package posix

import (
	"sync"
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
			return false, linux.EINTR
		}
	}
}

// waiter is a thread waiting for readiness on one or more files, or an
// epoll item watching one (fwd then tells the epoll).
type waiter struct {
	ch  chan struct{}
	fwd func()
}

func newWaiter() *waiter { return &waiter{ch: make(chan struct{}, 1)} }

type waitQueue struct {
	mu sync.Mutex
	ws map[*waiter]struct{}
}

func (q *waitQueue) add(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ws == nil {
		q.ws = map[*waiter]struct{}{}
	}
	q.ws[w] = struct{}{}
}

func (q *waitQueue) remove(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.ws, w)
}

// notify wakes every waiter and runs the forwarding functions (epoll
// items pass the wake-up on to their epoll's queue) after unlocking, so
// queues of nested epolls are never locked inside one another.
func (q *waitQueue) notify() {
	var fwd []func()
	q.mu.Lock()
	for w := range q.ws {
		select {
		case w.ch <- struct{}{}:
		default:
		}
		if w.fwd != nil {
			fwd = append(fwd, w.fwd)
		}
	}
	q.mu.Unlock()
	for _, f := range fwd {
		f()
	}
}

package virtio

import (
	"fmt"
	"sync"
	"unsafe"
)

// Queue is a virtqueue, made by Device.Queue and usable once the device
// is started. Do is safe for concurrent use.
type Queue struct {
	index  int
	notify func() // tells the device that the available ring moved

	mu      sync.Mutex
	room    sync.Cond // signalled when descriptors are freed
	r       *ring
	waiters []chan result // by head of the in-flight chain
	err     error         // sticky: wraps ErrBroken
}

type result struct {
	n   uint32
	err error
}

// newQueue makes queue index over ring memory at mem (see newRing).
func newQueue(index int, mem unsafe.Pointer, n uint16, notify func()) *Queue {
	q := &Queue{index: index, notify: notify, r: newRing(mem, n), waiters: make([]chan result, n)}
	q.room.L = &q.mu
	return q
}

// Size is the number of descriptors: the most buffers a request can have.
func (q *Queue) Size() int { return int(q.r.n) }

// Do makes bufs available to the device as one request (device-readable
// buffers first), notifies the device and waits until the device has
// used them, however long that takes. It returns the number of bytes the
// device reports writing into the DeviceWrites buffers. The buffers
// belong to the device until Do returns.
//
// If the queue has too few free descriptors, Do first waits for earlier
// requests to complete.
func (q *Queue) Do(bufs ...Buf) (uint32, error) {
	done := make(chan result, 1)
	q.mu.Lock()
	for {
		if q.err != nil {
			q.mu.Unlock()
			return 0, q.err
		}
		head, err := q.r.push(bufs)
		if err == errNoRoom {
			q.room.Wait()
			continue
		}
		if err != nil {
			q.mu.Unlock()
			return 0, fmt.Errorf("queue %d: %w", q.index, err)
		}
		q.waiters[head] = done
		break
	}
	q.mu.Unlock()
	q.notify()
	res := <-done
	return res.n, res.err
}

// collect wakes the requests the device has completed. The device's
// interrupt goroutine calls it after acknowledging the interrupt.
func (q *Queue) collect() {
	q.mu.Lock()
	defer q.mu.Unlock()
	freed := false
	for q.err == nil {
		head, n, ok, err := q.r.pop()
		if err != nil {
			q.failLocked(err)
			break
		}
		if !ok {
			break
		}
		q.waiters[head] <- result{n: n}
		q.waiters[head] = nil
		freed = true
	}
	if freed {
		q.room.Broadcast()
	}
}

// fail breaks the queue: pending and later requests return err.
func (q *Queue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failLocked(err)
}

func (q *Queue) failLocked(err error) {
	if q.err != nil {
		return
	}
	q.err = fmt.Errorf("%w: queue %d: %w", ErrBroken, q.index, err)
	for i, w := range q.waiters {
		if w != nil {
			w <- result{err: q.err}
			q.waiters[i] = nil
		}
	}
	q.room.Broadcast()
}

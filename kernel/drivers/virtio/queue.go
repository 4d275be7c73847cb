package virtio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Queue is a virtqueue, made by Device.Queue and usable once the device
// is started. Do, Post and Poll are safe for concurrent use.
type Queue struct {
	index  int
	notify func() // tells the device that the available ring moved

	// deliver serialises collect, so that completions are handed over
	// in the order the device used them even when Poll runs alongside
	// the interrupt goroutine.
	deliver sync.Mutex
	done    []completion // collect's scratch list, under deliver
	// batchDone, if set, runs after each collect that handed
	// completions over (under deliver): a driver that batches what they
	// bring (virtio-net's receive path) learns where a batch ends.
	// Set before the first Post (SetBatchDone) and never again.
	batchDone func()

	mu      sync.Mutex
	room    sync.Cond // signalled when descriptors are freed
	r       *ring
	waiters []func(n uint32, err error) // by head of the in-flight chain
	err     error                       // sticky: wraps ErrBroken

	// posted: Post has been used on this queue, so a completion may be
	// a driver's function that must run on the interrupt goroutine (or
	// in the driver's own Poll), not in whatever goroutine calls Do.
	posted atomic.Bool
}

type completion struct {
	fn func(n uint32, err error)
	n  uint32
}

// ErrQueueFull is returned by Post when the queue has too few free
// descriptors for the request; it will have room once earlier requests
// complete.
var ErrQueueFull = errors.New("virtio: queue full")

// newQueue makes queue index over ring memory at mem (see newRing).
func newQueue(index int, mem unsafe.Pointer, n uint16, notify func()) *Queue {
	q := &Queue{index: index, notify: notify, r: newRing(mem, n), waiters: make([]func(uint32, error), n)}
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
// requests to complete. Do must not be called from a Post callback: the
// callback runs on the goroutine that would complete the request.
func (q *Queue) Do(bufs ...Buf) (uint32, error) {
	ch := make(chan result, 1)
	err := q.submit(bufs, true, func(n uint32, err error) { ch <- result{n, err} })
	if err != nil {
		return 0, err
	}
	// QEMU (TCG) emulates most devices in the notifying write itself, so
	// the request is usually complete already: take it from the used
	// ring here rather than sleep until the interrupt goroutine does.
	// That skips a goroutine switch and, at boot, the hart's idle path
	// (code QEMU would otherwise translate only for this). Only on a
	// queue where every request is a Do: their completions just fill a
	// buffered channel, safe to run in any goroutine.
	if !q.posted.Load() {
		q.TryPoll()
	}
	res := <-ch
	return res.n, res.err
}

type result struct {
	n   uint32
	err error
}

// Post makes bufs available to the device as one request, like Do, but
// returns at once. done is called exactly once, when the device has used
// the buffers (with the bytes it wrote) or the queue broke (with an error
// wrapping ErrBroken); the buffers belong to the device until then.
//
// done runs on the device's interrupt goroutine (or in Poll), one
// completion at a time and in the order the device used the requests. It
// must not block on the device: no Do, and no waiting for another
// request's done. It may Post again, e.g. to give a receive buffer back.
//
// Post does not wait for room: it returns an error wrapping ErrQueueFull
// if the queue lacks free descriptors, and then done is not called.
func (q *Queue) Post(done func(n uint32, err error), bufs ...Buf) error {
	if done == nil {
		return fmt.Errorf("virtio: queue %d: post without a completion function", q.index)
	}
	q.posted.Store(true)
	return q.submit(bufs, false, done)
}

// submit pushes bufs and notifies the device (unless it asked not to be),
// waiting for room if wait.
func (q *Queue) submit(bufs []Buf, wait bool, done func(uint32, error)) error {
	q.mu.Lock()
	for {
		if q.err != nil {
			q.mu.Unlock()
			return q.err
		}
		head, err := q.r.push(bufs)
		if err == errNoRoom {
			if !wait {
				q.mu.Unlock()
				return fmt.Errorf("queue %d: %w", q.index, ErrQueueFull)
			}
			q.room.Wait()
			continue
		}
		if err != nil {
			q.mu.Unlock()
			return fmt.Errorf("queue %d: %w", q.index, err)
		}
		q.waiters[head] = done
		break
	}
	notify := q.r.wantsNotify()
	q.mu.Unlock()
	if notify {
		q.notify()
	}
	return nil
}

// SetInterrupts asks the device to interrupt when it uses this queue's
// buffers (the default) or not to. It is a hint: completions may still
// come by interrupt, and without them they are handed over when another
// queue of the device interrupts, or by Poll.
func (q *Queue) SetInterrupts(on bool) {
	q.mu.Lock()
	q.r.setInterrupts(on)
	q.mu.Unlock()
}

// Poll hands over the requests the device has completed, as the
// interrupt goroutine would, and returns how many there were. A driver
// uses it where the order of events across queues matters: after seeing
// a message on one queue, the completions the device published earlier
// on another are then guaranteed to have been handed over.
func (q *Queue) Poll() int {
	n, _ := q.collect(0, false)
	return n
}

// TryPoll is Poll unless completions are being handed over already (by
// the interrupt goroutine or another Poll): then it returns 0 at once.
// A caller that holds a lock some completion function takes uses it:
// Poll would wait for a hand-over blocked on that lock.
func (q *Queue) TryPoll() int {
	if !q.deliver.TryLock() {
		return 0
	}
	defer q.deliver.Unlock()
	n, _ := q.collectLocked(0, false)
	return n
}

// SetBatchDone sets the function run after each collect that handed
// completions over: the interrupt goroutine's drain of the queue, all
// its rounds (see Queue.batchDone). Call it before the first Post.
func (q *Queue) SetBatchDone(fn func()) { q.batchDone = fn }

// collect wakes the requests the device has completed. The device's
// interrupt goroutine calls it after acknowledging the interrupt, with a
// bound on the rounds (0: none) so that a queue the device keeps filling
// does not keep it from the device's other queues; more says it stopped
// at the bound with completions left, which raise no interrupt then, so
// the caller must collect again without waiting for one. keep leaves
// interrupts off even once the ring is empty, for a caller that will look
// again soon (after letting the goroutines it woke run) and then collects
// once without keep, which switches them on and looks again.
func (q *Queue) collect(rounds int, keep bool) (n int, more bool) {
	q.deliver.Lock()
	defer q.deliver.Unlock()
	return q.collectLocked(rounds, keep)
}

// collectLocked is collect with q.deliver held. It drains the used ring
// with the device's interrupts for this queue switched off (NAPI's way):
// what the device completes while the callbacks run is taken in the next
// round instead of raising an interrupt of its own, which under TCG is a
// trap, a WaitIRQ round trip and an acknowledgement per frame. Before it
// returns it switches them back on and looks at the ring once more, so a
// completion published before the device saw them on is not left
// waiting for an interrupt that will not come.
func (q *Queue) collectLocked(rounds int, keep bool) (total int, more bool) {
	q.mu.Lock()
	for round := 1; ; round++ {
		if rounds > 0 && round > rounds && q.r.draining && q.err == nil && q.r.more() {
			// Leave the rest, interrupts still off, to the caller's
			// next call.
			more = true
			break
		}
		var broken []func(uint32, error)
		for q.err == nil {
			head, n, ok, err := q.r.pop()
			if err != nil {
				broken = q.failLocked(err)
				break
			}
			if !ok {
				break
			}
			q.done = append(q.done, completion{q.waiters[head], n})
			q.waiters[head] = nil
		}
		if len(q.done) == 0 && broken == nil {
			if !q.r.draining || keep {
				break
			}
			q.r.setDraining(false)
			if q.err != nil || !q.r.wantsInterrupts() || !q.r.more() {
				break
			}
			continue // arrived before the device saw interrupts on
		}
		if len(q.done) > 0 {
			q.room.Broadcast()
			if !q.r.draining && q.err == nil && q.r.wantsInterrupts() {
				q.r.setDraining(true)
			}
		}
		brokenErr := q.err
		q.mu.Unlock()
		// Callbacks run unlocked so that they can post again.
		total += len(q.done)
		for i, c := range q.done {
			c.fn(c.n, nil)
			q.done[i] = completion{}
		}
		q.done = q.done[:0]
		for _, fn := range broken {
			fn(0, brokenErr)
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	if total > 0 && q.batchDone != nil {
		// One batch is all the rounds of this call: they run back to
		// back, and what the device completes meanwhile joins it.
		q.batchDone()
	}
	return total, more
}

// fail breaks the queue: pending and later requests return err.
func (q *Queue) fail(err error) {
	q.mu.Lock()
	fns := q.failLocked(err)
	qerr := q.err
	q.mu.Unlock()
	for _, fn := range fns {
		fn(0, qerr)
	}
}

// failLocked makes the queue's error sticky and returns the completion
// functions of the requests in flight, to be called (with q.err) once
// q.mu is released.
func (q *Queue) failLocked(err error) []func(uint32, error) {
	if q.err != nil {
		return nil
	}
	q.err = fmt.Errorf("%w: queue %d: %w", ErrBroken, q.index, err)
	var fns []func(uint32, error)
	for i, w := range q.waiters {
		if w != nil {
			fns = append(fns, w)
			q.waiters[i] = nil
		}
	}
	q.room.Broadcast()
	return fns
}

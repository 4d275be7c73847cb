package posix

import "sync"

// Futexes. Waiters queue per address under one lock; compare-and-block is
// atomic with respect to wakers, which is the guarantee futexes give.
// The hart layer parks short waits between application threads itself
// (CPU.FutexWake): every wake here also wakes those, and every waiter
// here is counted with CPU.FutexWaiters before it reads the futex word,
// which makes the hart layer leave wakes to this queue meanwhile.

type futexWaiter struct {
	addr   uintptr
	bitset uint32
	// ch is poked (never blocking; capacity 1) by a wake, which also
	// clears queued under futexTable.mu, and by Thread.interrupt. The
	// waiter receives from this one channel and then decides under the
	// lock what happened; a poke left over from an earlier wait only
	// makes it look again. One channel, not a select over the wake,
	// the signal and the exit: the runtime's select cost about a tenth
	// of a glibc program's condition-variable wait.
	ch     chan struct{}
	queued bool
}

// poke makes the waiter look at its state (see ch).
func (w *futexWaiter) poke() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

type futexTable struct {
	mu sync.Mutex
	q  map[uintptr]*futexQueue
	// last is the queue looked up last (nil: none): a program waits on
	// the same few futexes again and again, and hashing the address for
	// each wait and wake was 2-3% of a glibc condition-variable
	// program's instructions (riscv64 has no hardware hash).
	last *futexQueue
	cpu  CPU
}

// futexQueue is one address's waiters, in order.
type futexQueue struct {
	addr uintptr
	ws   []*futexWaiter
}

func (f *futexTable) init(cpu CPU) {
	f.q = map[uintptr]*futexQueue{}
	f.cpu = cpu
}

// lookup returns addr's queue, or nil when it has none.
func (f *futexTable) lookup(addr uintptr) *futexQueue {
	if f.last != nil && f.last.addr == addr {
		return f.last
	}
	q := f.q[addr]
	if q != nil {
		f.last = q
	}
	return q
}

// enqueue adds w at the end of w.addr's queue.
func (f *futexTable) enqueue(w *futexWaiter) {
	q := f.lookup(w.addr)
	if q == nil {
		q = &futexQueue{addr: w.addr}
		f.q[w.addr] = q
		f.last = q
	}
	q.ws = append(q.ws, w)
}

// waiters returns addr's waiters (the queue's own slice: do not keep it
// past a change).
func (f *futexTable) waiters(addr uintptr) []*futexWaiter {
	if q := f.lookup(addr); q != nil {
		return q.ws
	}
	return nil
}

func (f *futexTable) remove(w *futexWaiter) {
	if q := f.lookup(w.addr); q != nil {
		list := q.ws
		for i, x := range list {
			if x == w {
				list = append(list[:i], list[i+1:]...)
				list[:len(list)+1][len(list)] = nil // the moved-down tail's old slot
				break
			}
		}
		f.put(q, list)
	}
	w.queued = false
	f.cpu.FutexWaiters(w.addr, -1)
}

// futexKeep bounds the addresses whose emptied queue the table keeps.
const futexKeep = 64

// put stores q's new list. An emptied queue keeps its array while the
// table is small: a program waits on the same few futexes again and
// again (a condition variable, a lock), and each wait would otherwise
// allocate a new one-waiter array. Past futexKeep addresses an emptied
// queue is dropped, so the table stays bounded.
func (f *futexTable) put(q *futexQueue, list []*futexWaiter) {
	q.ws = list
	if len(list) == 0 && len(f.q) > futexKeep {
		delete(f.q, q.addr)
		if f.last == q {
			f.last = nil
		}
	}
}

// wake wakes up to n waiters on addr whose bitset matches: this queue's
// first, then the hart layer's.
func (f *futexTable) wake(addr uintptr, n int, bitset uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wakeLocked(addr, n, bitset)
}

func (f *futexTable) wakeLocked(addr uintptr, n int, bitset uint32) int {
	woken := 0
	// Filter the queue in place (no copy per wake): the woken leave it,
	// the rest keep their order.
	if q := f.lookup(addr); q != nil && len(q.ws) > 0 {
		list := q.ws
		kept := list[:0]
		for _, w := range list {
			if woken >= n || w.bitset&bitset == 0 {
				kept = append(kept, w)
				continue
			}
			w.queued = false
			f.cpu.FutexWaiters(w.addr, -1)
			w.poke()
			woken++
		}
		clear(list[len(kept):]) // drop the woken waiters' pointers
		f.put(q, kept)
	}
	if woken < n {
		woken += f.cpu.FutexWake(addr, n-woken, bitset)
	}
	return woken
}

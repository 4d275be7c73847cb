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
	mu  sync.Mutex
	q   map[uintptr][]*futexWaiter
	cpu CPU
}

func (f *futexTable) init(cpu CPU) {
	f.q = map[uintptr][]*futexWaiter{}
	f.cpu = cpu
}

func (f *futexTable) remove(w *futexWaiter) {
	list := f.q[w.addr]
	for i, x := range list {
		if x == w {
			list = append(list[:i], list[i+1:]...)
			list[:len(list)+1][len(list)] = nil // the moved-down tail's old slot
			break
		}
	}
	f.put(w.addr, list)
	w.queued = false
	f.cpu.FutexWaiters(w.addr, -1)
}

// futexKeep bounds the addresses whose emptied queue the table keeps.
const futexKeep = 64

// put stores addr's queue. An emptied queue keeps its array while the
// table is small: a program waits on the same few futexes again and
// again (a condition variable, a lock), and each wait would otherwise
// allocate a new one-waiter array. Past futexKeep addresses an emptied
// queue is dropped, so the table stays bounded.
func (f *futexTable) put(addr uintptr, list []*futexWaiter) {
	if len(list) == 0 && len(f.q) > futexKeep {
		delete(f.q, addr)
		return
	}
	f.q[addr] = list
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
	if list := f.q[addr]; len(list) > 0 {
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
		f.put(addr, kept)
	}
	if woken < n {
		woken += f.cpu.FutexWake(addr, n-woken, bitset)
	}
	return woken
}

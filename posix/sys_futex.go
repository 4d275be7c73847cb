package posix

import (
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// sysFutex implements futex(2): WAIT, WAKE, (CMP_)REQUEUE and the BITSET
// forms, private and shared alike (one address space).
func sysFutex(t *Thread, a *[6]uint64) int64 {
	addr, op, val := uintptr(a[0]), a[1], uint32(a[2])
	if addr%4 != 0 {
		return errno(linux.EINVAL)
	}
	f := &t.p.futexes
	switch op &^ (linux.FUTEX_PRIVATE_FLAG | linux.FUTEX_CLOCK_REALTIME) {
	case linux.FUTEX_WAIT:
		return t.futexWait(addr, val, a[3], false, op&linux.FUTEX_CLOCK_REALTIME != 0, ^uint32(0))
	case linux.FUTEX_WAIT_BITSET:
		if uint32(a[5]) == 0 {
			return errno(linux.EINVAL)
		}
		return t.futexWait(addr, val, a[3], true, op&linux.FUTEX_CLOCK_REALTIME != 0, uint32(a[5]))
	case linux.FUTEX_WAKE:
		return int64(f.wake(addr, int(int32(val)), ^uint32(0)))
	case linux.FUTEX_WAKE_BITSET:
		if uint32(a[5]) == 0 {
			return errno(linux.EINVAL)
		}
		return int64(f.wake(addr, int(int32(val)), uint32(a[5])))
	case linux.FUTEX_REQUEUE, linux.FUTEX_CMP_REQUEUE:
		addr2, n2 := uintptr(a[4]), int(int32(uint32(a[3])))
		f.mu.Lock()
		defer f.mu.Unlock()
		if op&^(linux.FUTEX_PRIVATE_FLAG|linux.FUTEX_CLOCK_REALTIME) == linux.FUTEX_CMP_REQUEUE {
			cur, e := t.get32(addr)
			if e != 0 {
				return errno(e)
			}
			if cur != uint32(a[5]) {
				return errno(linux.EAGAIN)
			}
		}
		n := f.wakeLocked(addr, int(int32(val)), ^uint32(0))
		moved := 0
		for _, w := range append([]*futexWaiter(nil), f.waiters(addr)...) {
			if moved >= n2 {
				break
			}
			f.cpu.FutexWaiters(addr2, 1) // still waiting, on addr2: counted there first
			f.remove(w)
			w.addr, w.queued = addr2, true
			f.enqueue(w)
			moved++
		}
		if moved < n2 {
			moved += f.cpu.FutexRequeue(addr, addr2, n2-moved)
		}
		return int64(n + moved)
	}
	return errno(linux.ENOSYS)
}

func (t *Thread) futexWait(addr uintptr, val uint32, tsAddr uint64, absolute, realtime bool, bitset uint32) int64 {
	var deadline <-chan time.Time
	if tsAddr != 0 {
		d, e := t.readTimespec(uintptr(tsAddr))
		if e != 0 {
			return errno(e)
		}
		if absolute {
			d -= clockNow(realtime)
		}
		if d <= 0 {
			d = 0
		}
		// The thread's reused timer (startTimer): a Go program's sysmon
		// waits with a timeout each time the program goes idle, and a
		// new timer was a timer, its channel and their garbage each time.
		deadline = t.startTimer(d)
		defer t.stopTimer()
	}
	f := &t.p.futexes
	f.mu.Lock()
	f.cpu.FutexWaiters(addr, 1) // before the read: see futex.go
	cur, e := t.get32(addr)
	if e != 0 {
		f.cpu.FutexWaiters(addr, -1)
		f.mu.Unlock()
		return errno(e)
	}
	if cur != val {
		f.cpu.FutexWaiters(addr, -1)
		f.mu.Unlock()
		return errno(linux.EAGAIN)
	}
	// The thread's waiter is reused (a condition variable waits
	// thousands of times); see futexWaiter.ch for how it is woken.
	w := t.futexW
	w.addr, w.bitset, w.queued = addr, bitset, true
	f.enqueue(w)
	f.mu.Unlock()
	for {
		timedOut := false
		if deadline == nil {
			<-w.ch
		} else {
			select {
			case <-w.ch:
			case <-deadline:
				timedOut = true
			}
		}
		f.mu.Lock()
		if !w.queued {
			f.mu.Unlock()
			return 0 // woken (also when the timeout came with it)
		}
		interrupted := false
		select {
		case <-t.intr:
			interrupted = true
		default:
		}
		if timedOut || interrupted || t.exiting.Load() || t.p.exiting() {
			f.remove(w)
			f.mu.Unlock()
			if timedOut {
				return errno(linux.ETIMEDOUT)
			}
			return -errRestart
		}
		f.mu.Unlock() // a poke left from an earlier wait: wait on
	}
}

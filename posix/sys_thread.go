package posix

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"
)

// Threads: clone for new threads (no fork: one application per image),
// futexes, exit, ids, scheduling hints.

var threadCalls = []entry{
	{nr: 220, name: "clone", fn: sysClone, level: Partial, note: "threads (CLONE_VM|CLONE_THREAD); no fork or vfork"},
	{nr: 98, name: "futex", fn: sysFutex, level: Partial, note: "WAIT, WAKE, (CMP_)REQUEUE, WAIT/WAKE_BITSET, private and shared; no PI futexes"},
	{nr: 93, name: "exit", fn: sysExit},
	{nr: 94, name: "exit_group", fn: sysExitGroup},
	{nr: 96, name: "set_tid_address", fn: sysSetTidAddress},
	{nr: 99, name: "set_robust_list", fn: sysSetRobustList, level: Partial, note: "recorded; robust futexes are not released when a thread dies"},
	{nr: 100, name: "get_robust_list", fn: sysGetRobustList},
	{nr: 178, name: "gettid", fn: func(t *Thread, _ *[6]uint64) int64 { return int64(t.tid) }},
	{nr: 172, name: "getpid", fn: func(*Thread, *[6]uint64) int64 { return Pid }},
	{nr: 173, name: "getppid", fn: func(*Thread, *[6]uint64) int64 { return 0 }},
	{nr: 124, name: "sched_yield", fn: func(*Thread, *[6]uint64) int64 { yield(); return 0 }},
	{nr: 123, name: "sched_getaffinity", fn: sysSchedGetaffinity},
	{nr: 122, name: "sched_setaffinity", fn: func(*Thread, *[6]uint64) int64 { return 0 }, note: "accepted, ignored"},
	{nr: 168, name: "getcpu", fn: sysGetcpu},
	{nr: 119, name: "sched_setscheduler", fn: func(*Thread, *[6]uint64) int64 { return 0 }, note: "accepted, ignored"},
	{nr: 120, name: "sched_getscheduler", fn: func(*Thread, *[6]uint64) int64 { return 0 }},
	{nr: 121, name: "sched_getparam", fn: sysZeroOut4},
	{nr: 125, name: "sched_get_priority_max", fn: func(*Thread, *[6]uint64) int64 { return 0 }},
	{nr: 126, name: "sched_get_priority_min", fn: func(*Thread, *[6]uint64) int64 { return 0 }},
}

const (
	cloneVM            = 0x100
	cloneFS            = 0x200
	cloneFiles         = 0x400
	cloneSighand       = 0x800
	cloneVfork         = 0x4000
	cloneThread        = 0x10000
	cloneSettls        = 0x80000
	cloneParentSettid  = 0x100000
	cloneChildCleartid = 0x200000
	cloneChildSettid   = 0x1000000
)

func (t *Thread) put32(addr uintptr, v uint32) Errno {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return t.p.cpu.CopyOut(addr, b[:])
}

func (t *Thread) put64(addr uintptr, v uint64) Errno {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return t.p.cpu.CopyOut(addr, b[:])
}

func (t *Thread) get32(addr uintptr) (uint32, Errno) {
	var b [4]byte
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return 0, e
	}
	return binary.LittleEndian.Uint32(b[:]), 0
}

func (t *Thread) get64(addr uintptr) (uint64, Errno) {
	var b [8]byte
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return 0, e
	}
	return binary.LittleEndian.Uint64(b[:]), 0
}

func sysClone(t *Thread, a *[6]uint64) int64 {
	flags, stack, ptid, tls, ctid := a[0], a[1], uintptr(a[2]), a[3], uintptr(a[4])
	if flags&(cloneVM|cloneThread|cloneSighand) != cloneVM|cloneThread|cloneSighand || flags&cloneVfork != 0 {
		if _, seen := t.p.reported.LoadOrStore("fork", true); !seen {
			t.p.logf("app tried to fork (clone flags %#x): one application per image, ENOSYS", flags)
		}
		return errno(syscall.ENOSYS)
	}
	c := t.p.newThread()
	*c.u = *t.u // registers, FP state, and the PC past the ecall
	c.u.Tid = uint32(c.tid)
	c.u.X[rA0] = 0
	c.u.Kick = 0
	if stack != 0 {
		c.u.X[rSP] = stack
	}
	if flags&cloneSettls != 0 {
		c.u.X[rTP] = tls
	}
	c.sig.mask.Store(t.sig.mask.Load())
	if flags&cloneParentSettid != 0 {
		t.put32(ptid, uint32(c.tid))
	}
	if flags&cloneChildSettid != 0 {
		t.put32(ctid, uint32(c.tid))
	}
	if flags&cloneChildCleartid != 0 {
		c.clearTID = ctid
	}
	go c.run()
	return int64(c.tid)
}

func sysExit(t *Thread, a *[6]uint64) int64 {
	t.p.lastStatus.Store(int32(a[0] & 0xff))
	t.exiting.Store(true)
	return noReturn
}

func sysExitGroup(t *Thread, a *[6]uint64) int64 {
	t.p.exit(int(a[0] & 0xff))
	return noReturn
}

func sysSetTidAddress(t *Thread, a *[6]uint64) int64 {
	t.clearTID = uintptr(a[0])
	return int64(t.tid)
}

func sysSetRobustList(t *Thread, a *[6]uint64) int64 {
	if a[1] != 24 { // sizeof(struct robust_list_head)
		return errno(syscall.EINVAL)
	}
	t.robust = uintptr(a[0])
	return 0
}

func sysGetRobustList(t *Thread, a *[6]uint64) int64 {
	o := t
	if a[0] != 0 {
		if o = t.p.thread(int(a[0])); o == nil {
			return errno(syscall.ESRCH)
		}
	}
	if e := t.put64(uintptr(a[1]), uint64(o.robust)); e != 0 {
		return errno(e)
	}
	return errno(t.put64(uintptr(a[2]), 24))
}

func sysSchedGetaffinity(t *Thread, a *[6]uint64) int64 {
	size := a[1]
	if size < 8 || size%8 != 0 {
		return errno(syscall.EINVAL)
	}
	if e := t.put64(uintptr(a[2]), 1<<uint(ncpu())-1); e != 0 {
		return errno(e)
	}
	return 8
}

func sysGetcpu(t *Thread, a *[6]uint64) int64 {
	if a[0] != 0 {
		if e := t.put32(uintptr(a[0]), 0); e != 0 {
			return errno(e)
		}
	}
	if a[1] != 0 {
		if e := t.put32(uintptr(a[1]), 0); e != 0 {
			return errno(e)
		}
	}
	return 0
}

func sysZeroOut4(t *Thread, a *[6]uint64) int64 { return errno(t.put32(uintptr(a[1]), 0)) }

// Futexes. Waiters queue per address under one lock; compare-and-block is
// atomic with respect to wakers, which is the guarantee futexes give.

type futexWaiter struct {
	addr   uintptr
	bitset uint32
	ch     chan struct{}
	queued bool
}

type futexTable struct {
	mu sync.Mutex
	q  map[uintptr][]*futexWaiter
}

func (f *futexTable) init() { f.q = map[uintptr][]*futexWaiter{} }

func (f *futexTable) remove(w *futexWaiter) {
	list := f.q[w.addr]
	for i, x := range list {
		if x == w {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(f.q, w.addr)
	} else {
		f.q[w.addr] = list
	}
	w.queued = false
}

// wake wakes up to n waiters on addr whose bitset matches.
func (f *futexTable) wake(addr uintptr, n int, bitset uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wakeLocked(addr, n, bitset)
}

func (f *futexTable) wakeLocked(addr uintptr, n int, bitset uint32) int {
	woken := 0
	for _, w := range append([]*futexWaiter(nil), f.q[addr]...) {
		if woken >= n {
			break
		}
		if w.bitset&bitset == 0 {
			continue
		}
		f.remove(w)
		w.ch <- struct{}{}
		woken++
	}
	return woken
}

const (
	futexWait          = 0
	futexWake          = 1
	futexRequeue       = 3
	futexCmpRequeue    = 4
	futexWaitBitset    = 9
	futexWakeBitset    = 10
	futexPrivateFlag   = 128
	futexClockRealtime = 256
)

func sysFutex(t *Thread, a *[6]uint64) int64 {
	addr, op, val := uintptr(a[0]), a[1], uint32(a[2])
	if addr%4 != 0 {
		return errno(syscall.EINVAL)
	}
	f := &t.p.futexes
	switch op &^ (futexPrivateFlag | futexClockRealtime) {
	case futexWait:
		return t.futexWait(addr, val, a[3], false, op&futexClockRealtime != 0, ^uint32(0))
	case futexWaitBitset:
		if uint32(a[5]) == 0 {
			return errno(syscall.EINVAL)
		}
		return t.futexWait(addr, val, a[3], true, op&futexClockRealtime != 0, uint32(a[5]))
	case futexWake:
		return int64(f.wake(addr, int(int32(val)), ^uint32(0)))
	case futexWakeBitset:
		if uint32(a[5]) == 0 {
			return errno(syscall.EINVAL)
		}
		return int64(f.wake(addr, int(int32(val)), uint32(a[5])))
	case futexRequeue, futexCmpRequeue:
		addr2, n2 := uintptr(a[4]), int(int32(uint32(a[3])))
		f.mu.Lock()
		defer f.mu.Unlock()
		if op&^(futexPrivateFlag|futexClockRealtime) == futexCmpRequeue {
			cur, e := t.get32(addr)
			if e != 0 {
				return errno(e)
			}
			if cur != uint32(a[5]) {
				return errno(syscall.EAGAIN)
			}
		}
		n := f.wakeLocked(addr, int(int32(val)), ^uint32(0))
		moved := 0
		for _, w := range append([]*futexWaiter(nil), f.q[addr]...) {
			if moved >= n2 {
				break
			}
			f.remove(w)
			w.addr, w.queued = addr2, true
			f.q[addr2] = append(f.q[addr2], w)
			moved++
		}
		return int64(n + moved)
	}
	return errno(syscall.ENOSYS)
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
		timer := time.NewTimer(d)
		defer timer.Stop()
		deadline = timer.C
	}
	f := &t.p.futexes
	f.mu.Lock()
	cur, e := t.get32(addr)
	if e != 0 {
		f.mu.Unlock()
		return errno(e)
	}
	if cur != val {
		f.mu.Unlock()
		return errno(syscall.EAGAIN)
	}
	w := &futexWaiter{addr: addr, bitset: bitset, ch: make(chan struct{}, 1), queued: true}
	f.q[addr] = append(f.q[addr], w)
	f.mu.Unlock()
	timedOut := false
	select {
	case <-w.ch:
		return 0
	case <-deadline:
		timedOut = true
	case <-t.intr:
	case <-t.p.done:
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !w.queued {
		return 0 // woken while timing out: count it as woken
	}
	f.remove(w)
	if timedOut {
		return errno(syscall.ETIMEDOUT)
	}
	return -errRestart
}

package posix

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Timers: one kind of kernel timer (ktimer) behind the interval timers
// (setitimer, and so alarm), POSIX timers (timer_create) and timerfds.
// Deadlines are on the monotonic clock; an absolute CLOCK_REALTIME time
// is turned into a delay when the timer is set (clock changes later do
// not move it). The CPU-time clocks and ITIMER_VIRTUAL/PROF count
// elapsed time: the kernel does no CPU-time accounting (clockValue does
// the same).

// maxTimerDelay bounds a timer's value and interval (about 100 years), so
// deadline arithmetic never overflows a Duration.
const maxTimerDelay = 100 * 365 * 24 * time.Hour

// minTimerInterval is the shortest period a timer repeats at: a 1 ns
// period would keep the kernel busy firing it (Linux throttles such
// timers too); the missed periods are counted as overruns.
const minTimerInterval = 100 * time.Microsecond

// ktimer is a one-shot or periodic timer that calls fire with the number
// of expirations since its last call (more than 1 when the runtime ran
// it late: the missed periods, as Linux counts overruns).
type ktimer struct {
	mu       sync.Mutex
	deadline time.Duration // nanotime of the next expiry; 0 when disarmed
	interval time.Duration
	gen      uint64 // bumped by every arm/stop: stale expiries do nothing
	tm       *time.Timer
	fire     func(n uint64) // called without mu held
}

// arm sets the timer to expire after value, then every interval (0: once).
// value 0 disarms it. It returns what was left and the old interval.
func (k *ktimer) arm(value, interval time.Duration) (time.Duration, time.Duration) {
	value, interval = min(max(value, 0), maxTimerDelay), min(max(interval, 0), maxTimerDelay)
	if interval > 0 {
		interval = max(interval, minTimerInterval)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	oldV, oldI := k.leftLocked()
	k.gen++
	if k.tm != nil {
		k.tm.Stop()
		k.tm = nil
	}
	k.deadline, k.interval = 0, interval
	if value > 0 {
		k.deadline = time.Duration(nanotime()) + value
		gen := k.gen
		k.tm = time.AfterFunc(value, func() { k.expire(gen) })
	}
	return oldV, oldI
}

// left reports the time to the next expiry (0: disarmed) and the interval.
func (k *ktimer) left() (time.Duration, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.leftLocked()
}

func (k *ktimer) leftLocked() (time.Duration, time.Duration) {
	if k.deadline == 0 {
		return 0, k.interval
	}
	// Due but not yet run: Linux reports the smallest non-zero value.
	return max(k.deadline-time.Duration(nanotime()), time.Nanosecond), k.interval
}

func (k *ktimer) stop() { k.arm(0, 0) }

func (k *ktimer) expire(gen uint64) {
	k.mu.Lock()
	if gen != k.gen || k.deadline == 0 {
		k.mu.Unlock()
		return
	}
	now := time.Duration(nanotime())
	n := uint64(1)
	if k.interval > 0 {
		if now > k.deadline {
			n += uint64((now - k.deadline) / k.interval)
		}
		// The next period stays on the original schedule: no drift.
		k.deadline += time.Duration(n) * k.interval
		k.tm = time.AfterFunc(k.deadline-now, func() { k.expire(gen) })
	} else {
		k.deadline = 0
	}
	fire := k.fire
	k.mu.Unlock()
	if fire != nil {
		fire(n)
	}
}

// posixTimer is one timer_create timer.
type posixTimer struct {
	k      ktimer
	id     int32
	clock  uint64
	notify int32 // SIGEV_*
	signo  int
	tid    int    // SIGEV_THREAD_ID: the thread that gets the signal
	value  uint64 // sigev_value, into si_value
	// overrun counts expirations while the signal was still pending;
	// lastOverrun is what timer_getoverrun reports: the count at the
	// last delivery.
	overrun, lastOverrun atomic.Int64
}

// timerTable is a process's timers.
type timerTable struct {
	mu      sync.Mutex
	itimers [3]*ktimer // ITIMER_REAL, VIRTUAL, PROF
	posix   map[int32]*posixTimer
	nextID  int32
	stopped bool // the process exited: no new timers
}

// itimerSignal is the signal of each interval timer.
var itimerSignal = [3]int{linux.SIGALRM, linux.SIGVTALRM, linux.SIGPROF}

// itimer returns interval timer which, made on first use.
func (p *Process) itimer(which int) *ktimer {
	tt := &p.timers
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.itimers[which] == nil {
		sig := itimerSignal[which]
		tt.itimers[which] = &ktimer{fire: func(uint64) {
			p.postProcess(sig, sigInfo{code: linux.SI_KERNEL})
		}}
	}
	return tt.itimers[which]
}

// addTimer registers pt under a fresh id; EAGAIN past MaxPosixTimers.
func (p *Process) addTimer(pt *posixTimer) Errno {
	tt := &p.timers
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.stopped {
		return linux.EINVAL
	}
	if tt.posix == nil {
		tt.posix = map[int32]*posixTimer{}
	}
	if len(tt.posix) >= linux.MaxPosixTimers {
		return linux.EAGAIN
	}
	for tt.posix[tt.nextID] != nil || tt.nextID < 0 {
		tt.nextID++
		if tt.nextID < 0 {
			tt.nextID = 0
		}
	}
	pt.id = tt.nextID
	tt.nextID++
	tt.posix[pt.id] = pt
	pt.k.fire = func(n uint64) { p.fireTimer(pt, n) }
	return 0
}

func (p *Process) timer(id uint64) *posixTimer {
	tt := &p.timers
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if id > 1<<31-1 {
		return nil
	}
	return tt.posix[int32(id)]
}

func (p *Process) deleteTimer(id uint64) bool {
	tt := &p.timers
	tt.mu.Lock()
	pt := tt.posix[int32(id)]
	if id > 1<<31-1 || pt == nil {
		tt.mu.Unlock()
		return false
	}
	delete(tt.posix, pt.id)
	tt.mu.Unlock()
	pt.k.stop()
	return true
}

// stopTimers disarms every timer when the process exits.
func (p *Process) stopTimers() {
	tt := &p.timers
	tt.mu.Lock()
	tt.stopped = true
	ks := []*ktimer{}
	for _, k := range tt.itimers {
		if k != nil {
			ks = append(ks, k)
		}
	}
	for _, pt := range tt.posix {
		ks = append(ks, &pt.k)
	}
	tt.mu.Unlock()
	for _, k := range ks {
		k.stop()
	}
}

// fireTimer sends a POSIX timer's signal (SI_TIMER, with its id, overrun
// and value), or counts an overrun if the signal is still pending.
func (p *Process) fireTimer(pt *posixTimer, n uint64) {
	if pt.notify == linux.SIGEV_NONE {
		return
	}
	var target *Thread
	if pt.notify&linux.SIGEV_THREAD_ID != 0 {
		if target = p.thread(pt.tid); target == nil {
			return // the thread is gone: Linux drops the signal too
		}
	}
	if p.signalPending(target, pt.signo) {
		pt.overrun.Add(int64(n))
		return
	}
	over := pt.overrun.Swap(0) + int64(n) - 1
	over = min(over, 1<<31-1) // DELAYTIMER_MAX
	pt.lastOverrun.Store(over)
	info := sigInfo{code: linux.SI_TIMER, addr: uint64(uint32(pt.id)) | uint64(uint32(over))<<32, val: pt.value}
	if target != nil {
		target.post(pt.signo, info)
	} else {
		p.postProcess(pt.signo, info)
	}
}

// signalPending reports whether sig is pending for t (nil: any thread).
func (p *Process) signalPending(t *Thread, sig int) bool {
	if t != nil {
		return t.sig.pending.Load()&bit(sig) != 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.threads {
		if t.sig.pending.Load()&bit(sig) != 0 {
			return true
		}
	}
	return false
}

//go:build riscv64 && hartprof

package hart

import (
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/reg"
)

// Scheduler profile (build the kernel with -tags hartprof): per-hart
// counts of what trap context spends its time on, printed at power-off,
// for finding where SMP scaling goes (bkl waits, idle, IPIs, switches).
// Without the tag every hook below is an empty function.

type hartProfile struct {
	traps, timer, soft, ext, ecall, fast, ufault, ksys uint64
	switches, ipis, timerSets, fences                  uint64
	lockWaits, lockTicks, idleTicks, idles             uint64
	what, maxHeldWhat, maxHeldAt                       uint64
	heldHist                                           [6]uint64
	waitHist                                           [6]uint64 // <10us <100us <1ms <10ms <100ms more
	maxWait, maxWaitAt, heldAt, heldTicks, maxHeld     uint64
	sys                                                [64]uint64 // kernel runtime syscalls by nr%64
	start                                              uint64
}

var hprof [maxHarts]hartProfile

//go:nosplit
func profOf(h *hartState) *hartProfile { return &hprof[uint(h.cpu)%maxHarts] }

// profLock takes bkl, timing the wait when it is contended.
//
//go:nosplit
func profLock(h *hartState) {
	p := profOf(h)
	if bklTry() {
		p.heldAt = reg.ReadTime()
		return
	}
	t0 := reg.ReadTime()
	bkl.lock()
	now := reg.ReadTime()
	p.heldAt = now
	w := now - t0
	p.lockWaits++
	p.lockTicks += w
	p.waitHist[bucket(w)]++
	if w > p.maxWait {
		p.maxWait, p.maxWaitAt = w, now-p.start
	}
}

// bucket is the histogram slot of a duration: <10us <100us <1ms <10ms
// <100ms more.
//
//go:nosplit
func bucket(ticks uint64) int {
	us := uint64(ticksToNS(ticks) / 1000)
	b := 0
	for lim := uint64(10); b < 5 && us >= lim; lim *= 10 {
		b++
	}
	return b
}

// profUnlock releases bkl, counting how long this hart held it.
//
//go:nosplit
func profUnlock(h *hartState) {
	p := profOf(h)
	if p.heldAt != 0 {
		d := reg.ReadTime() - p.heldAt
		p.heldTicks += d
		if d > p.maxHeld {
			p.maxHeld, p.maxHeldWhat, p.maxHeldAt = d, p.what, p.heldAt-p.start
		}
		p.heldHist[bucket(d)]++
		p.what = 0
		p.heldAt = 0
	}
	bkl.unlock()
}

//go:nosplit
func bklTry() bool { return atomic.SwapUint32(&bkl.v, 1) == 0 }

//go:nosplit
func profTrap(h *hartState, cause uint64, user bool) {
	p := profOf(h)
	if p.start == 0 {
		p.start = reg.ReadTime()
	}
	p.traps++
	p.what = cause
	if user {
		p.what |= 1 << 32
	}
	switch {
	case cause == 1<<63|5:
		p.timer++
	case cause == 1<<63|1:
		p.soft++
	case cause == 1<<63|9:
		p.ext++
	case user && cause == 8:
		p.ecall++
	case user:
		p.ufault++
	default:
		p.ksys++
	}
}

//go:nosplit
func profFast(h *hartState) { profOf(h).fast++ }

//go:nosplit
func profSys(h *hartState, nr uint64) {
	p := profOf(h)
	p.sys[nr%64]++
	p.what = 1<<40 | nr
}

//go:nosplit
func profSwitch(h *hartState) { profOf(h).switches++ }

//go:nosplit
func profIPI() {
	if c := selfCPU(); c >= 0 && c < maxHarts {
		hprof[c].ipis++
	}
}

//go:nosplit
func profTimerSet(h *hartState) { profOf(h).timerSets++ }

//go:nosplit
func profFence(h *hartState) { profOf(h).fences++ }

//go:nosplit
func profIdle(h *hartState, ticks uint64) {
	p := profOf(h)
	p.idles++
	p.idleTicks += ticks
}

// profPrint writes every hart's counts to the console.
//
//go:nosplit
func profPrint() {
	now := reg.ReadTime()
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		p := &hprof[k]
		puts("hartprof cpu ")
		putDec(int64(k))
		field(" us", int64(ticksToNS(now-p.start)/1000))
		field(" traps", int64(p.traps))
		field(" timer", int64(p.timer))
		field(" ipi-in", int64(p.soft))
		field(" ext", int64(p.ext))
		field(" u-ecall", int64(p.ecall))
		field(" u-fast", int64(p.fast))
		field(" u-fault", int64(p.ufault))
		field(" k-sys", int64(p.ksys))
		field(" switches", int64(p.switches))
		field(" ipi-out", int64(p.ipis))
		field(" timer-sets", int64(p.timerSets))
		field(" fences", int64(p.fences))
		field(" lock-waits", int64(p.lockWaits))
		field(" lock-us", int64(ticksToNS(p.lockTicks)/1000))
		field(" idles", int64(p.idles))
		field(" idle-us", int64(ticksToNS(p.idleTicks)/1000))
		field(" held-us", int64(ticksToNS(p.heldTicks)/1000))
		field(" max-held-us", int64(ticksToNS(p.maxHeld)/1000))
		field(" max-wait-us", int64(ticksToNS(p.maxWait)/1000))
		field(" at-ms", int64(ticksToNS(p.maxWaitAt)/1000000))
		puts(" max-held-what ")
		putHex(p.maxHeldWhat)
		field(" at-ms", int64(ticksToNS(p.maxHeldAt)/1000000))
		puts("\n  held")
		for i := range p.heldHist {
			puts(" ")
			putDec(int64(p.heldHist[i]))
		}
		puts("\n  waits")
		for i := range p.waitHist {
			puts(" ")
			putDec(int64(p.waitHist[i]))
		}
		puts("\n  sys")
		for i := range p.sys {
			if p.sys[i] != 0 {
				puts(" ")
				putDec(int64(i))
				puts(":")
				putDec(int64(p.sys[i]))
			}
		}
		puts("\n")
	}
}

//go:nosplit
func field(name string, v int64) {
	puts(name)
	puts("=")
	putDec(v)
}

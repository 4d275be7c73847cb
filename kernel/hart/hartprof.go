//go:build riscv64 && hartprof

package hart

import (
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/abi"
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
	// userTicks is time spent in user mode (resume of a user frame to the
	// next trap that takes bkl), userSince when the current run began.
	userTicks, userSince, userRuns uint64
	timerTicks                     uint64 // programming the timer (SBI call or stimecmp)
	// uMigr counts user runs on this hart of a thread whose user code
	// last ran on another, kMigr kernel frames resumed here that last ran
	// elsewhere: each costs QEMU cold TLB and jump caches.
	uMigr, kMigr uint64
}

var hprof [maxHarts]hartProfile

// A window of the profile: an application that makes system call
// profMarkNr with a0 = 1 and later a0 = 2 (ENOSYS from the posix layer)
// gets the counts between the two printed as well, so a benchmark's
// workload can be told from its boot and exit.
const profMarkNr = 0x7ab0

var (
	hmark, hend         [maxHarts]hartProfile
	markedAt, markEndAt uint64
)

// profMark snapshots every hart's counts (under bkl), counting the time
// of user runs in progress so far.
//
//go:nosplit
func profMark(to *[maxHarts]hartProfile, now uint64) {
	for k := range hprof {
		to[k] = hprof[k]
		if s := hprof[k].userSince; s != 0 && now > s {
			to[k].userTicks += now - s
		}
		if to[k].start == 0 {
			to[k].start = now
		}
	}
}

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
	if p.userSince != 0 {
		p.userTicks += reg.ReadTime() - p.userSince
		p.userSince = 0
	}
	p.what = cause
	if user {
		p.what |= 1 << 32
		if i := h.cur; cause == 8 && i >= 0 && i < maxThreads && threads[i].inUser {
			if f := ptrFrame(threads[i].uctx); f.x[abi.RegA7] == profMarkNr {
				now := reg.ReadTime()
				switch f.x[abi.RegA0] {
				case 1:
					profMark(&hmark, now)
					markedAt = now
					tracing = true
				case 2:
					profMark(&hend, now)
					markEndAt = now
					tracing = false
				}
			}
		}
	}
	if tracing {
		traceTrap(h, cause, user)
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

// traceTrap records a trap in the window's trace (hartrace.go).
//
//go:nosplit
func traceTrap(h *hartState, cause uint64, user bool) {
	arg, ra := cause, uint64(0)
	if i := h.cur; i >= 0 && i < maxThreads {
		switch t := &threads[i]; {
		case user && cause == 8 && t.inUser:
			arg = 1<<32 | ptrFrame(t.uctx).x[abi.RegA7]
		case !user && cause == 3:
			arg, ra = 2<<32|t.fr.x[abi.RegA7], t.fr.x[abi.RegRA]
		}
	}
	if user {
		arg |= 4 << 32
	}
	trace(h, evTrap, arg, ra)
}

//go:nosplit
func profFast(h *hartState) { profOf(h).fast++ }

// profResume notes that hart h resumes frame fr: the start of a user run
// when fr is a user frame.
//
//go:nosplit
func profResume(h *hartState, fr uintptr) {
	if tracing {
		u := uint64(0)
		if ptrFrame(fr).status&statusSPP == 0 {
			u = 1
		}
		trace(h, evResume, u, 0)
	}
	if ptrFrame(fr).status&statusSPP == 0 {
		p := profOf(h)
		p.userRuns++
		p.userSince = reg.ReadTime()
		if i := h.cur; i >= 0 && i < maxThreads {
			if l := lastUserCPU[i]; l != 0 && l != h.cpu+1 {
				p.uMigr++
			}
			lastUserCPU[i] = h.cpu + 1
		}
	}
}

// lastUserCPU is, by thread, 1 + the CPU where its user code last ran
// (0: never), for counting application threads that change harts.
var lastUserCPU [maxThreads]int32

//go:nosplit
func profSys(h *hartState, nr uint64) {
	p := profOf(h)
	p.sys[nr%64]++
	p.what = 1<<40 | nr
}

//go:nosplit
func profSwitch(h *hartState) { profOf(h).switches++ }

// profMigrate counts frame fa resumed on hart h after it last ran on
// another hart (called before schedule records h in it).
//
//go:nosplit
func profMigrate(h *hartState, fa uintptr) {
	f := ptrFrame(fa)
	if f.hart == 0 || f.hart == hartAddr(h) {
		return
	}
	if f.status&statusSPP != 0 {
		profOf(h).kMigr++
	}
}

//go:nosplit
func profIPI() {
	if c := selfCPU(); c >= 0 && c < maxHarts {
		hprof[c].ipis++
		if tracing {
			trace(&harts[c], evIPI, 0, 0)
		}
	}
}

//go:nosplit
func profTimerSet(h *hartState) uint64 {
	profOf(h).timerSets++
	if tracing {
		trace(h, evTimerSet, h.timerAt, 0)
	}
	return reg.ReadTime()
}

// profTimerDone counts the time programming the timer took.
//
//go:nosplit
func profTimerDone(h *hartState, t0 uint64) { profOf(h).timerTicks += reg.ReadTime() - t0 }

//go:nosplit
func profFence(h *hartState) { profOf(h).fences++ }

//go:nosplit
func profIdle(h *hartState, ticks uint64) {
	p := profOf(h)
	p.idles++
	p.idleTicks += ticks
	if tracing {
		trace(h, evIdle, ticks, 0)
	}
}

// profPrint writes every hart's counts to the console.
//
//go:nosplit
func profPrint() {
	profPrintAll(&hprof, reg.ReadTime(), "hartprof cpu ")
	if markEndAt > markedAt && markedAt != 0 {
		profWindow()
		profPrintAll(&hend, markEndAt, "hartprof window cpu ")
		traceDump()
	}
}

// profWindow turns hend into the counts between the two marks.
//
//go:nosplit
func profWindow() {
	for k := range hend {
		profSub(&hend[k], &hmark[k])
		hend[k].start = markedAt
	}
}

// profSub makes p the counts since q (start stays p's).
//
//go:nosplit
func profSub(p, q *hartProfile) {
	p.traps -= q.traps
	p.timer -= q.timer
	p.soft -= q.soft
	p.ext -= q.ext
	p.ecall -= q.ecall
	p.fast -= q.fast
	p.ufault -= q.ufault
	p.ksys -= q.ksys
	p.switches -= q.switches
	p.ipis -= q.ipis
	p.timerSets -= q.timerSets
	p.timerTicks -= q.timerTicks
	p.fences -= q.fences
	p.lockWaits -= q.lockWaits
	p.lockTicks -= q.lockTicks
	p.idleTicks -= q.idleTicks
	p.idles -= q.idles
	p.heldTicks -= q.heldTicks
	p.userTicks -= q.userTicks
	p.userRuns -= q.userRuns
	p.uMigr -= q.uMigr
	p.kMigr -= q.kMigr
	for i := range p.heldHist {
		p.heldHist[i] -= q.heldHist[i]
		p.waitHist[i] -= q.waitHist[i]
	}
	for i := range p.sys {
		p.sys[i] -= q.sys[i]
	}
}

//go:nosplit
func profPrintAll(all *[maxHarts]hartProfile, now uint64, title string) {
	for k := int32(0); k < nharts && k < maxHarts; k++ {
		p := &all[k]
		puts(title)
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
		field(" timer-set-us", int64(ticksToNS(p.timerTicks)/1000))
		field(" fences", int64(p.fences))
		field(" lock-waits", int64(p.lockWaits))
		field(" lock-us", int64(ticksToNS(p.lockTicks)/1000))
		field(" idles", int64(p.idles))
		field(" idle-us", int64(ticksToNS(p.idleTicks)/1000))
		field(" user-us", int64(ticksToNS(p.userTicks)/1000))
		field(" user-runs", int64(p.userRuns))
		field(" u-migr", int64(p.uMigr))
		field(" k-migr", int64(p.kMigr))
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

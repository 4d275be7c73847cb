//go:build riscv64

package hart

import (
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/fdt"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Several harts. The boot hart is harts[0] (CPU 0, as Linux numbers it);
// the others are the device tree's available /cpus/cpu@N nodes (hart id
// = reg, not assumed contiguous), started with SBI HSM hart_start into
// secondaryEntry. Each has its own trap stack and emergency frame and
// stack (guard pages below), its own timer and its current thread; the
// thread table and the run queue are shared under bkl, and any hart runs
// any thread. A hart with nothing to run waits in WFI with bkl released
// and is woken by an IPI when a thread becomes runnable. Each hart arms
// its timer for the end of a time slice and for the deadlines of the
// threads that blocked on it (a sleep ends on the hart it began on, with
// no IPI), so a hart with neither takes no timer interrupts; the boot
// hart takes the PLIC's interrupts.

const maxHarts = fdt.MaxHarts

// SBI extensions for SMP (OpenSBI and KVM's SBI both have them).
const (
	sbiHSM    = 0x48534D   // "HSM": hart_start
	sbiIPI    = 0x735049   // "sPI": send_ipi
	sbiRFence = 0x52464E43 // "RFNC": remote fence.i, sfence.vma

	rfenceFenceI    = 0
	rfenceSfenceVMA = 1
)

// sysRKHartInfo is the hart layer's call behind CPUInfo (far from the
// other sysRK numbers in sys.go, which grow from the bottom).
const sysRKHartInfo = sysRunikraftBase + 0x40

var (
	nharts   int32  // harts online (harts[0:nharts])
	bootSATP uint64 // the kernel's satp, for secondaryEntry

	// bootClaimed is set by the first hart into entry; hartsPublished
	// once startHarts has numbered the others, so that a hart the
	// firmware sends to entry instead of secondaryEntry can find its
	// slot (entry_riscv64.s, late).
	bootClaimed    uint32
	hartsPublished uint32
)

// Implemented in smp_riscv64.s.
func secondaryEntry()
func secondaryEntryAddr() uintptr
func enterFrame(fr uintptr)
func sbicall4(ext, fid, a0, a1, a2, a3 uint64) (err uint64)
func readSscratch() uintptr

// selfCPU is the CPU running trap context now (-1 if it cannot tell).
//
//go:nosplit
func selfCPU() int32 {
	return emergIndex(readSscratch())
}

// emergIndex is k if fr is &emergFrames[k], else -1. Address arithmetic,
// not a search: every trap asks (isEmergFrame), whatever maxHarts is.
//
//go:nosplit
func emergIndex(fr uintptr) int32 {
	base := frameAddrOf(&emergFrames[0])
	off := fr - base
	if fr < base || off%unsafe.Sizeof(frame{}) != 0 {
		return -1
	}
	if k := off / unsafe.Sizeof(frame{}); k < maxHarts {
		return int32(k)
	}
	return -1
}

// initHart gives harts[k] its stacks and emergency frame; false when
// memory runs out.
//
//go:nosplit
func initHart(k int, id uint64) bool {
	if k < 0 || k >= maxHarts {
		return false
	}
	h := &harts[k]
	e := &emergHarts[k]
	h.id = uintptr(id)
	h.cpu = int32(k)
	h.cur = -1
	h.wakeAt = ^uint64(0)
	if h.trapSP == 0 {
		h.trapSP = allocStack(trapStackSize)
	}
	if e.trapSP == 0 {
		e.trapSP = allocStack(emergStackSize)
	}
	e.emerg = frameAddrOf(&emergFrames[k])
	e.cpu = int32(k)
	emergFrames[k].hart = hartAddr(e)
	h.emerg = frameAddrOf(&emergFrames[k])
	return h.trapSP != 0 && e.trapSP != 0
}

// startHarts starts every other available hart the device tree lists
// (up to maxHarts in all). A hart that the firmware will not start is
// left out; the others are numbered CPU 1, 2, ... in tree order.
//
//go:nosplit
func startHarts() {
	bootSATP = kpt.SATP()
	n := int32(1)
	for i := 0; i < machine.NHartID && i < fdt.MaxHarts && n < maxHarts; i++ {
		id := machine.HartID[i]
		if id == uint64(harts[0].id) {
			continue
		}
		if !initHart(int(n), id) {
			puts("runikraft: out of memory for a hart's stacks; it stays off\n")
			break
		}
		nharts = n + 1              // before the hart runs: it may look itself up
		h := &harts[n&(maxHarts-1)] // n < maxHarts, a power of two
		err, _ := sbicall(sbiHSM, 0, id, uint64(secondaryEntryAddr()), uint64(hartAddr(h)))
		if err != 0 {
			nharts = n
			continue // the slot (and its stacks) go to the next hart
		}
		n++
	}
	nharts = n
	atomic.StoreUint32(&hartsPublished, 1)
}

// secondaryMain runs each secondary hart from secondaryEntry: traps on,
// then the scheduler from an idle start. It never returns.
//
//go:nosplit
func secondaryMain(ha uintptr) {
	h := hartAt(ha)
	if h == nil {
		for {
			wfi() // not one of ours: stay parked
		}
	}
	detectSstc(h.cpu)
	setTrapVector(trapVectorAddr(), h.emerg)
	reg.SetSCOUNTEREN(scounterenTM)
	reg.WriteSIE(sieSTIE | sieSSIE)
	bkl.lock()
	h.cur = -1
	h.timerAt = 0
	fr := schedule(h)
	releaseBKL(h)
	enterFrame(fr)
}

// hartAt returns the hartState at address a, or nil if a is not one.
//
//go:nosplit
func hartAt(a uintptr) *hartState {
	base := hartAddr(&harts[0])
	off := a - base
	if a < base || off%unsafe.Sizeof(hartState{}) != 0 {
		return nil
	}
	if k := off / unsafe.Sizeof(hartState{}); k < maxHarts {
		return &harts[k]
	}
	return nil
}

// hartOf is the hart thread t runs on, or last ran on: its running
// frame's (the UserContext's while it is in user mode, as schedule
// stamps the frame it resumes).
//
//go:nosplit
func hartOf(t *thread) *hartState {
	return hartFor(curFrame(t).hart)
}

// hartFor is the hartState at address a (a frame's hart field); the boot
// hart's for a frame that never ran.
//
//go:nosplit
func hartFor(a uintptr) *hartState {
	if h := hartAt(a); h != nil {
		return h
	}
	return &harts[0]
}

// isEmergFrame reports whether fr is one of the emergency frames (a trap
// inside trap context landed there).
//
//go:nosplit
func isEmergFrame(fr uintptr) bool {
	return emergIndex(fr) >= 0
}

// onlineMask is the set of online CPUs (bit k = harts[k]).
//
//go:nosplit
func onlineMask() uint64 {
	n := nharts
	if n <= 0 {
		return 1
	}
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(n) - 1
}

// hartInfo answers sysRKHartInfo: the calling thread's CPU number in the
// low 32 bits and the number of online CPUs above.
//
//go:nosplit
func hartInfo(t *thread) int64 {
	return int64(nharts)<<32 | int64(hartOf(t).cpu)
}

// CPUInfo says how many CPUs (harts) are online, and which one the
// calling thread runs on now (it may be another by the time it looks).
func CPUInfo() (cpu, online int) {
	r, _, _ := syscall.RawSyscall(sysRKHartInfo, 0, 0, 0)
	return int(uint32(r)), int(r >> 32)
}

// UserCPU is the CPU on which the application thread running u last ran
// its own code (getcpu's answer; the kernel's handling of its system
// calls may run elsewhere); CPU 0 before it ever ran.
func UserCPU(u *UserContext) int {
	if h := hartAt(uintptr(atomic.LoadUint64(&u.Hart))); h != nil {
		return int(h.cpu)
	}
	return 0
}

// HartID returns the hart id (the device tree's reg) of CPU k.
func HartID(k int) (uint64, bool) {
	if k < 0 || k >= int(nharts) || k >= maxHarts {
		return 0, false
	}
	return uint64(harts[k].id), true
}

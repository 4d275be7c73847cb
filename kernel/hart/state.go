//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/fdt"
	"github.com/runikraft/runikraft/kernel/mm"
)

// frame is a thread's saved state. The trap vector fills the first part;
// FP registers are saved only when a hart switches threads.
// entry_riscv64.s and csr_riscv64.s take the offsets from go_asm.h; the
// saved x registers are at 8*n for xn, which the trap vector hard-codes.
type frame struct {
	hart   uintptr    // 0: the hartState running this frame
	x      [31]uint64 // 8: x1..x31 (x[n-1] is register xn)
	pc     uint64     // 256: sepc
	status uint64     // 264: sstatus
	cause  uint64     // 272: scause
	tval   uint64     // 280: stval
	f      [32]uint64 // 288: f0..f31
	fcsr   uint64     // 544
}

// Compile-time checks of the layout the assembly relies on beyond go_asm.h:
// x at 8 and the FP registers right after tval.
var (
	_ = [1]struct{}{}[unsafe.Offsetof(frame{}.x)-8]
	_ = [1]struct{}{}[unsafe.Offsetof(frame{}.pc)-256]
	_ = [1]struct{}{}[unsafe.Offsetof(frame{}.tval)-280]
	_ = [1]struct{}{}[unsafe.Offsetof(frame{}.f)-288]
	_ = [1]struct{}{}[unsafe.Offsetof(frame{}.fcsr)-544]
	_ = [1]struct{}{}[unsafe.Offsetof(thread{}.fr)]
)

// A UserContext is a user thread's frame in place (see enterUser): the
// same layout as frame up to fcsr.
var (
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.Hart)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.X)-unsafe.Offsetof(frame{}.x)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.PC)-unsafe.Offsetof(frame{}.pc)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.Status)-unsafe.Offsetof(frame{}.status)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.Cause)-unsafe.Offsetof(frame{}.cause)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.Tval)-unsafe.Offsetof(frame{}.tval)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.F)-unsafe.Offsetof(frame{}.f)]
	_ = [1]struct{}{}[unsafe.Offsetof(UserContext{}.FCSR)-unsafe.Offsetof(frame{}.fcsr)]
	_ = [1]struct{}{}[unsafe.Sizeof(UserContext{})-unsafe.Sizeof(frame{})-24]
)

// Indices into frame.x for the registers the hart layer reads.
const ()

// sstatus bits.
const (
	statusSIE  = 1 << 1
	statusSPIE = 1 << 5
	statusSPP  = 1 << 8
	statusFS   = 3 << 13
	statusFSCl = 2 << 13 // clean
	statusSUM  = 1 << 18
)

// Thread states.
const (
	tFree = iota
	tRunnable
	tRunning
	tBlocked
)

// What a blocked thread waits for.
const (
	wNone = iota
	wFutex
	wSleep
	wEpoll
	wIRQ
	wUserFutex // an application thread's futex (ufutex.go)
	wUserSleep // an application thread's short sleep (usleep.go); key: its rem
)

// thread is one kernel thread: an M of the Go runtime. Its frame must
// come first: sscratch points at it while it runs in the kernel. In user
// mode its frame is the UserContext at uctx instead (see enterUser), and
// fr keeps the kernel frame that EnterUser returns to.
type thread struct {
	fr       frame
	tid      int32
	state    uint8
	wait     uint8
	key      uintptr // futex address, epoll fd or IRQ number
	deadline uint64  // rdtime value that ends the wait; 0 = none
	inUser   bool    // the UserContext at uctx is the running frame
	ucBacked uintptr // a UserContext enterUser found backed, while kernelReleases is ucGen
	ucGen    uint64
	kick     bool    // leave user mode at the next resume
	uctx     uintptr // the UserContext while inUser
	appTid   uint32  // the application thread it last ran (its system call may be what faulted)
	bitset   uint32  // wUserFutex: FUTEX_WAIT_BITSET's mask
	handoff  bool    // wUserFutex: at the deadline, hand the wait to the posix layer
	seq      uint64  // wUserFutex: order of arrival, for FIFO wake-ups
	exact    bool    // wUserSleep: its deadline is armed exactly (exactAt), not on the grid
}

// hartState is per-hart; trapSP and emerg are read by the trap vector.
// A hart's fields are its own but for idle and ipiSent, which other
// harts read and write under bkl (smp.go).
type hartState struct {
	trapSP   uintptr // 0: top of this hart's trap stack
	emerg    uintptr // 8: frame that catches a trap inside the handler
	id       uintptr // hart id (the device tree's reg)
	cpu      int32   // CPU number: index in harts
	cur      int32   // running thread, -1 while idle
	preempt  bool    // the running thread's slice is over
	idle     bool    // waiting in WFI with bkl released
	ipiSent  bool    // woken by an IPI it has not yet seen
	sliceEnd uint64  // rdtime value when the running slice ends
	timerAt  uint64  // deadline programmed into the SBI timer; 0 = unknown
	wakeAt   uint64  // soonest deadline of the threads that blocked here (sched.go)
	rearm    bool    // timerAt not yet given to the SBI (releaseBKL does)
	fenceGen uint64  // fenceGen when it last flushed its TLB and I-cache
	fpOwner  uintptr // frame whose values the FP registers hold (fp.go)
}

const (
	maxThreads     = 512
	earlyStackSize = 16384 // entry_riscv64.s reads it (go_asm.h)
	// The runtime's main thread: its g0 stack is the 64 KiB below the
	// initial stack pointer (rt0_go, runtime/asm_riscv64.s), under the
	// argument strings and auxv; 8 KiB more for those, and the guard page
	// below catches anything past. It was 256 KiB, 192 of them unused.
	mainStackSize  = 72 << 10
	trapStackSize  = 32 << 10
	emergStackSize = 16 << 10

	// Kernel virtual layout (Sv39, 256 GiB): RAM identity-mapped from
	// 2 GiB (so DMA addresses are plain); below 2 GiB and 64-192 GiB are
	// the application's; then the runtime's mmap region, devices, and
	// kernel stacks with guard pages on top, so a trap stack is always
	// above every goroutine stack.
	kernelMmapBase = 0x30_0000_0000
	kernelMmapTop  = 0x3F_0000_0000
	stackRegion    = 0x3F_4000_0000
	mmioRegion     = 0x3E_0000_0000 // devices: mmioRegion + physical address
	mmioLimit      = 0x1_0000_0000  // devices must sit below 4 GiB

	// Round-robin time slice. Short, because one hart runs every thread:
	// a thread that waits by spinning on the clock (cheap since the vDSO)
	// holds the hart for a whole slice, and 10 ms made Go's timer tests
	// twice as slow.
	quantumNS = 2_000_000
)

// The hart layer's state. It is global because the trap vector and the
// boot path have nowhere else to find it; nothing here holds a Go pointer,
// so no write barrier is ever needed.
var (
	machine     fdt.Machine
	frames      mm.Frames
	kpt         mm.Table
	threads     *[maxThreads]thread // tables.go
	nthreads    int32               // highest thread index in use + 1
	harts       [maxHarts]hartState
	emergHarts  [maxHarts]hartState // each hart's emergency trap stack
	emergFrames [maxHarts]frame
	runq        ring
	earlyStack  [earlyStackSize]byte
	stackNext   uintptr = stackRegion
	bootWall    int64   // wall-clock ns at rdtime 0
	inFatal     bool
)

// ring is the run queue: thread indices in FIFO order.
type ring struct {
	q          [maxThreads]int32
	head, size int
}

//go:nosplit
func (r *ring) push(i int32) {
	if r.size >= maxThreads {
		return // cannot happen: each thread is queued at most once
	}
	r.q[uint(r.head+r.size)%maxThreads] = i
	r.size++
}

//go:nosplit
func (r *ring) pop() int32 {
	if r.size == 0 {
		return -1
	}
	i := r.q[uint(r.head)%maxThreads]
	r.head = (r.head + 1) % maxThreads
	r.size--
	return i
}

// popFor removes and returns the first thread in the queue that hart h
// may run (allowedOn), or -1. Threads it passes over keep their order.
//
//go:nosplit
func (r *ring) popFor(h *hartState) int32 {
	for n := 0; n < r.size && n < maxThreads; n++ {
		at := uint(r.head+n) % maxThreads
		i := r.q[at]
		if i < 0 || i >= maxThreads || !allowedOn(&threads[i], h) {
			continue
		}
		// Close the gap: shift the n threads before it back by one.
		for k := n; k > 0; k-- {
			r.q[uint(r.head+k)%maxThreads] = r.q[uint(r.head+k-1)%maxThreads]
		}
		r.head = (r.head + 1) % maxThreads
		r.size--
		return i
	}
	return -1
}

// frameAddr is the address of thread i's running frame: its kernel
// frame, or its UserContext in user mode.
//
//go:nosplit
func frameAddr(i int32) uintptr {
	if i < 0 || i >= maxThreads {
		return 0
	}
	t := &threads[i]
	if t.inUser {
		return t.uctx
	}
	return uintptr(unsafe.Pointer(&t.fr))
}

// curFrame is thread t's running frame (see frameAddr).
//
//go:nosplit
func curFrame(t *thread) *frame {
	if t.inUser {
		return (*frame)(ptr(t.uctx))
	}
	return &t.fr
}

//go:build riscv64

package hart

import "sync/atomic"

// spinlock is the hart layer's lock for trap context. sync/atomic's
// Swap, Load and Store are compiler intrinsics on riscv64: they compile
// to AMOSWAP.W.AQRL, LR.W.AQ and AMOSWAP.W.AQRL in place, with no call
// into the runtime, so they are safe with interrupts off, no g and no
// stack check (TestTrapContext would see any call). The AQRL swap orders
// every access in the critical section after the acquisition and before
// the release, which is what the futex re-check under the lock and the
// run queue rely on.
type spinlock struct{ v uint32 }

//go:nosplit
func (l *spinlock) lock() {
	for atomic.SwapUint32(&l.v, 1) != 0 {
		// Spin on a plain read (no store traffic) until it looks free.
		for atomic.LoadUint32(&l.v) != 0 {
		}
	}
}

//go:nosplit
func (l *spinlock) unlock() { atomic.StoreUint32(&l.v, 0) }

// bkl serialises all of trap context across harts: the thread table and
// run queue, futex and epoll waits, the page tables and the frame
// allocator, the PLIC, the console and the random generator. Trap
// handlers are short (the Go code a thread runs between traps, and user
// mode, run in parallel on every hart); one lock keeps the single-hart
// code's reasoning intact. trap takes it after the trap vector saved the
// frame and drops it just before resuming a frame; a hart going idle
// drops it around WFI.
var bkl spinlock

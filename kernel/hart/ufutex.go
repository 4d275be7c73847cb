//go:build riscv64

package hart

import (
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Application futexes in trap context. FUTEX_WAIT parks the application
// thread's kernel thread right here, its goroutine still inside
// EnterUser, and FUTEX_WAKE from another application thread makes it
// runnable again: it resumes in user mode with 0 in a0, and the Go
// scheduler never hears of either. Two threads handing a futex back and
// forth cost two traps and one thread switch per hand-off.
//
// The posix layer keeps its own futex queue (sys_futex.go) for what is
// not answered here: requeues, FUTEX_CLOCK_REALTIME, --strace, waits that
// last (below). The two queues stay one futex:
//
//   - a wake here happens only while the posix queue has no waiter on
//     the address (its userFutexSlow bucket is 0); otherwise the posix layer wakes, its own
//     waiters first and then these through UserFutexWake;
//   - the posix layer counts a waiter in userFutexSlow before it reads
//     the futex word, so a wake here that saw 0 came before that read
//     and the waiter sees the new value.
//
// A wait parked here keeps its kernel thread and, from the Go runtime's
// view, a system call in progress, which may hold the runtime's P until
// sysmon retakes it. So it lasts at most handOffNS: a wait that is not
// woken by then leaves user mode as an ordinary system call and the
// posix layer waits instead (its timeout then starts afresh: late by at
// most handOffNS, like Linux's timer slack). Waits also go to the posix
// layer once half the kernel thread slots have been used, which these
// parked threads must not exhaust. A kick (signal, exit, stop) ends a
// wait here as interrupted (abi.CauseInterruptedCall).
//
// SMP: the compare-and-block and the wake scan rely on trap context
// being atomic on the one hart; with more harts they need a lock, and
// the posix layer's counter a fence between its store and the word's read.

// handOffNS bounds a wait parked in the hart layer.
const handOffNS = 200_000

// userFutexSlow counts the posix layer's futex waiters (atomic), per
// bucket of futex addresses (userFutexBucket): a wake here needs only
// its own address's bucket empty. Most of a glibc program's wakes find
// no waiter at all (a mutex unlock that saw contention a moment ago);
// those stay in trap context while other addresses have posix waiters.
var userFutexSlow [64]int32

// userFutexBucket is addr's counter in userFutexSlow.
//
//go:nosplit
func userFutexBucket(addr uintptr) *int32 {
	return &userFutexSlow[(addr>>2)%uintptr(len(userFutexSlow))]
}

// userFutexParked counts the threads parked here (atomic; changed under
// bkl, read without it by UserFutexWake).
var userFutexParked int32

// userFutexSeq orders parked waiters for FIFO wake-ups.
var userFutexSeq uint64

// userFutex answers futex(2) for t's user frame f, or reports false to
// leave it to the posix layer.
//
//go:nosplit
func userFutex(t *thread, f *frame) bool {
	addr, op, val := uintptr(f.x[abi.RegA0]), f.x[abi.RegA1], uint32(f.x[abi.RegA2])
	if addr%4 != 0 || op&linux.FUTEX_CLOCK_REALTIME != 0 {
		return false
	}
	bitset := ^uint32(0)
	var r int64
	switch cmd := op &^ linux.FUTEX_PRIVATE_FLAG; cmd {
	case linux.FUTEX_WAIT, linux.FUTEX_WAIT_BITSET:
		if cmd == linux.FUTEX_WAIT_BITSET {
			if bitset = uint32(f.x[abi.RegA5]); bitset == 0 {
				return false
			}
		}
		if nthreads >= maxThreads/2 {
			return false
		}
		cur, ok := getUser32(addr)
		if !ok {
			return false
		}
		if cur != val {
			r = -int64(linux.EAGAIN)
			break
		}
		now := reg.ReadTime()
		deadline, handoff := now+nsToTicks(handOffNS), true
		if ts := uintptr(f.x[abi.RegA3]); ts != 0 {
			sec, nsec, ok := getUserPair(ts)
			if !ok || int64(sec) < 0 || nsec >= 1e9 {
				return false // EFAULT, EINVAL: the posix layer's answers
			}
			if sec > 1<<32 {
				sec = 1 << 32 // about 136 years: forever
			}
			ns := int64(sec)*1e9 + int64(nsec)
			var at uint64
			if cmd == linux.FUTEX_WAIT_BITSET {
				at = nsToTicks(ns) // absolute CLOCK_MONOTONIC
			} else if ns > 0 {
				at = now + nsToTicks(ns) + 1
			}
			if at <= now {
				r = -int64(linux.ETIMEDOUT)
				break
			}
			if at <= deadline {
				deadline, handoff = at, false
			}
		}
		block(t, wUserFutex, addr, deadline)
		atomic.AddInt32(&userFutexParked, 1) // wake counts it down
		t.bitset = bitset
		t.handoff = handoff
		userFutexSeq++
		t.seq = userFutexSeq
		return true
	case linux.FUTEX_WAKE, linux.FUTEX_WAKE_BITSET:
		if cmd == linux.FUTEX_WAKE_BITSET {
			if bitset = uint32(f.x[abi.RegA5]); bitset == 0 {
				return false
			}
		}
		if int32(val) <= 0 || atomic.LoadInt32(userFutexBucket(addr)) != 0 {
			return false
		}
		r = userFutexWake(addr, int64(int32(val)), bitset)
	default:
		return false
	}
	f.x[abi.RegA0] = uint64(r)
	f.pc += 4
	return true
}

// userFutexWake wakes up to n application threads parked on addr whose
// bitset meets bitset: one in order of arrival, more in slot order.
//
//go:nosplit
func userFutexWake(addr uintptr, n int64, bitset uint32) int64 {
	if atomic.LoadInt32(&userFutexParked) == 0 {
		return 0 // nothing to scan for: most wakes of a glibc program (a mutex unlock, a signal with no waiter)
	}
	if n == 1 {
		best := int32(-1)
		var seq uint64
		for j := int32(0); j < nthreads && j < maxThreads; j++ {
			w := &threads[j]
			if w.state == tBlocked && w.wait == wUserFutex && w.key == addr && w.bitset&bitset != 0 && (best < 0 || w.seq < seq) {
				best, seq = j, w.seq
			}
		}
		if best < 0 || best >= maxThreads {
			return 0
		}
		finish(&threads[best], 0)
		wake(best)
		return 1
	}
	woken := int64(0)
	for j := int32(0); j < nthreads && j < maxThreads && woken < n; j++ {
		w := &threads[j]
		if w.state == tBlocked && w.wait == wUserFutex && w.key == addr && w.bitset&bitset != 0 {
			finish(w, 0)
			wake(j)
			woken++
		}
	}
	return woken
}

// userFutexRequeue moves up to n threads parked on from to wait on to
// (the posix layer's FUTEX_REQUEUE after its own waiters).
//
//go:nosplit
func userFutexRequeue(from, to uintptr, n int64) int64 {
	moved := int64(0)
	for j := int32(0); j < nthreads && j < maxThreads && moved < n; j++ {
		w := &threads[j]
		if w.state == tBlocked && w.wait == wUserFutex && w.key == from {
			w.key = to
			moved++
		}
	}
	return moved
}

// interruptUserWait ends thread i's parked futex wait because of a kick:
// EnterUser returns with abi.CauseInterruptedCall, a0 = -ERESTARTSYS.
//
//go:nosplit
func interruptUserWait(i int32, t *thread) {
	const errRestartSys = 512
	endParkedCall(i, t, errRestartSys)
}

// endParkedCall ends thread i's system call parked in trap context with
// -errno (a restart code the posix layer turns into EINTR or a restart):
// the call's a0 is kept for a restart, and EnterUser returns with
// abi.CauseInterruptedCall.
//
//go:nosplit
func endParkedCall(i int32, t *thread, errno int64) {
	f := curFrame(t)
	uctxAt(t.uctx).ArgA0 = f.x[abi.RegA0]
	f.x[abi.RegA0] = neg(errno)
	f.pc += 4
	leaveUser(t, abi.CauseInterruptedCall)
	wake(i)
}

// handOff gives a parked futex wait to the posix layer: EnterUser
// returns with the call not done (pc on the ECALL), as if it had just
// been made. The caller makes t runnable.
//
//go:nosplit
func handOff(t *thread) {
	leaveUser(t, linux.EnvironmentCallFromUMode)
}

// getUser32 reads the aligned word at application address p.
//
//go:nosplit
func getUser32(p uintptr) (uint32, bool) {
	if p%4 != 0 {
		return 0, false
	}
	pa, ok := userPA(p, false)
	if !ok {
		return 0, false
	}
	return *(*uint32)(ptr(pa)), true
}

// getUserPair reads two words at application address p (8-aligned, both
// in one page).
//
//go:nosplit
func getUserPair(p uintptr) (a, b uint64, ok bool) {
	if p%8 != 0 || p%mm.PageSize > mm.PageSize-16 {
		return 0, 0, false
	}
	pa, ok := userPA(p, false)
	if !ok {
		return 0, 0, false
	}
	return get64(pa), get64(pa + 8), true
}

// handOffIdle hands every futex wait parked here to the posix layer, and
// reports whether it did, when no hart has anything to run: the hart
// layer would otherwise wait for a deadline or an interrupt with the
// waits' threads still holding, for the Go runtime, system calls in
// progress, and with them the runtime's Ps, so a goroutine that needs a
// P (the posix layer's handling of another thread's call, which may be
// the wake these waits want) waits for sysmon to retake one; the kernel
// runtime's sysmon sleeps at least 1 ms (sys.go). Handed off, each wait's
// goroutine parks in the posix layer, and its P runs that goroutine at
// once. Called by idle under bkl; every other hart must be idle too (one
// that runs a thread may be about to wake the waits here).
//
//go:nosplit
func handOffIdle(h *hartState) bool {
	if atomic.LoadInt32(&userFutexParked) == 0 {
		return false
	}
	if !othersIdle(h) {
		return false
	}
	done := false
	for i := int32(0); i < nthreads && i < maxThreads; i++ {
		t := &threads[i]
		if t.state == tBlocked && t.wait == wUserFutex && t.handoff {
			handOff(t)
			wake(i)
			done = true
		}
	}
	return done
}

package app

import (
	"testing"
)

// System calls on the kernel's fast paths (answered in trap context, or
// a futex wait parked in the hart layer) keep Linux's semantics
// (testdata/c/syscalls.c, one mode per run). The same program gives the
// same output under qemu-riscv64 on Linux.

// A thread whose loop makes only calls answered in trap context still
// gets its signal.
func TestSignalReachesFastCallLoop(t *testing.T) {
	expect(t, run(t, nil, "c-syscalls", "signal"), 0, "fast-call loop saw the signal: yes\n")
}

// A futex wait interrupted by a handler: EINTR without SA_RESTART, and
// with SA_RESTART the wait goes on until the futex is woken; the "-rt"
// modes wait as glibc's condition variable does, which the posix layer
// answers (its waiter wakes on one channel for wake, signal and exit).
func TestFutexWaitInterrupted(t *testing.T) {
	for _, sfx := range []string{"", "-rt"} {
		expect(t, run(t, nil, "c-syscalls", "eintr"+sfx), 0, "no SA_RESTART: handler ran: yes, wait ended with EINTR: yes\n")
		expect(t, run(t, nil, "c-syscalls", "restart"+sfx), 0, "SA_RESTART: handler ran: yes, EINTR seen: 0\n")
	}
}

// Futex timeouts, shorter and longer than a wait the hart layer keeps,
// relative and absolute, and the errors that come before any waiting.
func TestFutexTimeouts(t *testing.T) {
	expect(t, run(t, nil, "c-syscalls", "timeouts"), 0, "relative 0 us: ETIMEDOUT\n"+
		"relative 100 us: ETIMEDOUT\n"+
		"relative 30000 us: ETIMEDOUT\n"+
		"absolute, past: ETIMEDOUT\n"+
		"absolute, 50 ms ahead: ETIMEDOUT\n"+
		"value changed: EAGAIN\n"+
		"bad timeout: EINVAL\n"+
		"bad address: EFAULT\n")
}

// Threads blocked in a futex wait and a pipe read let the others run.
func TestBlockedThreadsLetOthersRun(t *testing.T) {
	expect(t, run(t, nil, "c-syscalls", "blocking"), 0, "main thread ran while two threads blocked: yes; both woke: yes\n")
}

// A futex handed back and forth loses no wake-up, in the hart layer's
// queue alone and while the posix layer's has waiters too.
func TestFutexPingPong(t *testing.T) {
	expect(t, run(t, nil, "c-syscalls", "pingpong", "5000"), 0, "ping-pong 5000 rounds: alone ok, next to posix waits ok\n")
}

// Application threads keep their own FP registers and rounding mode
// across every kind of kernel entry (the kernel moves FP state lazily).
func TestFPStateAcrossCalls(t *testing.T) {
	expect(t, run(t, nil, "c-syscalls", "fp"), 0, "FP state kept across calls: yes; main thread's rounding still to nearest: yes\n")
}

// Sleeps never end early, whether the hart layer parks them (short ones,
// kernel/hart/usleep.go, exactly or under 50 µs on the timer grid) or
// the posix layer waits (long ones), relative
// and absolute, on both clocks; a signal ends a short and a long sleep
// with EINTR (nanosleep is not restarted after a handler, SA_RESTART or
// not) and the time left in rem. No timing threshold: only "not early".
func TestSleeps(t *testing.T) {
	expect(t, run(t, nil, "c-syscalls", "sleeps"), 0, "nanosleep: never early\n"+
		"clock_nanosleep relative MONOTONIC: never early\n"+
		"clock_nanosleep relative REALTIME: never early\n"+
		"clock_nanosleep absolute MONOTONIC: never early\n"+
		"clock_nanosleep absolute REALTIME: never early\n"+
		"signal during a 1000 us sleep: EINTR: yes, rem within the request: yes\n"+
		"signal during a 5000000 us sleep: EINTR: yes, rem within the request: yes\n")
}

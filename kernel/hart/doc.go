// Package hart is the hart layer: the small operating system that the
// kernel's own, unmodified Go runtime runs on in S-mode.
//
// The kernel is an ordinary GOOS=linux GOARCH=riscv64 program. The image
// builder (internal/image) turns each ECALL in it into an EBREAK and lists
// their addresses, so the runtime's "Linux system calls" trap into
// trapVector here instead of going to the SBI firmware. A program becomes
// a bootable kernel by importing this package.
//
// What the runtime gets from the hart layer (the whole contract):
//
//	boot            Linux-like process start: argc/argv/envp/auxv (AT_PAGESZ,
//	                AT_RANDOM, AT_HWCAP) on a guarded stack, FP enabled,
//	                paging on (Sv39, W^X, page 0 unmapped), traps on.
//	clone, exit     kernel threads for the runtime's Ms; preemptive round
//	                robin on the timer (2 ms slices, tickless when idle)
//	                over every hart (smp.go).
//	sched_getaffinity
//	                the online harts, so GOMAXPROCS = harts.
//	futex           WAIT/WAKE(_BITSET) with timeouts.
//	nanosleep, clock_gettime, gettimeofday
//	                rdtime at the device tree's timebase; wall clock from
//	                the goldfish RTC at boot. The runtime's own nanotime
//	                and walltime call kclockGettime as its vDSO function
//	                instead (kclock.go): no trap.
//	mmap, munmap, madvise, mprotect
//	                anonymous memory, backed lazily on first touch, so the
//	                runtime's large PROT_NONE reservations cost nothing;
//	                MADV_DONTNEED returns pages; W+X refused. The
//	                application's pages never take the kernel's reserve
//	                (boot.go), so these faults still find RAM after the
//	                application has run out (it is killed instead).
//	epoll_create1, epoll_ctl, epoll_pwait, eventfd2, read, write
//	                enough for the netpoller to sleep until its next timer
//	                and to be woken by another thread.
//	write(1|2)      the console (ns16550a UART, polled).
//	getrandom       ChaCha20 keyed from the device tree's rng-seed and
//	                reseeded from virtio-rng (Reseed).
//	exit_group      power off through QEMU virt's test finisher, so the
//	                host sees the exit status; SBI SRST otherwise.
//	rt_sigaction, rt_sigprocmask, sigaltstack, sched_yield,
//	prlimit64, prctl, fcntl, openat (ENOENT), close,
//	getpid, gettid, tgkill
//	                answered so the runtime is content; no signal is ever
//	                delivered to the kernel's runtime, so it runs with
//	                GODEBUG=asyncpreemptoff=1, and a fatal signal it raises
//	                powers off with 128+signal.
//
// Anything else returns ENOSYS and is logged once.
//
// Trap context: trap and everything it calls run with interrupts off on
// the hart's own trap stack, with the interrupted thread's g. That code
// is nosplit, allocates nothing, keeps no Go pointers in globals (so no
// write barrier), and touches kernel memory given by a syscall only after
// backed has faulted it in. A trap inside the handler lands in an
// emergency frame and powers off with a report; an unexpected trap in the
// kernel prints the registers with symbol names and exits with status 70.
// TestTrapContext (trapctx_test.go) checks these rules on the linker's
// call graph from trapVector and entry: nosplit, no runtime call but
// memmove/memclr (so no allocation, no write barrier and no bounds or
// divide check that could panic), and a bounded stack.
//
// CopyIn and CopyOut are trap-context calls too, except on one hart when
// every page is already present: then the calling goroutine copies with
// interrupts off, which keeps the walk and the copy as atomic as the trap
// did (copydirect.go).
//
// Device interrupts do not run handlers in trap context: WaitIRQ blocks a
// driver goroutine until its PLIC source fires.
//
// Application system calls normally end EnterUser and go to the posix
// layer on the thread's own goroutine. A few never leave the hart layer:
// trapVector itself answers getpid through gettid (fastentry.go), trap
// answers the clocks (fastcall.go), and FUTEX_WAIT/FUTEX_WAKE between
// application threads park and resume the threads here (ufutex.go). An
// application thread's UserContext is its trap frame while it is in user
// mode, and FP registers move only when changed (fp.go), so entering and
// leaving user mode copies no registers.
//
// Several harts: every available hart in the device tree (up to
// maxHarts) is started through SBI HSM and runs threads from one run
// queue; a thread in user mode with an affinity (UserContext.Affinity,
// sched_setaffinity) is resumed only on its harts. All of trap context
// runs under one spinlock (bkl, spinlock.go), taken after the trap vector
// saved the frame and released just before a frame is resumed (SBI timer
// and IPI calls wait until after the release); Go code and user mode run
// in parallel. Idle harts
// wait in WFI and are woken by IPIs; unmapped or narrowed memory is shot
// down on the other busy harts through SBI RFENCE before the lock is
// released (ipi.go). Each hart's timer keeps the deadlines of the threads
// that blocked on it; the boot hart takes the PLIC's interrupts; a
// driver's WaitIRQ may run on any hart.
package hart

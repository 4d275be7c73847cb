//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// The Linux system calls that the kernel's own Go runtime (and the kernel
// packages through package syscall) make. This is the whole contract
// between the stock runtime and the hart layer; see doc.go for the list
// and why each answer is enough. Trap context: see trap.go.

// riscv64 Linux syscall numbers used here.
const (
	sysMaxLinux      = 512
	sysRunikraftBase = 0x7000 // the hart layer's own calls, see api.go
	sysRKWaitIRQ     = sysRunikraftBase + 1
	sysRKReseed      = sysRunikraftBase + 2
	sysRKMemStats    = sysRunikraftBase + 3
	sysRKConsoleRead = sysRunikraftBase + 4
	sysRKAllocDMA    = sysRunikraftBase + 5
	sysRKEnterUser   = sysRunikraftBase + 6 // no longer a system call (userentry.go); hartprof's count of entries
	sysRKKick        = sysRunikraftBase + 7
	sysRKUserMap     = sysRunikraftBase + 8
	sysRKUserUnmap   = sysRunikraftBase + 9
	sysRKUserProtect = sysRunikraftBase + 10
	sysRKUserAdvise  = sysRunikraftBase + 11
	sysRKCopyIn      = sysRunikraftBase + 12
	sysRKCopyOut     = sysRunikraftBase + 13
	sysRKFutexWake   = sysRunikraftBase + 14 // ufutex.go
	sysRKFutexMove   = sysRunikraftBase + 15
)

// Linux errno values.
const ()

const exitKernelPanic = abi.ExitKernelPanic

// minSleepNS is the shortest nanosleep of the kernel's runtime: its
// sysmon polls with 20 µs sleeps for a while after each time it retook a
// P, and it retakes the P of every thread that stays in user mode (a
// blocking call to the runtime) for 10 ms, so a hart running one busy
// application thread kept another hart waking about a thousand times a
// second (hartprof: with 2 harts, the 1-goroutine bench/smp program's
// kernel sleeps fell from 1,000-1,200 to 330-460 a run, its timer
// programmings from 2,700 to 1,000-1,300, with this floor). The runtime's
// only other nanosleep is a 3 µs pause before stealing a P's next
// goroutine; its timers and futex waits do not come here.
const minSleepNS = 1_000_000

// reported remembers which unknown syscalls were already logged.
var reported [sysMaxLinux / 64]uint64

// doSyscall runs the call in thread i's registers.
//
//go:nosplit
func doSyscall(i int32, t *thread) {
	f := &t.fr
	nr := f.x[abi.RegA7]
	a0, a1, a2, a3 := f.x[abi.RegA0], f.x[abi.RegA1], f.x[abi.RegA2], f.x[abi.RegA3]
	var r int64
	switch nr {
	case linux.SYS_WRITE:
		r = sysWriteFD(int64(a0), uintptr(a1), uintptr(a2))
	case linux.SYS_READ:
		r = sysReadFD(int64(a0), uintptr(a1), uintptr(a2))
	case linux.SYS_CLOCK_GETTIME:
		r = clockGettime(a0, uintptr(a1))
	case linux.SYS_GETTIMEOFDAY:
		r = gettimeofday(uintptr(a0))
	case linux.SYS_FUTEX:
		if !futex(i, t) {
			return
		}
		r = int64(f.x[abi.RegA0])
	case linux.SYS_NANOSLEEP:
		ns, ok := readTimespec(uintptr(a0))
		if ok {
			ns = max(ns, minSleepNS)
			block(t, wSleep, 0, reg.ReadTime()+nsToTicks(ns)+1)
			return
		}
		r = -int64(linux.EFAULT)
	case linux.SYS_SCHED_YIELD:
		hartOf(t).preempt = true
	case linux.SYS_MMAP:
		r = kmmap(uintptr(a0), uintptr(a1), uint32(a2), uint32(a3), int64(f.x[abi.RegA4]))
	case linux.SYS_MUNMAP:
		r = kspace.munmap(uintptr(a0), uintptr(a1))
	case linux.SYS_MADVISE:
		r = kspace.madvise(uintptr(a0), uintptr(a1), a2)
	case linux.SYS_MPROTECT:
		r = kspace.mprotect(uintptr(a0), uintptr(a1), uint32(a2))
	case linux.SYS_CLONE:
		r = clone(t, a0, a1, a3)
	case linux.SYS_EXIT:
		t.state = tFree
		return
	case linux.SYS_EXIT_GROUP:
		powerOff(uint32(a0 & 0xff))
	case linux.SYS_GETTID:
		r = int64(t.tid)
	case linux.SYS_GETPID:
		r = 1
	case linux.SYS_GETPPID:
		r = 0
	case linux.SYS_KILL, linux.SYS_TKILL, linux.SYS_TGKILL:
		r = kill(nr, a0, a1, a2)
	case linux.SYS_RT_SIGACTION:
		r = zeroOut(uintptr(a2), 24) // old action: SIG_DFL
	case linux.SYS_RT_SIGPROCMASK:
		r = zeroOut(uintptr(a2), 8) // old mask: empty
	case linux.SYS_SIGALTSTACK:
		r = sigaltstack(uintptr(a1))
	case linux.SYS_SCHED_GETAFFINITY:
		r = schedGetaffinity(uintptr(a1), uintptr(a2))
	case linux.SYS_PRLIMIT64:
		r = prlimit(a1, uintptr(a3))
	case linux.SYS_PRCTL:
		r = 0
	case linux.SYS_FCNTL:
		r = fcntl(int64(a0), a1)
	case linux.SYS_OPENAT:
		r = -int64(linux.ENOENT) // the kernel's runtime has no files; it copes
	case linux.SYS_CLOSE:
		r = kclose(int64(a0))
	case linux.SYS_GETRANDOM:
		r = getrandom(uintptr(a0), uintptr(a1))
	case linux.SYS_EVENTFD2:
		r = eventfd(a0)
	case linux.SYS_EPOLL_CREATE1:
		r = epollCreate()
	case linux.SYS_EPOLL_CTL:
		r = epollCtl(int64(a0), a1, int64(a2), uintptr(a3))
	case linux.SYS_EPOLL_PWAIT:
		if !epollWait(t, int64(a0), uintptr(a1), int64(a2), int64(int32(a3))) {
			return
		}
		r = int64(f.x[abi.RegA0])
	case sysRKWaitIRQ:
		if !waitIRQ(t, a0, a1) {
			return
		}
		r = int64(f.x[abi.RegA0])
	case sysRKReseed:
		r = reseed(uintptr(a0), uintptr(a1))
	case sysRKMemStats:
		r = memStats(uintptr(a0))
	case linux.SYS_RISCV_HWPROBE:
		r = -int64(linux.ENOSYS) // the runtime falls back to AT_HWCAP quietly
	case sysRKAllocDMA:
		r = allocDMA(a0)
	case sysRKKick:
		r = kick(uintptr(a0))
	case sysRKUserMap:
		r = uspace.mmap(uintptr(a0), uintptr(a1), uint32(a2), a3&MapFixed != 0, a3&MapNoReplace != 0, commitLimit(a3))
	case sysRKUserUnmap:
		r = uspace.munmap(uintptr(a0), uintptr(a1))
	case sysRKUserProtect:
		r = uspace.mprotect(uintptr(a0), uintptr(a1), uint32(a2))
	case sysRKUserAdvise:
		r = uspace.madvise(uintptr(a0), uintptr(a1), a2)
	case sysRKCopyIn:
		r = copyUser(uintptr(a0), uintptr(a1), uintptr(a2), false)
	case sysRKHartInfo:
		r = hartInfo(t)
	case sysRKCopyOut:
		r = copyUser(uintptr(a0), uintptr(a1), uintptr(a2), true)
	case sysRKFutexWake:
		r = userFutexWake(uintptr(a0), int64(a1), uint32(a2))
	case sysRKFutexMove:
		r = userFutexRequeue(uintptr(a0), uintptr(a1), int64(a2))
	case sysRKReleaseInitrd:
		r = releaseInitrd()
	case sysRKAdoptInitrdPage:
		r = adoptInitrdPage(uintptr(a0), uintptr(a1))
	default:
		r = unknownSyscall(nr, f.pc)
	}
	finish(t, r)
}

//go:nosplit
func unknownSyscall(nr, pc uint64) int64 {
	if nr < sysMaxLinux {
		bit := uint64(1) << (nr % 64)
		if reported[(nr/64)%uint64(len(reported))]&bit == 0 {
			reported[(nr/64)%uint64(len(reported))] |= bit
			puts("runikraft: kernel runtime made unsupported syscall ")
			putDec(int64(nr))
			puts(" at ")
			putHex(pc)
			puts(": ENOSYS\n")
		}
	}
	return -int64(linux.ENOSYS)
}

// backed makes sure every page of [p, p+n) is mapped (faulting lazily
// backed pages in now) so trap-context code can touch it. write asks for
// writable pages.
//
//go:nosplit
func backed(p, n uintptr, write bool) bool {
	if n == 0 {
		return true
	}
	if p+n < p || p+n > mm.VALimit {
		return false
	}
	cause := uint64(linux.LoadPageFault)
	if write {
		cause = linux.StoreAMOPageFault
	}
	for va := pageDown(p); va < p+n; va += mm.PageSize {
		pte, _ := kpt.Lookup(va)
		if pte&mm.PTEValid != 0 && pte&mm.PTEUser == 0 && (!write || pte&mm.PTEWrite != 0) {
			continue
		}
		if !kernelFault(uint64(va), cause) {
			return false
		}
	}
	return true
}

//go:nosplit
func zeroOut(p, n uintptr) int64 {
	if p == 0 {
		return 0
	}
	if !backed(p, n, true) {
		return -int64(linux.EFAULT)
	}
	for i := uintptr(0); i < n; i++ {
		*(*byte)(ptr(p + i)) = 0
	}
	return 0
}

//go:nosplit
func put64(p uintptr, v uint64) { *mm.Word(p) = v }

//go:nosplit
func get64(p uintptr) uint64 { return *mm.Word(p) }

//go:nosplit
func sysWriteFD(fd int64, p, n uintptr) int64 {
	if fd == 1 || fd == 2 {
		if !backed(p, n, false) {
			return -int64(linux.EFAULT)
		}
		consoleWrite(p, n)
		return int64(n)
	}
	if k := kfileAt(fd); k != nil && k.kind == kEventfd {
		if n < 8 || !backed(p, 8, false) {
			return -int64(linux.EINVAL)
		}
		k.count += get64(p)
		wakeEpoll()
		return 8
	}
	return -int64(linux.EBADF)
}

//go:nosplit
func sysReadFD(fd int64, p, n uintptr) int64 {
	if k := kfileAt(fd); k != nil && k.kind == kEventfd {
		if n < 8 || !backed(p, 8, true) {
			return -int64(linux.EINVAL)
		}
		if k.count == 0 {
			return -int64(linux.EAGAIN)
		}
		put64(p, k.count)
		k.count = 0
		return 8
	}
	return -int64(linux.EBADF)
}

//go:nosplit
func clone(t *thread, flags, stack, tls uint64) int64 {
	const cloneSettls = 0x80000
	i := newThread()
	if i < 0 || i >= maxThreads {
		return -int64(linux.EAGAIN)
	}
	c := &threads[i]
	c.fr = t.fr
	c.fr.x[abi.RegSP] = stack
	c.fr.x[abi.RegA0] = 0
	c.fr.pc += 4
	if flags&cloneSettls != 0 {
		c.fr.x[abi.RegTP] = tls
	}
	c.tid = i + 1
	c.state = tRunnable
	c.wait = wNone
	c.deadline = 0
	runq.push(i)
	kickIdle(0)
	return int64(c.tid)
}

// futex implements FUTEX_WAIT(_BITSET) and FUTEX_WAKE(_BITSET), private
// or shared (one address space, so the same). It reports false when the
// thread blocked.
//
//go:nosplit
func futex(i int32, t *thread) bool {
	const (
		opWait       = 0
		opWake       = 1
		opWaitBitset = 9
		opWakeBitset = 10
	)
	f := &t.fr
	addr := uintptr(f.x[abi.RegA0])
	op := f.x[abi.RegA1] & 127
	val := uint32(f.x[abi.RegA2])
	switch op {
	case opWait, opWaitBitset:
		if addr&3 != 0 || !backed(addr, 4, false) {
			f.x[abi.RegA0] = neg(int64(linux.EFAULT))
			return true
		}
		if *(*uint32)(ptr(addr)) != val {
			f.x[abi.RegA0] = neg(int64(linux.EAGAIN))
			return true
		}
		var deadline uint64
		if ts := uintptr(f.x[abi.RegA3]); ts != 0 {
			ns, ok := readTimespec(ts)
			if !ok {
				f.x[abi.RegA0] = neg(int64(linux.EFAULT))
				return true
			}
			if op == opWaitBitset { // absolute CLOCK_MONOTONIC
				deadline = nsToTicks(ns)
			} else {
				deadline = reg.ReadTime() + nsToTicks(ns)
			}
			if deadline == 0 {
				deadline = 1
			}
		}
		block(t, wFutex, addr, deadline)
		return false
	case opWake, opWakeBitset:
		n := int64(0)
		for j := int32(0); j < nthreads && j < maxThreads && n < int64(val); j++ {
			w := &threads[j]
			if w.state == tBlocked && w.wait == wFutex && w.key == addr {
				finish(w, 0)
				wake(j)
				n++
			}
		}
		f.x[abi.RegA0] = uint64(n)
		return true
	}
	f.x[abi.RegA0] = neg(int64(linux.ENOSYS))
	return true
}

//go:nosplit
func readTimespec(p uintptr) (int64, bool) {
	if !backed(p, 16, false) {
		return 0, false
	}
	sec, nsec := int64(get64(p)), int64(get64(p+8))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, false
	}
	if sec > 1<<32 {
		sec = 1 << 32 // about 136 years: forever for our purposes
	}
	return sec*1e9 + nsec, true
}

//go:nosplit
func kill(nr, a0, a1, a2 uint64) int64 {
	sig := a1
	if nr == linux.SYS_TGKILL {
		sig = a2
	}
	switch sig {
	case 4, 5, 6, 7, 8, 9, 11, 15: // ILL, TRAP, ABRT, BUS, FPE, KILL, SEGV, TERM
		puts("runikraft: kernel runtime raised fatal signal ")
		putDec(int64(sig))
		puts("\n")
		powerOff(uint32(128 + sig))
	}
	return 0 // SIGURG and friends: nothing to deliver to
}

//go:nosplit
func sigaltstack(old uintptr) int64 {
	if old == 0 {
		return 0
	}
	if !backed(old, 24, true) {
		return -int64(linux.EFAULT)
	}
	const ssDisable = 2
	put64(old, 0)
	put64(old+8, ssDisable)
	put64(old+16, 0)
	return 0
}

//go:nosplit
func schedGetaffinity(size, mask uintptr) int64 {
	if size < 8 {
		return -int64(linux.EINVAL)
	}
	if !backed(mask, 8, true) {
		return -int64(linux.EFAULT)
	}
	put64(mask, onlineMask())
	return 8
}

//go:nosplit
func prlimit(resource uint64, old uintptr) int64 {
	if old == 0 {
		return 0
	}
	if !backed(old, 16, true) {
		return -int64(linux.EFAULT)
	}
	const rlimitNofile = 7
	v := ^uint64(0)
	if resource == rlimitNofile {
		v = maxKFiles
	}
	put64(old, v)
	put64(old+8, v)
	return 0
}

//go:nosplit
func fcntl(fd int64, cmd uint64) int64 {
	const fGetfl = 3
	if (fd < 0 || fd > 2) && kfileAt(fd) == nil {
		return -int64(linux.EBADF)
	}
	if cmd == fGetfl {
		return 2 // O_RDWR
	}
	return 0
}

// neg is -errno as a register value.
//
//go:nosplit
func neg(errno int64) uint64 { return uint64(-errno) }

// allocDMA hands out physically contiguous pages; RAM is identity-mapped,
// so the address is both the device's and the kernel's.
//
//go:nosplit
func allocDMA(pages uint64) int64 {
	if pages == 0 || pages > 1024 {
		return -int64(linux.EINVAL)
	}
	p := frames.AllocContig(int(pages))
	if p == 0 {
		return -int64(linux.ENOMEM)
	}
	dmaPages += pages
	return int64(p)
}

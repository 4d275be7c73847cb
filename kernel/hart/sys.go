//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// The Linux system calls that the kernel's own Go runtime (and the kernel
// packages through package syscall) make. This is the whole contract
// between the stock runtime and the hart layer; see doc.go for the list
// and why each answer is enough. Trap context: see trap.go.

// riscv64 Linux syscall numbers used here.
const (
	sysEventfd2      = 19
	sysEpollCreate1  = 20
	sysEpollCtl      = 21
	sysEpollPwait    = 22
	sysFcntl         = 25
	sysOpenat        = 56
	sysClose         = 57
	sysPipe2         = 59
	sysRead          = 63
	sysWrite         = 64
	sysExit          = 93
	sysExitGroup     = 94
	sysFutex         = 98
	sysNanosleep     = 101
	sysClockGettime  = 113
	sysSchedGetaffin = 123
	sysSchedYield    = 124
	sysKill          = 129
	sysTkill         = 130
	sysTgkill        = 131
	sysSigaltstack   = 132
	sysRtSigaction   = 134
	sysRtSigprocmask = 135
	sysPrctl         = 167
	sysGettimeofday  = 169
	sysGetpid        = 172
	sysGetppid       = 173
	sysGettid        = 178
	sysMunmap        = 215
	sysClone         = 220
	sysMmap          = 222
	sysMprotect      = 226
	sysMadvise       = 233
	sysPrlimit64     = 261
	sysRiscvHwprobe  = 258
	sysGetrandom     = 278
	sysMaxLinux      = 512
	sysRunikraftBase = 0x7000 // the hart layer's own calls, see api.go
	sysRKWaitIRQ     = sysRunikraftBase + 1
	sysRKReseed      = sysRunikraftBase + 2
	sysRKMemStats    = sysRunikraftBase + 3
	sysRKConsoleRead = sysRunikraftBase + 4
	sysRKAllocDMA    = sysRunikraftBase + 5
	sysRKEnterUser   = sysRunikraftBase + 6
	sysRKKick        = sysRunikraftBase + 7
	sysRKUserMap     = sysRunikraftBase + 8
	sysRKUserUnmap   = sysRunikraftBase + 9
	sysRKUserProtect = sysRunikraftBase + 10
	sysRKUserAdvise  = sysRunikraftBase + 11
	sysRKCopyIn      = sysRunikraftBase + 12
	sysRKCopyOut     = sysRunikraftBase + 13
)

// Linux errno values.
const (
	errEPERM        = 1
	errENOENT       = 2
	errEBADF        = 9
	errEAGAIN       = 11
	errENOMEM       = 12
	errEACCES       = 13
	errEFAULT       = 14
	errEEXIST       = 17
	errEINVAL       = 22
	errEMFILE       = 24
	errENAMETOOLONG = 36
	errENOSYS       = 38
	errETIMEDOUT    = 110
)

const exitKernelPanic = abi.ExitKernelPanic

// reported remembers which unknown syscalls were already logged.
var reported [sysMaxLinux / 64]uint64

// doSyscall runs the call in thread i's registers.
//
//go:nosplit
func doSyscall(i int32, t *thread) {
	f := &t.fr
	nr := f.x[rA7]
	a0, a1, a2, a3 := f.x[rA0], f.x[rA1], f.x[rA2], f.x[rA3]
	var r int64
	switch nr {
	case sysWrite:
		r = sysWriteFD(int64(a0), uintptr(a1), uintptr(a2))
	case sysRead:
		r = sysReadFD(int64(a0), uintptr(a1), uintptr(a2))
	case sysClockGettime:
		r = clockGettime(a0, uintptr(a1))
	case sysGettimeofday:
		r = gettimeofday(uintptr(a0))
	case sysFutex:
		if !futex(i, t) {
			return
		}
		r = int64(f.x[rA0])
	case sysNanosleep:
		ns, ok := readTimespec(uintptr(a0))
		if ok {
			block(t, wSleep, 0, reg.ReadTime()+nsToTicks(ns)+1)
			return
		}
		r = -errEFAULT
	case sysSchedYield:
		harts[0].preempt = true
	case sysMmap:
		r = kmmap(uintptr(a0), uintptr(a1), uint32(a2), uint32(a3), int64(f.x[rA4]))
	case sysMunmap:
		r = kspace.munmap(uintptr(a0), uintptr(a1))
	case sysMadvise:
		r = kspace.madvise(uintptr(a0), uintptr(a1), a2)
	case sysMprotect:
		r = kspace.mprotect(uintptr(a0), uintptr(a1), uint32(a2))
	case sysClone:
		r = clone(t, a0, a1, a3)
	case sysExit:
		t.state = tFree
		return
	case sysExitGroup:
		powerOff(uint32(a0 & 0xff))
	case sysGettid:
		r = int64(t.tid)
	case sysGetpid:
		r = 1
	case sysGetppid:
		r = 0
	case sysKill, sysTkill, sysTgkill:
		r = kill(nr, a0, a1, a2)
	case sysRtSigaction:
		r = zeroOut(uintptr(a2), 24) // old action: SIG_DFL
	case sysRtSigprocmask:
		r = zeroOut(uintptr(a2), 8) // old mask: empty
	case sysSigaltstack:
		r = sigaltstack(uintptr(a1))
	case sysSchedGetaffin:
		r = schedGetaffinity(uintptr(a1), uintptr(a2))
	case sysPrlimit64:
		r = prlimit(a1, uintptr(a3))
	case sysPrctl:
		r = 0
	case sysFcntl:
		r = fcntl(int64(a0), a1)
	case sysOpenat:
		r = -errENOENT // the kernel's runtime has no files; it copes
	case sysClose:
		r = kclose(int64(a0))
	case sysGetrandom:
		r = getrandom(uintptr(a0), uintptr(a1))
	case sysEventfd2:
		r = eventfd(a0)
	case sysEpollCreate1:
		r = epollCreate()
	case sysEpollCtl:
		r = epollCtl(int64(a0), a1, int64(a2), uintptr(a3))
	case sysEpollPwait:
		if !epollWait(t, int64(a0), uintptr(a1), int64(a2), int64(int32(a3))) {
			return
		}
		r = int64(f.x[rA0])
	case sysRKWaitIRQ:
		if !waitIRQ(t, a0) {
			return
		}
		r = int64(f.x[rA0])
	case sysRKReseed:
		r = reseed(uintptr(a0), uintptr(a1))
	case sysRKMemStats:
		r = memStats(uintptr(a0))
	case sysRiscvHwprobe:
		r = -errENOSYS // the runtime falls back to AT_HWCAP quietly
	case sysRKAllocDMA:
		r = allocDMA(a0)
	case sysRKEnterUser:
		enterUser(t, uintptr(a0))
		return
	case sysRKKick:
		r = kick(uintptr(a0))
	case sysRKUserMap:
		r = uspace.mmap(uintptr(a0), uintptr(a1), uint32(a2), a3&MapFixed != 0, a3&MapNoReplace != 0)
	case sysRKUserUnmap:
		r = uspace.munmap(uintptr(a0), uintptr(a1))
	case sysRKUserProtect:
		r = uspace.mprotect(uintptr(a0), uintptr(a1), uint32(a2))
	case sysRKUserAdvise:
		r = uspace.madvise(uintptr(a0), uintptr(a1), a2)
	case sysRKCopyIn:
		r = copyUser(uintptr(a0), uintptr(a1), uintptr(a2), false)
	case sysRKCopyOut:
		r = copyUser(uintptr(a0), uintptr(a1), uintptr(a2), true)
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
	return -errENOSYS
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
	cause := uint64(excLoadPage)
	if write {
		cause = excStorePage
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
		return -errEFAULT
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
			return -errEFAULT
		}
		consoleWrite(p, n)
		return int64(n)
	}
	if k := kfileAt(fd); k != nil && k.kind == kEventfd {
		if n < 8 || !backed(p, 8, false) {
			return -errEINVAL
		}
		k.count += get64(p)
		wakeEpoll()
		return 8
	}
	return -errEBADF
}

//go:nosplit
func sysReadFD(fd int64, p, n uintptr) int64 {
	if k := kfileAt(fd); k != nil && k.kind == kEventfd {
		if n < 8 || !backed(p, 8, true) {
			return -errEINVAL
		}
		if k.count == 0 {
			return -errEAGAIN
		}
		put64(p, k.count)
		k.count = 0
		return 8
	}
	return -errEBADF
}

//go:nosplit
func clone(t *thread, flags, stack, tls uint64) int64 {
	const cloneSettls = 0x80000
	i := newThread()
	if i < 0 || i >= maxThreads {
		return -errEAGAIN
	}
	c := &threads[i]
	c.fr = t.fr
	c.fr.x[rSP] = stack
	c.fr.x[rA0] = 0
	c.fr.pc += 4
	if flags&cloneSettls != 0 {
		c.fr.x[rTP] = tls
	}
	c.tid = i + 1
	c.state = tRunnable
	c.wait = wNone
	c.deadline = 0
	runq.push(i)
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
	addr := uintptr(f.x[rA0])
	op := f.x[rA1] & 127
	val := uint32(f.x[rA2])
	switch op {
	case opWait, opWaitBitset:
		if addr&3 != 0 || !backed(addr, 4, false) {
			f.x[rA0] = neg(errEFAULT)
			return true
		}
		if *(*uint32)(ptr(addr)) != val {
			f.x[rA0] = neg(errEAGAIN)
			return true
		}
		var deadline uint64
		if ts := uintptr(f.x[rA3]); ts != 0 {
			ns, ok := readTimespec(ts)
			if !ok {
				f.x[rA0] = neg(errEFAULT)
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
		f.x[rA0] = uint64(n)
		return true
	}
	f.x[rA0] = neg(errENOSYS)
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
	if nr == sysTgkill {
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
		return -errEFAULT
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
		return -errEINVAL
	}
	if !backed(mask, 8, true) {
		return -errEFAULT
	}
	put64(mask, 1) // one hart
	return 8
}

//go:nosplit
func prlimit(resource uint64, old uintptr) int64 {
	if old == 0 {
		return 0
	}
	if !backed(old, 16, true) {
		return -errEFAULT
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
		return -errEBADF
	}
	if cmd == fGetfl {
		return 2 // O_RDWR
	}
	return 0
}

//go:nosplit
func memStats(p uintptr) int64 {
	if !backed(p, 32, true) {
		return -errEFAULT
	}
	inUse, total := frames.Stats()
	put64(p, inUse*mm.PageSize)
	put64(p+8, total*mm.PageSize)
	put64(p+16, uint64(kareas.Len()))
	put64(p+24, uint64(nthreads))
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
		return -errEINVAL
	}
	p := frames.AllocContig(int(pages))
	if p == 0 {
		return -errENOMEM
	}
	return int64(p)
}

//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Trap handling. Everything reached from trap runs with interrupts off on
// the hart's trap stack: it must be nosplit, must not allocate, must not
// store Go pointers and must not fault (kernel pointers from syscalls are
// faulted in by hand first; see backed).

const (
	sieSSIE = 1 << 1
	sieSTIE = 1 << 5
	sieSEIE = 1 << 9
)

//go:nosplit
func ptr(a uintptr) unsafe.Pointer { return unsafe.Add(nil, a) }

//go:nosplit
func frameAddrOf(f *frame) uintptr { return uintptr(unsafe.Pointer(f)) }

//go:nosplit
func hartAddr(h *hartState) uintptr { return uintptr(unsafe.Pointer(h)) }

// trap is called by trapVector with the frame it saved and returns the
// frame to resume (the same thread, or another after a switch).
//
//go:nosplit
func trap(fr uintptr) uintptr {
	if isEmergFrame(fr) {
		fatalNested(fr)
	}
	h := hartAt(*(*uintptr)(ptr(fr))) // frame.hart: set when it was resumed here
	if h == nil {
		fatal(&emergFrames[0], "trap frame names no hart")
		return fr // not reached: fatal powers off
	}
	// lockFreeCall's own first test, here: with one hart (its only
	// case that does not return false at once) no call for each trap.
	if nharts > 1 && lockFreeCall(h, fr) {
		return fr
	}
	profLock(h)
	i := h.cur
	if i < 0 || i >= maxThreads || frameAddr(i) != fr {
		fatal(ptrFrame(h.emerg), "trap frame does not belong to the running thread")
		return fr // not reached: fatal powers off
	}
	t := &threads[i]
	f := curFrame(t) // the frame trapVector filled: fr
	cause := f.cause
	profTrap(h, cause, f.status&statusSPP == 0)
	if cause&linux.CauseInterrupt != 0 {
		switch cause &^ linux.CauseInterrupt {
		case linux.SupervisorTimerInterrupt:
			h.timerAt = 0 // fired: must be reprogrammed to clear STIP
			now := reg.ReadTime()
			expire(now)
			if now >= h.sliceEnd {
				h.preempt = true
			}
		case linux.SupervisorExternalInterrupt:
			pollPLIC()
		case linux.SupervisorSoftwareInterrupt:
			reg.ClearSIP(sieSSIE)
		}
	} else if f.status&statusSPP == 0 {
		userTrap(t, cause)
	} else {
		switch cause {
		case linux.Breakpoint:
			if !isEcallSite(t.fr.pc) {
				fatal(&t.fr, "breakpoint")
			}
			profSys(h, t.fr.x[abi.RegA7])
			doSyscall(i, t)
		case linux.InstructionPageFault, linux.LoadPageFault, linux.StoreAMOPageFault:
			if !kernelFault(t.fr.tval, cause) {
				fatal(&t.fr, "page fault")
			}
		default:
			fatal(&t.fr, causeName(cause))
		}
	}
	next, ok := stay(h) // stay.go; else schedule (one call fewer than a wrapper of both)
	if !ok {
		next = schedule(h)
	}
	profResume(h, next)
	releaseBKL(h) // next is this hart's alone now: resume reads only it
	return next
}

//go:nosplit
func ptrFrame(a uintptr) *frame { return (*frame)(ptr(a)) }

// ecallSeen remembers sites isEcallSite found, by pc/2 modulo its
// length: a handful of them (futex's, nanosleep's, epoll's) make
// almost every call. Only table entries are ever stored, each a whole
// aligned word, so a hart reading while another writes sees an old
// site, a new one or zero: never a pc that is not a site.
var ecallSeen [16]uint64

// isEcallSite reports whether pc is one of the ECALLs the baker turned
// into EBREAK (ecallSeen, then a binary search of the sorted table).
//
//go:nosplit
func isEcallSite(pc uint64) bool {
	slot := &ecallSeen[(pc>>1)%uint64(len(ecallSeen))]
	if *slot == pc && pc != 0 {
		return true
	}
	if !searchEcallSites(pc) {
		return false
	}
	*slot = pc
	return true
}

// searchEcallSites is isEcallSite's binary search of the table.
//
//go:nosplit
func searchEcallSites(pc uint64) bool {
	n := int(bootInfo[biNSites])
	if n > maxSites {
		n = maxSites
	}
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		v := bootInfo[biSites+mid%maxSites]
		if v == pc {
			return true
		}
		if v < pc {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return false
}

//go:nosplit
func causeName(c uint64) string {
	switch c {
	case linux.InstructionAddressMisaligned:
		return "instruction address misaligned"
	case linux.InstructionAccessFault:
		return "instruction access fault"
	case linux.IllegalInstruction:
		return "illegal instruction"
	case linux.LoadAccessFault:
		return "load access fault"
	case linux.StoreAMOAccessFault:
		return "store access fault"
	case linux.EnvironmentCallFromUMode:
		return "ecall from user mode"
	}
	return "unexpected trap"
}

// fatal reports an unrecoverable kernel trap with the registers and the
// symbols of pc and ra, then powers off with a non-zero status.
//
//go:nosplit
func fatal(f *frame, what string) {
	if inFatal {
		fatalNested(frameAddrOf(f))
	}
	inFatal = true
	puts("\nrunikraft: kernel panic: ")
	puts(what)
	puts("\n  pc ")
	putHex(f.pc)
	putSym(f.pc)
	puts("\n  ra ")
	putHex(f.x[abi.RegRA])
	putSym(f.x[abi.RegRA])
	puts("\n  cause ")
	putHex(f.cause)
	puts(" tval ")
	putHex(f.tval)
	puts(" status ")
	putHex(f.status)
	h := hartAt(f.hart)
	if h == nil {
		h = &harts[0]
	}
	puts(" hart ")
	putDec(int64(h.id))
	puts(" kernel thread ")
	putDec(int64(h.cur))
	if c := h.cur; c >= 0 && c < maxThreads && threads[c].appTid != 0 {
		// The goroutine on this kernel thread last ran that application
		// thread: the fault is most likely in handling its system call.
		puts(" (last ran application thread ")
		putDec(int64(threads[c].appTid))
		puts(")")
	}
	for r := 2; r <= 31; r++ {
		if (r-2)%4 == 0 {
			puts("\n ")
		}
		puts(" x")
		putDec(int64(r))
		if r < 10 {
			putc(' ')
		}
		putc(' ')
		putHex(f.x[(r-1)%31])
	}
	puts("\n")
	powerOff(exitKernelPanic)
}

// fatalNested handles a trap inside the trap handler: the emergency frame
// holds where it happened.
//
//go:nosplit
func fatalNested(fr uintptr) {
	f := ptrFrame(fr)
	puts("\nrunikraft: kernel panic: trap inside the trap handler at pc ")
	putHex(f.pc)
	puts(" cause ")
	putHex(f.cause)
	puts(" tval ")
	putHex(f.tval)
	puts("\n")
	powerOff(exitKernelPanic)
}

// funcInfo mirrors the runtime's funcInfo (two pointers) so the fault
// report can name functions with the runtime's own symbol table.
type funcInfo struct {
	fn    unsafe.Pointer
	datap unsafe.Pointer
}

//go:linkname findfunc runtime.findfunc
func findfunc(pc uintptr) funcInfo

//go:linkname funcname runtime.funcname
func funcname(f funcInfo) string

// putSym prints " (name)" for a kernel text address.
//
//go:nosplit
func putSym(pc uint64) {
	if pc < bootInfo[biTextStart] || pc >= bootInfo[biTextEnd] {
		return
	}
	f := findfunc(uintptr(pc))
	if f.fn == nil {
		return
	}
	puts(" (")
	puts(funcname(f))
	puts(")")
}

//go:build riscv64

package hart

import "github.com/runikraft/runikraft/kernel/mm"

// A small copy from application memory without a trap. The posix layer
// reads futex words, timespecs and the like thousands of times a second
// (a condition variable's wait reads its word once per wait); through
// the system call each read was an EBREAK, the whole trap path and
// three page-table walks: about 900 guest instructions for 4 bytes, a
// tenth of the churn benchmark's run. A page that is present, readable
// and the application's is read here instead, in the calling goroutine,
// with interrupts off and bkl held, so no trap context on any hart can
// unmap it or free its page table while it is read. Anything else (a
// page not yet backed, a bad address, a copy across pages) takes the
// system call, which faults pages in and gives EFAULT as before.

// peekMax is the largest copy peekUser makes: the bytes are staged on
// the goroutine's stack, as dst may be a kernel page not yet backed,
// whose fault must not be taken with bkl held.
const peekMax = 32

// peekUser copies len(dst) <= peekMax bytes from application address src
// when the page is present and readable, and reports whether it did.
func peekUser(dst []byte, src uintptr) bool {
	n := uintptr(len(dst))
	if n == 0 || n > peekMax || src >= mm.VALimit || src%mm.PageSize+n > mm.PageSize {
		return false
	}
	var buf [peekMax]byte
	if !peekLocked(&buf, src, n) {
		return false
	}
	copy(dst, buf[:n])
	return true
}

// peekLocked is the part under bkl. Interrupts go off first, then the
// stack below is touched (stackProbe) so that the page-table walk's
// frames cannot fault on a kernel stack page not yet backed while bkl is
// held (the fault's trap would wait for bkl on this hart forever); buf
// is the caller's, already written.
//
//go:nosplit
func peekLocked(buf *[peekMax]byte, src, n uintptr) bool {
	s := intrOff()
	stackProbe()
	bkl.lock()
	pte, size := kpt.Lookup(src)
	const need = mm.PTEValid | mm.PTEUser | mm.PTERead
	ok := pte&need == need && size == mm.PageSize
	if ok {
		from := (*[mm.PageSize]byte)(ptr(mm.PTEPage(pte)))
		off := src % mm.PageSize
		for i := uintptr(0); i < n && i < peekMax && off+i < mm.PageSize; i++ {
			buf[i] = from[off+i]
		}
	}
	bkl.unlock()
	intrRestore(s)
	return ok
}

// Implemented in peek_riscv64.s.

// intrOff clears sstatus.SIE and returns sstatus as it was.
func intrOff() uintptr

// intrRestore sets sstatus.SIE again if s (from intrOff) had it.
func intrRestore(s uintptr)

// stackProbe writes a zero word stackProbeDepth bytes below its caller's
// stack pointer, where nothing of the caller's lives (a nosplit chain's
// room below the stack guard), so that the page is backed.
func stackProbe()

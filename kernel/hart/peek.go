//go:build riscv64

package hart

import (
	"encoding/binary"

	"github.com/runikraft/runikraft/kernel/mm"
)

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

// peekMax is the largest copy peekUser makes: a futex word, a pointer,
// a timespec. The words are loaded under bkl and stored into dst after
// it is released: dst may be a kernel page not yet backed, whose fault
// must not be taken with bkl held.
const peekMax = 16

// peekUser copies len(dst) <= peekMax bytes from application address src
// when the page is present and readable and the bytes lie in one aligned
// word (or, from an aligned address, two), and reports whether it did.
func peekUser(dst []byte, src uintptr) bool {
	n := uintptr(len(dst))
	if n == 0 || n > peekMax || src >= mm.VALimit || src%mm.PageSize+n > mm.PageSize {
		return false
	}
	if src%8+n > 8 && (src%8 != 0 || n > 16) {
		return false
	}
	lo, hi, ok := peekLocked(src)
	if !ok {
		return false
	}
	lo >>= 8 * (src % 8)
	switch n {
	case 4: // a futex word
		binary.LittleEndian.PutUint32(dst, uint32(lo))
	case 8:
		binary.LittleEndian.PutUint64(dst, lo)
	default:
		for i := range dst {
			if i < 8 {
				dst[i] = byte(lo >> (8 * i))
			} else {
				dst[i] = byte(hi >> (8 * (i - 8)))
			}
		}
	}
	return true
}

// peekLocked loads the aligned word holding src and the one after it
// when src is aligned (both within src's page: the caller checked that
// the range fits it), if the page is present, readable and the
// application's. Interrupts go off first, then the stack below is
// touched (stackProbe) so that the page-table walk's frames cannot fault
// on a kernel stack page not yet backed while bkl is held (the fault's
// trap would wait for bkl on this hart forever).
//
//go:nosplit
func peekLocked(src uintptr) (lo, hi uint64, ok bool) {
	s := irqOff()
	stackProbe()
	bkl.lock()
	pte, size := kpt.Lookup(src)
	const need = mm.PTEValid | mm.PTEUser | mm.PTERead
	if ok = pte&need == need && size == mm.PageSize; ok {
		w := mm.PTEPage(pte) + src%mm.PageSize&^7
		lo = *(*uint64)(ptr(w))
		if src%8 == 0 && w%mm.PageSize != mm.PageSize-8 {
			hi = *(*uint64)(ptr(w + 8))
		}
	}
	bkl.unlock()
	irqRestore(s)
	return lo, hi, ok
}

// Implemented in peek_riscv64.s.

// stackProbe writes a zero word 384 bytes below its caller's stack
// pointer, where nothing of the caller's lives (a nosplit chain's room
// below the stack guard), so that the page is backed.
func stackProbe()

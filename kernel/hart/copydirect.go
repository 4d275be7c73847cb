//go:build riscv64

package hart

import "github.com/runikraft/runikraft/kernel/mm"

// Copies to and from the application without a trap. CopyIn and CopyOut
// were each a system call of the hart layer (the trap vector saving a
// frame, the dispatch, the resume: 700-900 guest instructions with the
// copy), and a server makes two or three per request (a read's data, a
// write's, epoll's events). What the trap gave them is that the page-table
// walk and the copy happen with nothing else running: no other thread can
// unmap the page and see its frame reused in between. With one hart, the
// same holds with interrupts off on it: nothing preempts the goroutine,
// and no other hart exists to change the tables. So with one hart, a copy
// whose pages are all present with the access it needs is done here, with
// sstatus.SIE off; anything else (several harts, a page not yet backed,
// the shared zero page to write, a bad address, a long copy) goes through
// the trap as before, which faults pages in and answers EFAULT.

// maxDirectCopy bounds how long interrupts stay off (16 pages).
const maxDirectCopy = 16 * mm.PageSize

// Implemented in csr_riscv64.s.
func irqOff() (sstatus uint64)
func irqRestore(sstatus uint64)

// copyMapped is CopyIn's and CopyOut's direct copy (api.go): with one
// hart, n at most maxDirectCopy, interrupts off, it copies n bytes
// between kernel address k and application address u (toUser: from k to
// u) and reports true, or reports false having copied nothing that
// matters: the caller then copies through the trap, which redoes the
// whole copy. Page by page, the application's page through the kernel's
// identity map of RAM, as copyUser does in trap context, the kernel's
// page checked present (a heap page not yet backed would fault, and
// faults are the trap path's business).
//
//go:nosplit
func copyMapped(k, u, n uintptr, toUser bool) bool {
	if !uspace.contains(u, n) || k+n < k || k+n > mm.VALimit {
		return false
	}
	need := uint64(mm.PTEValid | mm.PTEUser | mm.PTERead)
	kneed := uint64(mm.PTEValid)
	if toUser {
		need |= mm.PTEWrite
	} else {
		kneed |= mm.PTEWrite
	}
	for done := uintptr(0); done < n; {
		ua, ka := u+done, k+done
		chunk := min(n-done, mm.PageSize-ua%mm.PageSize, mm.PageSize-ka%mm.PageSize)
		pte, size := kpt.Lookup(ua)
		if pte&need != need || size == 0 || chunk > mm.PageSize {
			return false
		}
		if kpte, _ := kpt.Lookup(ka); kpte&kneed != kneed || kpte&mm.PTEUser != 0 {
			return false
		}
		pa := mm.PTEPage(pte) + ua&(size-1)
		to, from := pa, ka
		if !toUser {
			to, from = ka, pa
		}
		// Page-sized array pointers, as copyUser: no check that could
		// panic with interrupts off; chunk never crosses a page of either.
		copy((*[mm.PageSize]byte)(ptr(to))[:chunk], (*[mm.PageSize]byte)(ptr(from))[:chunk])
		done += chunk
	}
	return true
}

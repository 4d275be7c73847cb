//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
)

// The zero page: an application's first access to a page of anonymous
// memory that is a read (a load fault) maps one shared page of zeros,
// read-only, as Linux does, instead of a page of its own; a write later
// faults and gets its own page then (unshare). Go's runtime reads much of
// its metadata before writing it (its heap index, the page allocator's
// summaries): at 18 MiB the 2,000-goroutine program of bench/memory had
// 282 of its pages backed by reads, 112 of them still all zero when it
// ran out of memory. Executable areas always get a page of their own.
// The page table never frees the zero page (Unmap) nor makes a leaf
// that maps it writable (Protect): see mm.Table.SetShared.
var zeroPage uintptr

// sfencePage flushes this hart's TLB entry for one page
// (zeropage_riscv64.s).
func sfencePage(va uintptr)

// initZeroPage takes the zero page; boot calls it once paging is on.
//
//go:nosplit
func initZeroPage() bool {
	zeroPage = frames.AllocZeroed()
	if zeroPage == 0 {
		return false
	}
	kpt.SetShared(zeroPage)
	return true
}

// mapZero maps the zero page read-only at page, for a load fault in
// area a; it reports whether it did (false: not for this fault, or no
// RAM for a page table, then oom).
//
//go:nosplit
func (s *space) mapZero(page uintptr, a mm.Area, cause uint64) (done, oom bool) {
	if !s.user || zeroPage == 0 || cause != linux.LoadPageFault || a.Prot&mm.ProtExec != 0 {
		return false, false
	}
	if !kpt.Map(&frames, page, zeroPage, s.pte(a.Prot)&^(mm.PTEWrite|mm.PTEDirty)) {
		return false, true
	}
	return true, false
}

// unshare gives page, which maps the zero page, a zeroed page of its
// own with area a's rights, after a write to it faulted. Every hart's
// TLB drops the old entry before the writer goes on, so none reads
// zeros from the shared page after the write.
//
//go:nosplit
func (s *space) unshare(page uintptr, a mm.Area) (ok, oom bool) {
	pa := frames.AllocUser()
	if pa == 0 {
		return false, true
	}
	if !kpt.Map(&frames, page, pa, s.pte(a.Prot)) { // the leaf's table exists: no allocation
		frames.Free(pa)
		return false, true
	}
	noteUserPage()
	sfencePage(page)
	remoteSfence(page, mm.PageSize)
	return true, false
}

//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/mm"
)

// The hart layer's big tables, the thread table and the two area maps,
// live in a virtual region of their own and are backed page by page as
// they fill. In the image's .bss they took 512 KiB at any machine size
// (320 KiB of 512 thread slots, 96 KiB for each map's 4,096 areas),
// about 3% of a 16 MiB machine, while a Go program with thousands of
// goroutines uses a dozen thread slots and a few dozen areas: a few
// pages.
//
// The tables are reached through pointers that boot sets (setTablePtr);
// a page is backed only from the boot hart before the others start, or
// under bkl, and a page once backed stays, so no TLB can hold a stale
// entry for one.
const (
	tableRegion = 0x3F_2000_0000 // above kernelMmapTop, below stackRegion: nothing else maps here
	threadsVA   = tableRegion
	kareasVA    = tableRegion + 0x8_0000
	uareasVA    = tableRegion + 0x10_0000
)

// threadBytes is one thread slot's size.
const threadBytes = unsafe.Sizeof(thread{})

// The regions must not overlap, and all of them lie below stackRegion.
var (
	_ = [kareasVA - threadsVA - unsafe.Sizeof(thread{})*maxThreads]struct{}{}
	_ = [uareasVA - kareasVA - unsafe.Sizeof(mm.Areas{})]struct{}{}
	_ = [stackRegion - uareasVA - unsafe.Sizeof(mm.Areas{})]struct{}{}
)

// lazyTable is one table's virtual range and how much of it is backed.
type lazyTable struct {
	base, size uintptr
	backed     uintptr // bytes from base backed so far, whole pages
}

var (
	threadsTable = lazyTable{base: threadsVA, size: unsafe.Sizeof(thread{}) * maxThreads}
	kareasTable  = lazyTable{base: kareasVA, size: unsafe.Sizeof(mm.Areas{})}
	uareasTable  = lazyTable{base: uareasVA, size: unsafe.Sizeof(mm.Areas{})}
	tablePages   uint64 // pages backing them (the memory account)
)

// ensure backs the table's first n bytes (at most its size); false when
// RAM is exhausted. Its pages are the kernel's: they may take the reserve.
//
//go:nosplit
func (t *lazyTable) ensure(n uintptr) bool {
	n = min(n, t.size)
	for t.backed < n {
		pa := frames.AllocZeroed()
		if pa == 0 {
			return false
		}
		if !kpt.Map(&frames, t.base+t.backed, pa, kernRW) {
			frames.Free(pa)
			return false
		}
		tablePages++
		t.backed += mm.PageSize
	}
	return true
}

// areasRoom backs enough of an area map for any one change to it: an
// mmap may split an area (Remove) and add one, an mprotect split one
// twice (mm.AreasBytes's rule is Len()+2 entries).
//
//go:nosplit
func (s *space) areasRoom() bool {
	return s.table.ensure(mm.AreasBytes(s.areas.Len() + 3))
}

// setTablePtr stores the address a into the pointer variable at p as a
// plain word: boot runs before the runtime, and a typed pointer store
// would bring a write barrier into trap context.
//
//go:nosplit
func setTablePtr(p unsafe.Pointer, a uintptr) { *(*uintptr)(p) = a }

// initTables backs each table's first entries and points the hart layer
// at them. Boot calls it once paging is on, before the first thread slot
// or area is used.
//
//go:nosplit
func initTables() bool {
	if !threadsTable.ensure(unsafe.Sizeof(thread{})) || !kareasTable.ensure(mm.AreasBytes(3)) || !uareasTable.ensure(mm.AreasBytes(3)) {
		return false
	}
	setTablePtr(unsafe.Pointer(&threads), threadsVA)
	setTablePtr(unsafe.Pointer(&kspace.areas), kareasVA)
	setTablePtr(unsafe.Pointer(&uspace.areas), uareasVA)
	return true
}

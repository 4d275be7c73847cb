//go:build riscv64

package hart

import (
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
)

// sysRKReleaseInitrd is the hart layer's call behind ReleaseInitrd (far
// from the other sysRK numbers, which grow from the bottom of their
// range).
const sysRKReleaseInitrd = sysRunikraftBase + 0x60

// initrdReleased is set once the initrd's pages went to the allocator;
// from then on Initrd returns nil.
var initrdReleased bool

// ReleaseInitrd gives the pages of the bytes Initrd returns to the page
// allocator and reports how many bytes that was. Call it only once
// nothing reads those bytes any more (the loader has copied the program
// out, and what crash reports need is copied too): the pages are reused
// at once. Partial pages at either end stay where they are, as do pages
// the device tree also reserves for something else.
func ReleaseInitrd() uint64 {
	r, _, _ := syscall.RawSyscall(sysRKReleaseInitrd, 0, 0, 0)
	return uint64(r)
}

// releaseInitrd answers sysRKReleaseInitrd under the big kernel lock.
//
//go:nosplit
func releaseInitrd() int64 {
	if initrdReleased {
		return 0
	}
	start, end, low, ok := initrdRange()
	initrdReleased = true
	if !ok {
		return 0
	}
	var n int64
	for p := pageUp(start); p >= start && p+mm.PageSize <= end && p+mm.PageSize > p; p += mm.PageSize {
		if !initrdPageFree(p, start, end, low) || adopted(p, start) {
			continue
		}
		frames.Give(p)
		n++
	}
	return n * mm.PageSize
}

// initrdRange is where the bytes Initrd returns lie, and the lowest
// address a page of them may have to be given away.
//
//go:nosplit
func initrdRange() (start, end, low uintptr, ok bool) {
	if r := machine.Initrd; r.Size != 0 {
		// Where QEMU put it: RAM above the image that initFrames left
		// out. The device tree says where, so initrdPageFree checks
		// that each page is RAM.
		start, end = uintptr(r.Base), uintptr(r.Base+r.Size)
		low = pageUp(uintptr(bootInfo[biImageEnd]))
	} else {
		// Baked into the image: inside its read-write part.
		base, size := bootInfo[abi.EmbedStart], bootInfo[abi.EmbedSize]
		if size == 0 || base < bootInfo[biDataStart] || base+size > bootInfo[biImageEnd] || base+size < base {
			return 0, 0, 0, false
		}
		start, end = uintptr(base), uintptr(base+size)
		low = uintptr(bootInfo[biDataStart])
	}
	return start, end, low, end > start
}

// initrdPageFree reports whether page p is a whole page of the initrd
// [start, end) that nothing but the initrd uses.
//
//go:nosplit
func initrdPageFree(p, start, end, low uintptr) bool {
	return p%mm.PageSize == 0 && p >= pageUp(start) && p+mm.PageSize > p && p+mm.PageSize <= end &&
		p >= low && inRAM(p) && !reservedElsewhere(p)
}

// adoptedPages marks the initrd's pages that back application pages
// (AdoptInitrdPage), one bit each from the initrd's first whole page: 256
// MiB of initrd; pages beyond are copied instead.
var adoptedPages [1024]uint64

//go:nosplit
func adopted(p, start uintptr) bool {
	i := (p - pageUp(start)) / mm.PageSize
	return i < uintptr(len(adoptedPages))*64 && adoptedPages[(i/64)%uintptr(len(adoptedPages))]&(1<<(i%64)) != 0
}

// sysRKAdoptInitrdPage is the hart layer's call behind AdoptInitrdPage.
const sysRKAdoptInitrdPage = sysRunikraftBase + 0x61

// AdoptInitrdPage makes the initrd's page at pa (a kernel address of a
// whole page inside Initrd's bytes) back the application's page at va,
// which must be in one of its mappings and not backed yet, instead of a
// fresh page: the loader uses it for pages of read-only segments, which
// it would otherwise copy from the same bytes. From then on the page is
// the application's like any other (freed when it is unmapped) and
// ReleaseInitrd leaves it alone. A page is adopted at most once.
func AdoptInitrdPage(va, pa uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall(sysRKAdoptInitrdPage, va, pa, 0)
	return e
}

// adoptInitrdPage answers sysRKAdoptInitrdPage under the big kernel lock.
//
//go:nosplit
func adoptInitrdPage(va, pa uintptr) int64 {
	start, end, low, ok := initrdRange()
	if initrdReleased || !ok || va%mm.PageSize != 0 || !initrdPageFree(pa, start, end, low) || !uspace.contains(va, mm.PageSize) {
		return -int64(linux.EINVAL)
	}
	i := (pa - pageUp(start)) / mm.PageSize
	if i >= uintptr(len(adoptedPages))*64 {
		return -int64(linux.E2BIG)
	}
	w, bit := &adoptedPages[(i/64)%uintptr(len(adoptedPages))], uint64(1)<<(i%64)
	if *w&bit != 0 {
		return -int64(linux.EBUSY)
	}
	a, found := uspace.areas.Find(va)
	if !found {
		return -int64(linux.EFAULT)
	}
	if pte, _ := kpt.Lookup(va); pte&mm.PTEValid != 0 {
		return -int64(linux.EEXIST)
	}
	if !kpt.Map(&frames, va, pa, uspace.pte(a.Prot)) {
		return -int64(linux.ENOMEM)
	}
	*w |= bit
	frames.Adopt()
	noteUserPage()
	return 0
}

// inRAM reports whether page p lies in one of the device tree's memory
// ranges.
//
//go:nosplit
func inRAM(p uintptr) bool {
	for i := 0; i < machine.NMem && i < len(machine.Mem); i++ {
		b := uintptr(machine.Mem[i].Base)
		if p >= b && p+mm.PageSize <= b+uintptr(machine.Mem[i].Size) {
			return true
		}
	}
	return false
}

// reservedElsewhere reports whether page p overlaps a range initFrames
// left out other than the initrd itself (the device tree, OpenSBI's and
// other reserved memory).
//
//go:nosplit
func reservedElsewhere(p uintptr) bool {
	ir := machine.Initrd
	for j := 0; j < nexcl && j < len(excl); j++ {
		x := excl[j]
		if x.Size != 0 && x.Base == ir.Base && x.Size == ir.Size {
			continue
		}
		if uintptr(x.Base) < p+mm.PageSize && p < uintptr(x.Base+x.Size) {
			return true
		}
	}
	return false
}

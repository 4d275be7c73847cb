//go:build riscv64

package hart

import (
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi"
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
	initrdReleased = true
	var start, end, low uintptr
	if r := machine.Initrd; r.Size != 0 {
		// Where QEMU put it: RAM above the image that initFrames left
		// out. The device tree says where, so check that it is RAM.
		start, end = uintptr(r.Base), uintptr(r.Base+r.Size)
		low = pageUp(uintptr(bootInfo[biImageEnd]))
	} else {
		// Baked into the image: inside its read-write part.
		base, size := bootInfo[abi.EmbedStart], bootInfo[abi.EmbedSize]
		if size == 0 || base < bootInfo[biDataStart] || base+size > bootInfo[biImageEnd] || base+size < base {
			return 0
		}
		start, end = uintptr(base), uintptr(base+size)
		low = uintptr(bootInfo[biDataStart])
	}
	if end < start {
		return 0
	}
	var n int64
	for p := pageUp(start); p >= start && p+mm.PageSize <= end && p+mm.PageSize > p; p += mm.PageSize {
		if p < low || !inRAM(p) || reservedElsewhere(p) {
			continue
		}
		frames.Give(p)
		n++
	}
	return n * mm.PageSize
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

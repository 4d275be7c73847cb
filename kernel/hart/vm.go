//go:build riscv64

package hart

import "github.com/runikraft/runikraft/kernel/mm"

// Anonymous memory for the kernel's runtime. mmap only records an area;
// pages are allocated on first touch by kernelFault, so the runtime's
// large PROT_NONE reservations cost nothing. Trap context: see trap.go.

const (
	mapFixed     = 0x10
	mapAnonymous = 0x20
	mapFixedNR   = 0x100000

	madvDontneed = 4
	madvFree     = 8
)

//go:nosplit
func protPTE(prot uint32) uint64 {
	perm := uint64(mm.PTEGlobal | mm.PTEAccessed | mm.PTEDirty)
	if prot&mm.ProtRead != 0 {
		perm |= mm.PTERead
	}
	if prot&mm.ProtWrite != 0 {
		perm |= mm.PTERead | mm.PTEWrite
	}
	if prot&mm.ProtExec != 0 {
		perm |= mm.PTEExec
	}
	return perm
}

//go:nosplit
func inKernelMmap(addr, n uintptr) bool {
	return addr >= kernelMmapBase && addr+n >= addr && addr+n <= kernelMmapTop
}

//go:nosplit
func kmmap(addr, n uintptr, prot, flags uint32, fd int64) int64 {
	if flags&mapAnonymous == 0 || fd != -1 {
		return -errEINVAL // the kernel's runtime maps no files
	}
	if prot&mm.ProtWrite != 0 && prot&mm.ProtExec != 0 {
		return -errEACCES // W^X
	}
	if n == 0 || addr&(mm.PageSize-1) != 0 {
		return -errEINVAL
	}
	n = pageUp(n)
	if flags&(mapFixed|mapFixedNR) != 0 {
		if !inKernelMmap(addr, n) {
			return -errEINVAL
		}
		if flags&mapFixedNR != 0 && !kareas.IsFree(addr, addr+n) {
			return -errEEXIST
		}
		if !kareas.Remove(addr, addr+n) {
			return -errENOMEM
		}
		releasePages(addr, n)
	} else if addr == 0 || !inKernelMmap(addr, n) || !kareas.IsFree(addr, addr+n) {
		a, ok := kareas.FindFree(kernelMmapBase, kernelMmapTop, n, mm.PageSize)
		if !ok {
			return -errENOMEM
		}
		addr = a
	}
	if !kareas.Insert(addr, addr+n, prot, 0) {
		return -errENOMEM
	}
	return int64(addr)
}

// releasePages frees whatever pages back [addr, addr+n).
//
//go:nosplit
func releasePages(addr, n uintptr) {
	if kpt.Unmap(&frames, addr, addr+n, true) > 0 {
		sfence()
	}
}

//go:nosplit
func kmunmap(addr, n uintptr) int64 {
	if addr&(mm.PageSize-1) != 0 || n == 0 {
		return -errEINVAL
	}
	n = pageUp(n)
	if !inKernelMmap(addr, n) {
		return -errEINVAL
	}
	if !kareas.Remove(addr, addr+n) {
		return -errENOMEM
	}
	releasePages(addr, n)
	return 0
}

//go:nosplit
func kmadvise(addr, n uintptr, advice uint64) int64 {
	if addr&(mm.PageSize-1) != 0 {
		return -errEINVAL
	}
	n = pageUp(n)
	if advice == madvDontneed || advice == madvFree {
		if !inKernelMmap(addr, n) {
			return -errEINVAL
		}
		// Private anonymous memory reads back as zeros: dropping the
		// pages is exactly Linux's MADV_DONTNEED.
		releasePages(addr, n)
	}
	return 0
}

//go:nosplit
func kmprotect(addr, n uintptr, prot uint32) int64 {
	if addr&(mm.PageSize-1) != 0 {
		return -errEINVAL
	}
	if prot&mm.ProtWrite != 0 && prot&mm.ProtExec != 0 {
		return -errEACCES
	}
	n = pageUp(n)
	if !inKernelMmap(addr, n) || !kareas.Covered(addr, addr+n) {
		return -errENOMEM
	}
	if !kareas.SetProt(addr, addr+n, prot) {
		return -errENOMEM
	}
	if prot == 0 {
		// No access: drop the mappings (the area keeps the range), so a
		// later touch faults and is refused.
		releasePages(addr, n)
	} else {
		kpt.Protect(addr, addr+n, protPTE(prot))
		sfence()
	}
	return 0
}

// kernelFault backs a lazily allocated page of the kernel's runtime after
// a page fault (or on behalf of a syscall, see backed). It reports false
// when the access is not allowed: a real kernel fault.
//
//go:nosplit
func kernelFault(va, cause uint64) bool {
	a, ok := kareas.Find(uintptr(va))
	if !ok {
		return false
	}
	switch cause {
	case excLoadPage:
		ok = a.Prot&(mm.ProtRead|mm.ProtWrite) != 0
	case excStorePage:
		ok = a.Prot&mm.ProtWrite != 0
	case excInstPage:
		ok = a.Prot&mm.ProtExec != 0
	}
	if !ok {
		return false
	}
	page := pageDown(uintptr(va))
	if pte, _ := kpt.Lookup(page); pte&mm.PTEValid != 0 {
		// Already there (another path backed it): the access must be
		// one the PTE refuses.
		return false
	}
	pa := frames.AllocZeroed()
	if pa == 0 {
		puts("runikraft: out of memory: cannot back kernel page ")
		putHex(va)
		puts("\n")
		powerOff(exitKernelPanic)
	}
	if !kpt.Map(&frames, page, pa, protPTE(a.Prot)) {
		puts("runikraft: out of memory for page tables\n")
		powerOff(exitKernelPanic)
	}
	sfence()
	return true
}

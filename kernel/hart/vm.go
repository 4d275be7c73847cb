//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
)

// Anonymous memory, for the kernel's runtime and for the application
// alike: mmap only records an area; pages are allocated on first touch by
// the page-fault path, so the runtime's large PROT_NONE reservations cost
// nothing. The two address spaces share this code and differ only in
// their ranges and PTE bits (space). W^X holds in both. Trap context: see
// trap.go.

const (
	mapFixed     = 0x10
	mapAnonymous = 0x20
	mapFixedNR   = 0x100000

	madvDontneed = 4
	madvFree     = 8
)

// space is one address space's rules.
type space struct {
	areas  *mm.Areas  // set by initTables (tables.go)
	table  *lazyTable // what of areas is backed
	user   bool
	lo, hi uintptr // where mappings without a fixed address go
	// mmapBase, if inside (lo, hi), is where the search for room starts
	// (ASLR); set once before the application runs.
	mmapBase uintptr
}

// kernelReleases counts releases of kernel pages (munmap, madvise,
// mprotect to none), under bkl: a kernel address found backed stays so
// while it does not change.
var kernelReleases uint64

// The two spaces; statically initialised, so no write barrier ever runs.
var (
	kspace = space{table: &kareasTable, lo: kernelMmapBase, hi: kernelMmapTop}
	uspace = space{table: &uareasTable, user: true, lo: UserHighStart, hi: UserHighEnd}
)

// contains reports whether [a, a+n) may hold this space's mappings.
//
//go:nosplit
func (s *space) contains(a, n uintptr) bool {
	end := a + n
	if end < a {
		return false
	}
	if s.user {
		return (a >= UserLowStart && end <= UserLowEnd) || (a >= UserHighStart && end <= UserHighEnd)
	}
	return a >= kernelMmapBase && end <= kernelMmapTop
}

// pte turns PROT_* bits into PTE bits for this space.
//
//go:nosplit
func (s *space) pte(prot uint32) uint64 {
	perm := uint64(mm.PTEAccessed | mm.PTEDirty)
	if s.user {
		perm |= mm.PTEUser
	} else {
		perm |= mm.PTEGlobal
	}
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

// mmap places an area at addr (fixed) or where there is room (addr as a
// hint), returning its address or -errno. A writable area larger than
// commit bytes is refused (the overcommit rule, see commitLimit; 0: no
// limit).
//
//go:nosplit
func (s *space) mmap(addr, n uintptr, prot uint32, fixed, noReplace bool, commit uint64) int64 {
	if prot&mm.ProtWrite != 0 && prot&mm.ProtExec != 0 {
		return -int64(linux.EACCES) // W^X
	}
	if n == 0 || addr&(mm.PageSize-1) != 0 {
		return -int64(linux.EINVAL)
	}
	n = pageUp(n)
	if commit != 0 && prot&mm.ProtWrite != 0 && uint64(n) > commit {
		return -int64(linux.ENOMEM)
	}
	if !s.areasRoom() {
		return -int64(linux.ENOMEM)
	}
	if fixed {
		if !s.contains(addr, n) {
			return -int64(linux.ENOMEM)
		}
		if noReplace && !s.areas.IsFree(addr, addr+n) {
			return -int64(linux.EEXIST)
		}
		if !s.areas.Remove(addr, addr+n) {
			return -int64(linux.ENOMEM)
		}
		s.release(addr, n)
	} else if addr == 0 || !s.contains(addr, n) || !s.areas.IsFree(addr, addr+n) {
		// From the (randomised) base up, then wrapping round below it;
		// either way inside [lo, hi), whatever n is.
		b := s.base()
		a, ok := s.areas.FindFree(b, s.hi, n, mm.PageSize)
		if !ok {
			top := b + n
			if top < b || top > s.hi {
				top = s.hi
			}
			a, ok = s.areas.FindFree(s.lo, top, n, mm.PageSize)
		}
		if !ok {
			return -int64(linux.ENOMEM)
		}
		addr = a
	}
	if !s.areas.Insert(addr, addr+n, prot, 0) {
		return -int64(linux.ENOMEM)
	}
	return int64(addr)
}

// anonCommitRAMs is how many times the machine's RAM one anonymous
// mapping may be (abi.MapAnon).
const anonCommitRAMs = 4

// commitLimit is the overcommit rule (README, "Running out of memory")
// for a UserMap with these flags: the largest writable mapping granted,
// or 0 for no limit (the loader's own mappings). Memory is charged only
// when a page is first touched, and a fault that then finds no RAM kills
// the application, so the rule only refuses sizes no program could use:
// an anonymous mapping may be up to 4 times RAM (Go's runtime maps a 32
// MiB heap index it barely touches, so a Go program runs in 8 MiB of
// RAM; Linux's default heuristic would refuse it below 32 MiB); any
// other writable one (a file's copy, filled at once) up to RAM.
//
//go:nosplit
func commitLimit(flags uint64) uint64 {
	switch {
	case flags&MapCommit == 0:
		return 0
	case flags&MapAnon != 0:
		return anonCommitRAMs * ramBytes
	default:
		return ramBytes
	}
}

//go:nosplit
func (s *space) munmap(addr, n uintptr) int64 {
	if addr&(mm.PageSize-1) != 0 || n == 0 {
		return -int64(linux.EINVAL)
	}
	n = pageUp(n)
	if !s.contains(addr, n) {
		return -int64(linux.EINVAL)
	}
	if !s.areasRoom() || !s.areas.Remove(addr, addr+n) {
		return -int64(linux.ENOMEM)
	}
	s.release(addr, n)
	return 0
}

//go:nosplit
func (s *space) madvise(addr, n uintptr, advice uint64) int64 {
	if addr&(mm.PageSize-1) != 0 {
		return -int64(linux.EINVAL)
	}
	n = pageUp(n)
	if !s.contains(addr, n) {
		return -int64(linux.EINVAL)
	}
	if advice == madvDontneed || advice == madvFree {
		// Private anonymous memory reads back as zeros: dropping the
		// pages is exactly Linux's MADV_DONTNEED.
		s.release(addr, n)
	}
	return 0
}

//go:nosplit
func (s *space) mprotect(addr, n uintptr, prot uint32) int64 {
	if addr&(mm.PageSize-1) != 0 {
		return -int64(linux.EINVAL)
	}
	if prot&mm.ProtWrite != 0 && prot&mm.ProtExec != 0 {
		return -int64(linux.EACCES) // W^X
	}
	n = pageUp(n)
	if !s.contains(addr, n) || !s.areas.Covered(addr, addr+n) {
		return -int64(linux.ENOMEM)
	}
	if !s.areasRoom() || !s.areas.SetProt(addr, addr+n, prot) {
		return -int64(linux.ENOMEM)
	}
	if prot == 0 {
		// No access: drop the pages (the area keeps the range), so a
		// later touch faults and is refused.
		s.release(addr, n)
		return 0
	}
	kpt.Protect(addr, addr+n, s.pte(prot))
	sfence()
	remoteSfence(addr, n)
	if prot&mm.ProtExec != 0 {
		fenceI() // code may have been written through CopyOut
		remoteFenceI()
	}
	return 0
}

// fault backs the page holding va after a page fault (or on behalf of a
// copy). It reports whether the access is allowed and was backed, and
// whether it failed only because RAM is exhausted.
//
//go:nosplit
func (s *space) fault(va uintptr, cause uint64) (ok, oom bool) {
	a, found := s.areas.Find(va)
	if !found {
		return false, false
	}
	switch cause {
	case linux.LoadPageFault:
		ok = a.Prot&(mm.ProtRead|mm.ProtWrite) != 0
	case linux.StoreAMOPageFault:
		ok = a.Prot&mm.ProtWrite != 0
	case linux.InstructionPageFault:
		ok = a.Prot&mm.ProtExec != 0
	}
	if !ok {
		return false, false
	}
	page := pageDown(va)
	if pte, _ := kpt.Lookup(page); pte&mm.PTEValid != 0 {
		if s.user && cause == linux.StoreAMOPageFault && kpt.IsShared(pte) {
			return s.unshare(page, a) // a write to the zero page (zeropage.go)
		}
		// Already there: the PTE itself refuses this access, or
		// another hart backed the page (or widened its rights) after
		// this one's TLB looked: a stale entry, gone with a flush.
		if !pteAllows(pte, cause, s.user) {
			return false, false
		}
		sfence()
		return true, false
	}
	if done, oom := s.mapZero(page, a, cause); done || oom {
		return done, oom
	}
	var pa uintptr
	if s.user {
		pa = frames.AllocUser() // never the kernel's reserve
	} else {
		pa = frames.AllocZeroed()
	}
	if pa == 0 {
		return false, true
	}
	if !kpt.Map(&frames, page, pa, s.pte(a.Prot)) {
		frames.Free(pa)
		return false, true
	}
	if s.user {
		noteUserPage()
	} else {
		kernelResident++
	}
	// No sfence.vma: the entry was invalid, and a TLB does not keep a
	// failed walk's result (QEMU's never does), so the retried access
	// walks again and finds it. Hardware that did keep it faults once
	// more and gets the flush above (the PTE is valid by then). Under
	// QEMU a flush also empties the vCPU's jump cache of translated
	// code, which every backed page paid for.
	return true, false
}

// userResident counts the application's backed pages (page tables are
// the kernel's).
var userResident uint64

// release frees whatever pages back [addr, addr+n) of this space.
//
//go:nosplit
func (s *space) release(addr, n uintptr) {
	if !s.user {
		kernelReleases++ // see enterUser: pages it checked may be gone
	}
	if nharts > 1 && kpt.Protect(addr, addr+n, s.pte(mm.ProtRead)) > 0 {
		// Another hart may still write through a stale TLB entry (an
		// application thread racing its own munmap), and a freed page
		// holds the free list's link: take write access away on every
		// hart before the pages are freed.
		sfence()
		remoteSfence(addr, n)
	}
	k, owned := kpt.Unmap(&frames, addr, addr+n, true)
	if k <= 0 {
		return
	}
	if s.user {
		userResident -= min(userResident, uint64(owned))
	} else {
		kernelResident -= min(kernelResident, uint64(owned))
	}
	sfence()
	remoteSfence(addr, n) // before bkl is released and the pages reused
}

// pteAllows reports whether a valid PTE grants the access a fault of
// this cause asked for.
//
//go:nosplit
func pteAllows(pte, cause uint64, user bool) bool {
	if (pte&mm.PTEUser != 0) != user {
		return false
	}
	switch cause {
	case linux.LoadPageFault:
		return pte&mm.PTERead != 0
	case linux.StoreAMOPageFault:
		return pte&mm.PTEWrite != 0
	case linux.InstructionPageFault:
		return pte&mm.PTEExec != 0
	}
	return false
}

// base is where a search for room for a mapping without a fixed address
// starts: lo, or the randomised base the loader chose (SetUserMmapBase).
//
//go:nosplit
func (s *space) base() uintptr {
	if b := s.mmapBase; b > s.lo && b < s.hi {
		return b
	}
	return s.lo
}

// kmmap is mmap for the kernel's runtime: anonymous memory only.
//
//go:nosplit
func kmmap(addr, n uintptr, prot, flags uint32, fd int64) int64 {
	if flags&mapAnonymous == 0 || fd != -1 {
		return -int64(linux.EINVAL) // the kernel's runtime maps no files
	}
	fixed := flags&(mapFixed|mapFixedNR) != 0
	return kspace.mmap(addr, n, prot, fixed, flags&mapFixedNR != 0, 0)
}

// kernelFault backs a page of the kernel's runtime. Running out of RAM
// here is fatal: the kernel has nothing to give back.
//
//go:nosplit
func kernelFault(va, cause uint64) bool {
	ok, oom := kspace.fault(uintptr(va), cause)
	if oom {
		puts("runikraft: out of memory: cannot back kernel page ")
		putHex(va)
		puts("\n")
		powerOff(exitKernelPanic)
	}
	return ok
}

package mm

// Sv39 page-table entry bits (RISC-V privileged spec, 4.4).
const (
	PTEValid    = 1 << 0
	PTERead     = 1 << 1
	PTEWrite    = 1 << 2
	PTEExec     = 1 << 3
	PTEUser     = 1 << 4
	PTEGlobal   = 1 << 5
	PTEAccessed = 1 << 6
	PTEDirty    = 1 << 7

	permMask = PTERead | PTEWrite | PTEExec | PTEUser | PTEGlobal | PTEAccessed | PTEDirty

	// MegaSize is the size a level-1 leaf maps.
	MegaSize = 1 << 21
	gigaSize = 1 << 30

	// VALimit is the first address above Sv39's lower half.
	VALimit = 1 << 38
)

// Table is an Sv39 page table; Root is the physical address of its root.
type Table struct {
	Root  uintptr
	pages uint64 // table pages it holds, root included
	// shared is a page many leaves may map read-only at once (the
	// owner's zero page): Unmap never frees it and Protect never makes
	// it writable.
	shared uintptr
}

// SetShared names the page that leaves may share (see Table.shared).
//
//go:nosplit
func (t *Table) SetShared(pa uintptr) { t.shared = pa }

// IsShared reports whether a valid leaf PTE maps the shared page.
//
//go:nosplit
func (t *Table) IsShared(pte uint64) bool {
	return t.shared != 0 && pte&PTEValid != 0 && ptePA(pte) == t.shared
}

// Pages reports how many pages the table's own levels take.
//
//go:nosplit
func (t *Table) Pages() uint64 { return t.pages }

// SATP is the satp value that selects this table (mode 8 = Sv39).
//
//go:nosplit
func (t *Table) SATP() uint64 { return 8<<60 | uint64(t.Root)>>12 }

//go:nosplit
func vpn(va uintptr, level uint) uintptr { return (va >> (12 + 9*level)) & 511 }

//go:nosplit
func pteAt(table, index uintptr) *uint64 {
	return Word(table + index*8)
}

//go:nosplit
func ptePA(pte uint64) uintptr { return uintptr(pte>>10) << 12 }

//go:nosplit
func leaf(pte uint64) bool { return pte&(PTERead|PTEWrite|PTEExec) != 0 }

// Init allocates an empty root table.
//
//go:nosplit
func (t *Table) Init(f *Frames) bool {
	t.Root = f.AllocZeroed()
	if t.Root == 0 {
		return false
	}
	t.pages = 1
	return true
}

// slot returns the PTE slot for va at level stop (0 = 4 KiB, 1 = 2 MiB),
// creating intermediate tables when alloc is set. It returns nil when a
// table is missing (and !alloc), memory runs out, or a bigger leaf is in
// the way.
//
//go:nosplit
func (t *Table) slot(f *Frames, va uintptr, stop uint, alloc bool) *uint64 {
	table := t.Root
	for level := uint(2); level > stop; level-- {
		p := pteAt(table, vpn(va, level))
		if *p&PTEValid == 0 {
			if !alloc {
				return nil
			}
			n := f.AllocZeroed()
			if n == 0 {
				return nil
			}
			t.pages++
			*p = uint64(n>>12)<<10 | PTEValid
		} else if leaf(*p) {
			return nil
		}
		table = ptePA(*p)
	}
	return pteAt(table, vpn(va, stop))
}

// Map maps one 4 KiB page. perm is a set of PTE bits; V is added.
//
//go:nosplit
func (t *Table) Map(f *Frames, va, pa uintptr, perm uint64) bool {
	p := t.slot(f, va, 0, true)
	if p == nil {
		return false
	}
	*p = uint64(pa>>12)<<10 | perm&permMask | PTEValid
	return true
}

// MapRange maps [va, va+size) to [pa, pa+size), using 2 MiB leaves where
// both addresses are aligned and enough remains.
//
//go:nosplit
func (t *Table) MapRange(f *Frames, va, pa, size uintptr, perm uint64) bool {
	end := va + size
	for va < end {
		if va%MegaSize == 0 && pa%MegaSize == 0 && end-va >= MegaSize {
			p := t.slot(f, va, 1, true)
			if p == nil {
				return false
			}
			*p = uint64(pa>>12)<<10 | perm&permMask | PTEValid
			va += MegaSize
			pa += MegaSize
			continue
		}
		if !t.Map(f, va, pa, perm) {
			return false
		}
		va += PageSize
		pa += PageSize
	}
	return true
}

// Lookup returns the leaf PTE that maps va (0 if none) and the size of the
// page it maps.
//
//go:nosplit
func (t *Table) Lookup(va uintptr) (pte uint64, size uintptr) {
	if va >= VALimit {
		return 0, 0
	}
	table := t.Root
	size = gigaSize
	for level := uint(2); ; level-- {
		e := *pteAt(table, vpn(va, level))
		if e&PTEValid == 0 {
			return 0, 0
		}
		if leaf(e) {
			return e, size
		}
		if level == 0 {
			return 0, 0
		}
		table = ptePA(e)
		size >>= 9
	}
}

// Translate returns the physical address for va, or false.
//
//go:nosplit
func (t *Table) Translate(va uintptr) (uintptr, bool) {
	pte, size := t.Lookup(va)
	if pte == 0 {
		return 0, false
	}
	return ptePA(pte) + va&(size-1), true
}

// nextLeaf finds the first valid 4 KiB leaf at or above va and below end,
// skipping absent subtrees a whole table at a time so huge sparse
// reservations stay cheap. 2 MiB leaves are skipped: only the kernel's
// direct map uses them and it is never unmapped.
//
//go:nosplit
func (t *Table) nextLeaf(va, end uintptr) (uintptr, *uint64) {
	if end > VALimit {
		end = VALimit
	}
	for va < end {
		l2 := *pteAt(t.Root, vpn(va, 2))
		if l2&PTEValid == 0 || leaf(l2) {
			va = (va + gigaSize) &^ (gigaSize - 1)
			continue
		}
		l1 := *pteAt(ptePA(l2), vpn(va, 1))
		if l1&PTEValid == 0 || leaf(l1) {
			va = (va + MegaSize) &^ (MegaSize - 1)
			continue
		}
		table := ptePA(l1)
		for {
			p := pteAt(table, vpn(va, 0))
			if *p&PTEValid != 0 {
				return va, p
			}
			va += PageSize
			if va >= end || vpn(va, 0) == 0 {
				break
			}
		}
	}
	return end, nil
}

// Unmap clears every 4 KiB leaf in [va, end), giving its page back to f
// when free is set (never the shared page). It returns how many leaves
// it cleared, and how many of them mapped a page of their own (not the
// shared one); the caller flushes the TLB when cleared is not 0.
//
//go:nosplit
func (t *Table) Unmap(f *Frames, va, end uintptr, free bool) (cleared, owned int) {
	for {
		a, p := t.nextLeaf(va, end)
		if p == nil {
			return cleared, owned
		}
		if !t.IsShared(*p) {
			if free {
				f.Free(ptePA(*p))
			}
			owned++
		}
		*p = 0
		cleared++
		va = a + PageSize
	}
}

// Protect rewrites the permission bits of every 4 KiB leaf in [va, end)
// and returns how many there were.
//
//go:nosplit
func (t *Table) Protect(va, end uintptr, perm uint64) int {
	n := 0
	for {
		a, p := t.nextLeaf(va, end)
		if p == nil {
			return n
		}
		q := perm
		if t.IsShared(*p) {
			q &^= PTEWrite | PTEDirty // still shared: a write faults and gets a page of its own
		}
		*p = *p&^permMask | q&permMask
		n++
		va = a + PageSize
	}
}

// PTEPage is the physical page a 4 KiB leaf PTE points to.
//
//go:nosplit
func PTEPage(pte uint64) uintptr { return ptePA(pte) }

// MakePTE builds a 4 KiB leaf for pa with perm.
//
//go:nosplit
func MakePTE(pa uintptr, perm uint64) uint64 {
	return uint64(pa>>12)<<10 | perm&permMask | PTEValid
}

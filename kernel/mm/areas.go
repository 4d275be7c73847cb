package mm

import "unsafe"

// Protection bits of an area, as mmap's PROT_* values.
const (
	ProtRead  = 1
	ProtWrite = 2
	ProtExec  = 4
)

// MaxAreas bounds the number of distinct areas; adjacent areas with equal
// protection and flags merge, as Linux's do.
const MaxAreas = 4096

// Area is a virtual range [Start, End) with one protection. Pages are
// backed lazily: the page-fault handler allocates them on first touch.
type Area struct {
	Start, End uintptr
	Prot       uint32
	Flags      uint32 // owner-defined (e.g. user vs kernel)
}

// Areas is a sorted, non-overlapping set of areas in a fixed array. The
// count comes first and entries are used from the bottom up, so an owner
// may back only the first AreasBytes(Len()+k) bytes of one (see
// kernel/hart's lazily backed tables).
type Areas struct {
	n int
	a [MaxAreas]Area
}

// AreasBytes is how many bytes from its start an Areas with n entries
// uses (at most the whole table).
//
//go:nosplit
func AreasBytes(n int) uintptr {
	n = max(0, min(n, MaxAreas))
	return unsafe.Offsetof(Areas{}.a) + uintptr(n)*unsafe.Sizeof(Area{})
}

// Len reports how many areas there are.
//
//go:nosplit
func (m *Areas) Len() int { return m.n }

// At returns area i (0 <= i < Len()).
//
//go:nosplit
func (m *Areas) At(i int) Area {
	if i < 0 || i >= m.n || i >= MaxAreas {
		return Area{}
	}
	return m.a[i]
}

// search returns the index of the first area whose End is above va.
//
//go:nosplit
func (m *Areas) search(va uintptr) int {
	lo, hi := 0, m.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if mid < 0 || mid >= MaxAreas {
			return m.n
		}
		if m.a[mid].End <= va {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Find returns the area containing va.
//
//go:nosplit
func (m *Areas) Find(va uintptr) (Area, bool) {
	i := m.search(va)
	if i < 0 || i >= m.n || i >= MaxAreas || m.a[i].Start > va {
		return Area{}, false
	}
	return m.a[i], true
}

// IsFree reports whether no area overlaps [start, end).
//
//go:nosplit
func (m *Areas) IsFree(start, end uintptr) bool {
	i := m.search(start)
	return i >= m.n || i >= MaxAreas || i < 0 || m.a[i].Start >= end
}

// Covered reports whether areas cover all of [start, end) with no hole.
//
//go:nosplit
func (m *Areas) Covered(start, end uintptr) bool {
	for i := m.search(start); start < end; i++ {
		if i < 0 || i >= m.n || i >= MaxAreas || m.a[i].Start > start {
			return false
		}
		start = m.a[i].End
	}
	return true
}

// FindFree returns the lowest page-aligned free range of size bytes in
// [lo, hi) aligned to align (a power of two, at least PageSize).
//
//go:nosplit
func (m *Areas) FindFree(lo, hi, size, align uintptr) (uintptr, bool) {
	if align < PageSize {
		align = PageSize
	}
	cand := (lo + align - 1) &^ (align - 1)
	for i := m.search(lo); ; i++ {
		if i < 0 || i >= m.n || i >= MaxAreas || m.a[i].Start >= hi {
			// No area left below hi: the rest of the range is free.
			if cand >= lo && cand+size >= cand && cand+size <= hi {
				return cand, true
			}
			return 0, false
		}
		if cand >= lo && cand+size >= cand && cand+size <= m.a[i].Start {
			return cand, true
		}
		if e := m.a[i].End; e > cand {
			cand = (e + align - 1) &^ (align - 1)
		}
	}
}

// room reports whether k more entries fit.
//
//go:nosplit
func (m *Areas) room(k int) bool { return m.n+k <= MaxAreas }

// insertAt shifts entries up and places ar at index i.
//
//go:nosplit
func (m *Areas) insertAt(i int, ar Area) {
	n := m.n
	if i < 0 || i > n || n >= MaxAreas {
		return
	}
	copy(m.a[i+1:], m.a[i:n]) // n-i entries: n < MaxAreas leaves room
	m.a[i] = ar
	m.n = n + 1
}

// deleteRange removes entries [i, j).
//
//go:nosplit
func (m *Areas) deleteRange(i, j int) {
	n := m.n
	if i < 0 || i >= j || j > n || n > MaxAreas {
		return
	}
	copy(m.a[i:], m.a[j:n])
	m.n = n - (j - i)
}

// splitAt makes va an area boundary if it falls strictly inside one.
//
//go:nosplit
func (m *Areas) splitAt(va uintptr) {
	i := m.search(va)
	if i < 0 || i >= m.n || i >= MaxAreas {
		return
	}
	ar := m.a[i]
	if ar.Start < va && va < ar.End {
		m.a[i].End = va
		ar.Start = va
		m.insertAt(i+1, ar)
	}
}

// mergeAround joins area i with equal neighbours.
//
//go:nosplit
func (m *Areas) mergeAround(i int) {
	if i < 0 || i >= m.n || i >= MaxAreas {
		return
	}
	if i+1 < m.n && i+1 < MaxAreas && m.a[i].End == m.a[i+1].Start &&
		m.a[i].Prot == m.a[i+1].Prot && m.a[i].Flags == m.a[i+1].Flags {
		m.a[i].End = m.a[i+1].End
		m.deleteRange(i+1, i+2)
	}
	if i > 0 && m.a[i-1].End == m.a[i].Start &&
		m.a[i-1].Prot == m.a[i].Prot && m.a[i-1].Flags == m.a[i].Flags {
		m.a[i-1].End = m.a[i].End
		m.deleteRange(i, i+1)
	}
}

// Insert adds [start, end) which must be free. It reports false when the
// range overlaps an area or the table is full.
//
//go:nosplit
func (m *Areas) Insert(start, end uintptr, prot, flags uint32) bool {
	if end <= start || !m.IsFree(start, end) || !m.room(1) {
		return false
	}
	i := m.search(start)
	m.insertAt(i, Area{start, end, prot, flags})
	m.mergeAround(i)
	return true
}

// Remove deletes whatever areas cover [start, end), splitting at the ends.
// It reports false (changing nothing) when the table could overflow.
//
//go:nosplit
func (m *Areas) Remove(start, end uintptr) bool {
	if end <= start {
		return true
	}
	if !m.room(2) {
		return false
	}
	m.splitAt(start)
	m.splitAt(end)
	i := m.search(start)
	j := i
	for j >= 0 && j < m.n && j < MaxAreas && m.a[j].Start < end {
		j++
	}
	m.deleteRange(i, j)
	return true
}

// SetProt changes the protection of the areas inside [start, end).
//
//go:nosplit
func (m *Areas) SetProt(start, end uintptr, prot uint32) bool {
	if end <= start {
		return true
	}
	if !m.room(2) {
		return false
	}
	m.splitAt(start)
	m.splitAt(end)
	i := m.search(start)
	j := i
	for ; j >= 0 && j < m.n && j < MaxAreas && m.a[j].Start < end; j++ {
		m.a[j].Prot = prot
	}
	// Merge from the right so indices below stay valid.
	for k := j - 1; k >= i-1 && k >= 0; k-- {
		m.mergeAround(k)
	}
	return true
}

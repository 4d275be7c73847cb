// Package mm is the kernel's memory micro-library: a physical page
// allocator, Sv39 page tables and the map of virtual memory areas.
//
// Everything here runs in trap context and before the Go runtime starts, so
// every function is nosplit, allocates nothing, stores no Go pointers and
// never panics: physical memory is reached through the identity map as
// plain uintptrs. The same code runs in host tests over a Go byte slice.
package mm

import "unsafe"

// PageSize is the only page size the allocator hands out.
const PageSize = 4096

// MaxSpans bounds how many disjoint free ranges of RAM are tracked.
const MaxSpans = 16

// Span is a half-open physical range [Start, End).
type Span struct{ Start, End uintptr }

// Frames allocates physical pages: a bump pointer over free spans of RAM
// (so boot does not touch every page) plus a free list threaded through
// freed pages.
type Frames struct {
	spans  [MaxSpans]Span
	nspans int
	cur    int // span the bump pointer is in
	bump   uintptr
	free   uintptr // head of the free list; each free page holds the next
	nfree  uint64
	total  uint64 // pages ever available
	inUse  uint64
	// reserve is how many pages AllocUser leaves for the kernel: the
	// application may run out of memory, the kernel's runtime may not.
	reserve uint64
}

// SetReserve sets how many pages only Alloc (the kernel) may take.
//
//go:nosplit
func (f *Frames) SetReserve(pages uint64) { f.reserve = pages }

// Reserve reports how many pages only Alloc may take.
//
//go:nosplit
func (f *Frames) Reserve() uint64 { return f.reserve }

// FreePages reports how many pages are left, reserve included.
//
//go:nosplit
func (f *Frames) FreePages() uint64 {
	if f.inUse >= f.total {
		return 0
	}
	return f.total - f.inUse
}

// Spare reports how many pages are left beyond the reserve: what the
// application may still take.
//
//go:nosplit
func (f *Frames) Spare() uint64 {
	free := f.FreePages()
	if free <= f.reserve {
		return 0
	}
	return free - f.reserve
}

// AllocUser is AllocZeroed for application pages: it fails (0) rather
// than take one of the reserve's pages.
//
//go:nosplit
func (f *Frames) AllocUser() uintptr {
	if f.Spare() == 0 {
		return 0
	}
	return f.AllocZeroed()
}

// AddSpan makes [start, end) available (page-aligned inward). Spans must be
// added in ascending order. It reports false when the table is full.
//
//go:nosplit
func (f *Frames) AddSpan(start, end uintptr) bool {
	start = (start + PageSize - 1) &^ (PageSize - 1)
	end &^= PageSize - 1
	if end <= start {
		return true
	}
	n := f.nspans
	if n < 0 || n >= MaxSpans {
		return false
	}
	f.spans[n] = Span{start, end}
	if n == 0 {
		f.bump = start
	}
	f.nspans++
	f.total += uint64(end-start) / PageSize
	return true
}

// Alloc returns a page's physical address, not zeroed, or 0 when memory
// is exhausted.
//
//go:nosplit
func (f *Frames) Alloc() uintptr {
	if p := f.free; p != 0 {
		f.free = uintptr(*Word(p))
		f.nfree--
		f.inUse++
		return p
	}
	for f.cur < f.nspans {
		s := f.span(f.cur)
		if f.bump >= s.Start && f.bump+PageSize <= s.End {
			p := f.bump
			f.bump += PageSize
			f.inUse++
			return p
		}
		f.cur++
		if f.cur < f.nspans {
			f.bump = f.span(f.cur).Start
		}
	}
	return 0
}

// AllocZeroed is Alloc followed by clearing the page.
//
//go:nosplit
func (f *Frames) AllocZeroed() uintptr {
	p := f.Alloc()
	if p != 0 {
		Zero(p)
	}
	return p
}

// Free returns a page obtained from Alloc.
//
//go:nosplit
func (f *Frames) Free(p uintptr) {
	*Word(p) = uint64(f.free)
	f.free = p
	f.nfree++
	f.inUse--
}

// Give makes page p, which was never in a span, available: memory boot
// set aside that the kernel no longer needs (the application's file, once
// loaded). It joins the free list and the total; p must be page-aligned,
// mapped and owned by no one.
//
//go:nosplit
func (f *Frames) Give(p uintptr) {
	*Word(p) = uint64(f.free)
	f.free = p
	f.nfree++
	f.total++
}

// Adopt counts a page that was never in a span as handed out: memory
// boot set aside that now backs a mapping directly (a page of the
// application's file). Free returns it to the free pages like any other.
//
//go:nosplit
func (f *Frames) Adopt() {
	f.total++
	f.inUse++
}

// Exhausted reports whether no page is left.
//
//go:nosplit
func (f *Frames) Exhausted() bool {
	switch {
	case f.free != 0:
		return false
	case f.cur >= f.nspans:
		return true
	case f.cur < f.nspans-1:
		return false // later spans are never empty
	}
	return f.bump+PageSize > f.span(f.cur).End
}

// span returns span i, or an empty one if i is out of range (it never
// is; the check keeps a bounds-check panic out of trap context).
//
//go:nosplit
func (f *Frames) span(i int) Span {
	if i < 0 || i >= MaxSpans {
		return Span{}
	}
	return f.spans[i]
}

// Stats reports pages in use and pages that were ever available.
//
//go:nosplit
func (f *Frames) Stats() (inUse, total uint64) { return f.inUse, f.total }

// Zero clears one page, 64 bytes per iteration: it is the most executed
// code of a boot (every page the kernel's runtime or the application
// touches first comes through it), and one store per loop spent three
// of every four instructions on the loop itself (1.07M of a C hello's
// 3.35M kernel instructions before its first user instruction).
//
//go:nosplit
func Zero(p uintptr) {
	for off := uintptr(0); off < PageSize; off += 64 {
		w := (*[8]uint64)(unsafe.Add(nil, p+off))
		w[0], w[1], w[2], w[3] = 0, 0, 0, 0
		w[4], w[5], w[6], w[7] = 0, 0, 0, 0
	}
}

// Word views the 8 bytes at address p, which must be mapped. Physical and
// virtual addresses are plain integers to the hart layer, so this is the
// one place that turns them into pointers.
//
//go:nosplit
func Word(p uintptr) *uint64 { return (*uint64)(unsafe.Add(nil, p)) }

// AllocContig returns n physically contiguous, zeroed pages (for device
// DMA) from the bump region, or 0. Such pages are never freed.
//
//go:nosplit
func (f *Frames) AllocContig(n int) uintptr {
	for n > 0 && f.cur < f.nspans {
		s := f.span(f.cur)
		size := uintptr(n) * PageSize
		if f.bump >= s.Start && f.bump+size <= s.End && f.bump+size > f.bump {
			p := f.bump
			f.bump += size
			f.inUse += uint64(n)
			for off := uintptr(0); off < size; off += PageSize {
				Zero(p + off)
			}
			return p
		}
		f.cur++
		if f.cur < f.nspans {
			f.bump = f.span(f.cur).Start
		}
	}
	return 0
}

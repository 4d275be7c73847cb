package loader

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
)

// The application's address space. These are kernel/hart's UserLowStart,
// UserLowEnd, UserHighStart and UserHighEnd (kernel/hart/user.go), copied
// because kernel/hart builds only for riscv64; load_riscv64.go fails to
// compile if they drift apart.
const (
	PageSize      = 4096
	UserLowStart  = 0x1000
	UserLowEnd    = 0x8000_0000
	UserHighStart = 0x10_0000_0000
	UserHighEnd   = 0x30_0000_0000

	// StackSize is the size of the application's main stack.
	StackSize = 8 << 20

	// maxPIESpan keeps half of the high region for the stack and mmap.
	maxPIESpan = (UserHighEnd - UserHighStart) / 2
)

func pageDown(a uint64) uint64 { return a &^ (PageSize - 1) }
func pageUp(a uint64) uint64   { return (a + PageSize - 1) &^ (PageSize - 1) }

// Mapping is a page-aligned run of application memory with one final
// protection, and the file bytes that go into it. To load a plan, map
// every run read-write, copy its file bytes, then set its protection:
// everything the copies do not cover must read as zero, which fresh pages
// do. A page shared by two loads is a run of its own whose protection is
// the union of theirs.
type Mapping struct {
	Addr   uint64 // page-aligned start
	Len    uint64 // multiple of PageSize
	Prot   uint32 // final protection (ProtRead|ProtWrite|ProtExec)
	Copies []Copy // file bytes inside [Addr, Addr+Len), ascending
}

// Copy places the file bytes [FileOff, FileOff+Len) at Addr.
type Copy struct {
	Addr, FileOff, Len uint64
}

// Bias is what is added to link-time addresses when the image is loaded
// at base: 0 for a static image, else base minus the first load's page.
func (img *Image) Bias(base uint64) uint64 {
	if !img.PIE() {
		return 0
	}
	return base - pageDown(img.Segments[0].Vaddr)
}

// CheckBase reports whether the image can be loaded at base: 0 for a
// static image; for a static-pie, an aligned base with the whole image in
// one of the application's address ranges.
func (img *Image) CheckBase(base uint64) error {
	if !img.PIE() {
		if base != 0 {
			return fmt.Errorf("loader: static (ET_EXEC) image loaded at base %#x: it runs only at its link address (base 0)", base)
		}
		return nil
	}
	if base%max(img.maxAlign, PageSize) != 0 {
		return fmt.Errorf("loader: base %#x is not aligned to %#x", base, max(img.maxAlign, PageSize))
	}
	span := img.Span()
	inLow := base >= UserLowStart && base <= UserLowEnd && span <= UserLowEnd-base
	inHigh := base >= UserHighStart && base <= UserHighEnd && span <= UserHighEnd-base
	if !inLow && !inHigh {
		return fmt.Errorf("loader: image of %#x bytes at base %#x leaves the application's address ranges", span, base)
	}
	return nil
}

// Plan lays the image out at base (0 for a static image; see CheckBase).
func (img *Image) Plan(base uint64) []Mapping {
	if !img.PIE() && base != 0 {
		panic("loader: Plan of a static image at a nonzero base") // caller bug: CheckBase says so
	}
	bias := img.Bias(base)
	pages := func(s Segment) (lo, hi uint64) {
		return pageDown(s.Vaddr) + bias, pageUp(s.End()) + bias
	}
	// Cut at every load's first and last page, so that a page shared by
	// two loads becomes a run of its own.
	pts := make([]uint64, 0, 4*len(img.Segments))
	for _, s := range img.Segments {
		lo, hi := pages(s)
		pts = append(pts, lo, lo+PageSize, hi-PageSize, hi)
	}
	slices.Sort(pts)
	pts = slices.Compact(pts)
	var out []Mapping
	for k := 0; k+1 < len(pts); k++ {
		a, b := pts[k], pts[k+1]
		var prot uint32
		covered := false
		for _, s := range img.Segments {
			if lo, hi := pages(s); lo <= a && b <= hi {
				prot |= s.Prot
				covered = true
			}
		}
		if !covered {
			continue // a gap between loads stays unmapped
		}
		if n := len(out); n > 0 && out[n-1].Addr+out[n-1].Len == a && out[n-1].Prot == prot {
			out[n-1].Len += b - a
			continue
		}
		out = append(out, Mapping{Addr: a, Len: b - a, Prot: prot})
	}
	for _, s := range img.Segments {
		c0, c1 := s.Vaddr+bias, s.Vaddr+bias+s.Filesz
		for i := range out {
			m := &out[i]
			if lo, hi := max(c0, m.Addr), min(c1, m.Addr+m.Len); lo < hi {
				m.Copies = append(m.Copies, Copy{Addr: lo, FileOff: s.Offset + (lo - c0), Len: hi - lo})
			}
		}
	}
	return out
}

// Brk is the page-aligned end of the loaded image at base: where the
// program break starts.
func (img *Image) Brk(base uint64) uint64 {
	return pageUp(img.Segments[len(img.Segments)-1].End()) + img.Bias(base)
}

// PickBase chooses where to load the image: 0 for a static image, a
// random base in the high region (see RandomBase) for a static-pie.
func (img *Image) PickBase(rnd io.Reader) (uint64, error) {
	if !img.PIE() {
		return 0, nil
	}
	align := max(img.maxAlign, PageSize)
	b, err := RandomBase(rnd, img.Span()+align-PageSize)
	if err != nil {
		return 0, err
	}
	return (b + align - 1) &^ (align - 1), nil
}

// RandomBase returns a uniformly random page-aligned address in the
// application's high region [UserHighStart, UserHighEnd) at which span
// bytes fit. The region has 2^25 pages, so a small span gets about 25
// bits of entropy (Linux's riscv64 default for mmap is 18).
func RandomBase(rnd io.Reader, span uint64) (uint64, error) {
	const region = UserHighEnd - UserHighStart
	if span > region {
		return 0, fmt.Errorf("loader: %#x bytes do not fit in the %#x-byte high region", span, uint64(region))
	}
	span = max(pageUp(span), PageSize)
	v, err := randomBelow(rnd, (region-span)/PageSize+1)
	if err != nil {
		return 0, err
	}
	return UserHighStart + v*PageSize, nil
}

// randomBelow returns a uniformly random integer in [0, slots), slots > 0.
func randomBelow(rnd io.Reader, slots uint64) (uint64, error) {
	// Reject the top sliver of the 64-bit range so that every slot is
	// equally likely.
	limit := math.MaxUint64 - math.MaxUint64%slots
	var b [8]byte
	for try := 0; try < 16; try++ {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return 0, fmt.Errorf("loader: read random base: %w", err)
		}
		if v := binary.LittleEndian.Uint64(b[:]); v < limit {
			return v % slots, nil
		}
	}
	return 0, fmt.Errorf("loader: random source keeps returning out-of-range values")
}

// Entropy of the placements Linux randomises by an offset from a fixed
// start: Linux's riscv64 default for the mmap base on Sv39 is 18 bits
// (mmap_rnd_bits) and brk moves within 1 GiB (18 bits of pages).
const (
	MmapRndBits = 24 // 64 GiB of the 128 GiB high region; the rest stays for mappings above
	BrkRndBits  = 18
)

// RandomMmapBase returns where the search for room for mappings without
// a fixed address starts: a random page in the lower half of the high
// region, so that a search from there finds room above it and wraps
// round below it only when that is full.
func RandomMmapBase(rnd io.Reader) (uint64, error) {
	v, err := randomBelow(rnd, 1<<MmapRndBits)
	if err != nil {
		return 0, err
	}
	return UserHighStart + v*PageSize, nil
}

// RandomBrk moves a static (non-PIE) image's program break, which would
// otherwise sit at the same address in every run, up by a random number
// of pages (BrkRndBits of them, fewer when the low region has less room
// than twice that above brk, so the heap keeps at least half of it).
func RandomBrk(rnd io.Reader, brk uint64) (uint64, error) {
	if brk >= UserLowEnd {
		return brk, nil
	}
	slots := min(uint64(1)<<BrkRndBits, (UserLowEnd-brk)/2/PageSize)
	if slots <= 1 {
		return brk, nil
	}
	v, err := randomBelow(rnd, slots)
	if err != nil {
		return 0, err
	}
	return brk + v*PageSize, nil
}

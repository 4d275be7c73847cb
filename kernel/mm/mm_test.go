package mm

import (
	"testing"
	"unsafe"
)

// arena returns page-aligned "physical" memory backed by a Go slice; the
// page-table code only does address arithmetic, so host memory stands in
// for RAM.
func arena(t *testing.T, pages int) (uintptr, []byte) {
	t.Helper()
	buf := make([]byte, (pages+1)*PageSize)
	base := (uintptr(unsafe.Pointer(&buf[0])) + PageSize - 1) &^ (PageSize - 1)
	return base, buf
}

func TestFramesBumpThenFreeList(t *testing.T) {
	base, buf := arena(t, 8)
	defer keep(buf)
	var f Frames
	if !f.AddSpan(base, base+3*PageSize) || !f.AddSpan(base+5*PageSize, base+6*PageSize) {
		t.Fatal("AddSpan failed")
	}
	got := []uintptr{f.Alloc(), f.Alloc(), f.Alloc(), f.Alloc()}
	want := []uintptr{base, base + PageSize, base + 2*PageSize, base + 5*PageSize}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("alloc %d = %#x, want %#x", i, got[i], want[i])
		}
	}
	if p := f.Alloc(); p != 0 {
		t.Fatalf("exhausted allocator returned %#x", p)
	}
	f.Free(got[1])
	f.Free(got[3])
	if p := f.Alloc(); p != got[3] {
		t.Fatalf("free list is LIFO: got %#x want %#x", p, got[3])
	}
	if in, total := f.Stats(); in != 3 || total != 4 {
		t.Fatalf("stats = %d/%d, want 3/4", in, total)
	}
}

func TestMapLookupUnmap(t *testing.T) {
	base, buf := arena(t, 64)
	defer keep(buf)
	var f Frames
	f.AddSpan(base, base+64*PageSize)
	var pt Table
	if !pt.Init(&f) {
		t.Fatal("Init")
	}
	const va = 0x30_0000_0000
	pa := f.AllocZeroed()
	if !pt.Map(&f, va, pa, PTERead|PTEWrite) {
		t.Fatal("Map")
	}
	if n := pt.Pages(); n != 3 {
		t.Fatalf("Pages = %d after one mapping, want 3 (root and two levels)", n)
	}
	if got, ok := pt.Translate(va + 123); !ok || got != pa+123 {
		t.Fatalf("Translate = %#x,%v want %#x", got, ok, pa+123)
	}
	pte, size := pt.Lookup(va)
	if size != PageSize || pte&(PTERead|PTEWrite|PTEExec|PTEValid) != PTERead|PTEWrite|PTEValid {
		t.Fatalf("pte %#x size %d", pte, size)
	}
	if _, ok := pt.Translate(va + PageSize); ok {
		t.Fatal("neighbour page mapped")
	}
	pt.Protect(va, va+PageSize, PTERead)
	if pte, _ := pt.Lookup(va); pte&PTEWrite != 0 {
		t.Fatal("Protect kept W")
	}
	inUse, _ := f.Stats()
	if n, owned := pt.Unmap(&f, 0, VALimit, true); n != 1 || owned != 1 {
		t.Fatalf("Unmap over the whole space unmapped %d pages (%d owned), want 1", n, owned)
	}
	if after, _ := f.Stats(); after != inUse-1 {
		t.Fatalf("page not freed: %d -> %d", inUse, after)
	}
	if _, ok := pt.Translate(va); ok {
		t.Fatal("still mapped after Unmap")
	}
}

func TestMapRangeUsesMegapages(t *testing.T) {
	base, buf := arena(t, 16)
	defer keep(buf)
	var f Frames
	f.AddSpan(base, base+16*PageSize)
	var pt Table
	pt.Init(&f)
	// 2 MiB + 2 pages: one megapage leaf, then two 4 KiB leaves.
	if !pt.MapRange(&f, 0x8020_0000, 0x8020_0000, MegaSize+2*PageSize, PTERead|PTEWrite) {
		t.Fatal("MapRange")
	}
	if _, size := pt.Lookup(0x8020_0000 + 5); size != MegaSize {
		t.Fatalf("size %d, want megapage", size)
	}
	if _, size := pt.Lookup(0x8040_1000); size != PageSize {
		t.Fatalf("size %d, want 4K", size)
	}
	if got, ok := pt.Translate(0x8030_0010); !ok || got != 0x8030_0010 {
		t.Fatalf("identity translate = %#x", got)
	}
	if pt.SATP()>>60 != 8 {
		t.Fatal("SATP mode is not Sv39")
	}
	// Unmap leaves the megapage (direct map) alone.
	pt.Unmap(&f, 0x8020_0000, 0x8040_0000, false)
	if _, ok := pt.Translate(0x8020_0000); !ok {
		t.Fatal("megapage unmapped")
	}
}

func TestMapFailsWhenOutOfFrames(t *testing.T) {
	base, buf := arena(t, 2)
	defer keep(buf)
	var f Frames
	f.AddSpan(base, base+2*PageSize)
	var pt Table
	pt.Init(&f)
	// Root + one level-1 table fit; the level-0 table does not.
	if pt.Map(&f, 0x1000, 0x1000, PTERead) {
		t.Fatal("Map succeeded without memory for tables")
	}
}

func TestAreas(t *testing.T) {
	var m Areas
	must := func(ok bool, what string) {
		t.Helper()
		if !ok {
			t.Fatal(what)
		}
	}
	must(m.Insert(0x10000, 0x20000, ProtRead, 0), "insert")
	must(m.Insert(0x20000, 0x30000, ProtRead, 0), "insert adjacent")
	if m.Len() != 1 {
		t.Fatalf("adjacent equal areas did not merge: %d", m.Len())
	}
	must(!m.Insert(0x2f000, 0x31000, ProtRead, 0), "overlap refused")
	must(m.SetProt(0x14000, 0x18000, ProtRead|ProtWrite), "setprot")
	if m.Len() != 3 {
		t.Fatalf("split into %d areas, want 3", m.Len())
	}
	if a, ok := m.Find(0x15000); !ok || a.Prot != ProtRead|ProtWrite || a.Start != 0x14000 || a.End != 0x18000 {
		t.Fatalf("Find = %+v %v", a, ok)
	}
	must(m.SetProt(0x14000, 0x18000, ProtRead), "setprot back")
	if m.Len() != 1 {
		t.Fatalf("areas did not merge back: %d", m.Len())
	}
	must(m.Remove(0x18000, 0x1c000), "remove middle")
	if m.Len() != 2 || m.Covered(0x10000, 0x30000) || !m.Covered(0x10000, 0x18000) {
		t.Fatal("hole not made")
	}
	if _, ok := m.Find(0x19000); ok {
		t.Fatal("found area in hole")
	}
	if p, ok := m.FindFree(0x10000, 0x40000, 0x4000, PageSize); !ok || p != 0x18000 {
		t.Fatalf("FindFree = %#x %v, want the hole", p, ok)
	}
	if p, ok := m.FindFree(0x10000, 0x40000, 0x8000, PageSize); !ok || p != 0x30000 {
		t.Fatalf("FindFree big = %#x %v", p, ok)
	}
	if _, ok := m.FindFree(0x10000, 0x38000, 0x9000, PageSize); ok {
		t.Fatal("FindFree found space that is not there")
	}
	if p, ok := m.FindFree(0x10000, 0x80000, 0x1000, 0x10000); !ok || p != 0x30000 {
		t.Fatalf("aligned FindFree = %#x", p)
	}
	must(m.Remove(0, 1<<38), "remove all")
	if m.Len() != 0 {
		t.Fatal("not empty")
	}
}

func TestAreasFull(t *testing.T) {
	var m Areas
	for i := 0; i < MaxAreas; i++ {
		// Alternate protections so nothing merges.
		if !m.Insert(uintptr(i)*0x2000, uintptr(i)*0x2000+0x1000, uint32(i%2), 0) {
			t.Fatalf("insert %d failed early", i)
		}
	}
	if m.Insert(0x10000000, 0x10001000, 0, 0) {
		t.Fatal("insert into a full table succeeded")
	}
	if m.Remove(0x800, 0x1800) {
		t.Fatal("remove that needs a split succeeded in a full table")
	}
}

func keep(b []byte) { _ = b[0] }

func TestFramesExhausted(t *testing.T) {
	base, buf := arena(t, 4)
	defer keep(buf)
	var f Frames
	f.AddSpan(base, base+PageSize)
	f.AddSpan(base+2*PageSize, base+3*PageSize)
	if f.Exhausted() {
		t.Fatal("fresh allocator exhausted")
	}
	a, b := f.Alloc(), f.Alloc()
	if !f.Exhausted() || f.Alloc() != 0 {
		t.Fatal("allocator not exhausted after its two pages")
	}
	f.Free(a)
	if f.Exhausted() {
		t.Fatal("exhausted with a freed page")
	}
	_ = b
}

func TestFramesReserve(t *testing.T) {
	base, buf := arena(t, 8)
	defer keep(buf)
	var f Frames
	if !f.AddSpan(base, base+8*PageSize) {
		t.Fatal("AddSpan failed")
	}
	f.SetReserve(3)
	if got := f.Spare(); got != 5 {
		t.Fatalf("Spare = %d, want 5", got)
	}
	var user []uintptr
	for p := f.AllocUser(); p != 0; p = f.AllocUser() {
		user = append(user, p)
	}
	if len(user) != 5 {
		t.Fatalf("AllocUser handed out %d pages, want 5 (8 less a reserve of 3)", len(user))
	}
	if f.FreePages() != 3 || f.Spare() != 0 {
		t.Fatalf("after the application's pages: free %d spare %d, want 3 and 0", f.FreePages(), f.Spare())
	}
	// The kernel still gets the reserve.
	for i := 0; i < 3; i++ {
		if f.Alloc() == 0 {
			t.Fatalf("kernel allocation %d from the reserve failed", i)
		}
	}
	if f.Alloc() != 0 || f.FreePages() != 0 {
		t.Fatal("allocator hands out more than it has")
	}
	f.Free(user[0])
	if f.AllocUser() != 0 {
		t.Fatal("AllocUser took a page the kernel's reserve is short of")
	}
}

// TestFramesGive: pages given after boot are handed out once each and
// count in the total and in what the application may take.
func TestFramesGive(t *testing.T) {
	base, buf := arena(t, 4)
	defer keep(buf)
	var f Frames
	f.AddSpan(base, base+PageSize)
	f.SetReserve(1)
	if f.Spare() != 0 {
		t.Fatalf("Spare = %d, want 0", f.Spare())
	}
	f.Give(base + 2*PageSize)
	f.Give(base + 3*PageSize)
	if _, total := f.Stats(); total != 3 || f.Spare() != 2 {
		t.Fatalf("after giving 2 pages: total %d spare %d, want 3 and 2", total, f.Spare())
	}
	got := map[uintptr]bool{}
	for p := f.Alloc(); p != 0; p = f.Alloc() {
		if got[p] {
			t.Fatalf("page %#x handed out twice", p)
		}
		got[p] = true
	}
	if len(got) != 3 || !got[base] || !got[base+2*PageSize] || !got[base+3*PageSize] {
		t.Fatalf("handed out %v, want the span's page and the two given", got)
	}

	// An adopted page counts as handed out, and Free makes it free.
	f.Adopt()
	if inUse, total := f.Stats(); inUse != 4 || total != 4 {
		t.Fatalf("after Adopt: in use %d of %d, want 4 of 4", inUse, total)
	}
	f.Free(base + PageSize)
	if p := f.Alloc(); p != base+PageSize {
		t.Fatalf("Alloc after freeing the adopted page = %#x, want %#x", p, base+PageSize)
	}
}

// Zero clears exactly one page: every byte of it, none of its neighbours.
func TestZeroClearsOnePage(t *testing.T) {
	base, buf := arena(t, 3)
	defer keep(buf)
	page := unsafe.Slice((*byte)(unsafe.Add(nil, base)), 3*PageSize)
	for i := range page {
		page[i] = byte(i%251) | 1
	}
	Zero(base + PageSize)
	for i, b := range page {
		inside := i >= PageSize && i < 2*PageSize
		if inside && b != 0 {
			t.Fatalf("byte %d of the page is %#x after Zero", i-PageSize, b)
		}
		if !inside && b != byte(i%251)|1 {
			t.Fatalf("byte %d outside the page changed to %#x", i, b)
		}
	}
}

// An Areas with n entries writes nothing past AreasBytes(n+2) in any
// operation, so a table whose owner backs only that much (kernel/hart)
// never touches an unbacked page.
func TestAreasStayInTheirBytes(t *testing.T) {
	words := make([]uint64, unsafe.Sizeof(Areas{})/8)
	m := (*Areas)(unsafe.Pointer(&words[0]))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	const canary = 0xa5
	check := func(step string, n int, op func() bool) {
		t.Helper()
		from := AreasBytes(n + 2)
		for i := from; i < uintptr(len(raw)); i++ {
			raw[i] = canary
		}
		op()
		for i := from; i < uintptr(len(raw)); i++ {
			if raw[i] != canary {
				t.Fatalf("%s with %d areas wrote byte %d, past AreasBytes(%d) = %d", step, n, i, n+2, from)
			}
		}
	}
	const pg = PageSize
	for i := 0; i < 300; i++ {
		base := uintptr(i) * 16 * pg
		n := m.Len()
		check("Insert", n, func() bool { return m.Insert(base, base+8*pg, uint32(i%3), 0) })
		n = m.Len()
		check("Remove", n, func() bool { return m.Remove(base+2*pg, base+3*pg) }) // a split
		n = m.Len()
		check("SetProt", n, func() bool { return m.SetProt(base+5*pg, base+6*pg, 7) }) // two splits
		if i%7 == 0 {
			n = m.Len()
			check("Remove", n, func() bool { return m.Remove(base, base+16*pg) })
		}
	}
	if m.Len() < 500 {
		t.Fatalf("only %d areas: the test did not grow the table", m.Len())
	}
	if got := AreasBytes(MaxAreas + 5); got != unsafe.Sizeof(Areas{}) {
		t.Fatalf("AreasBytes beyond the table = %d, want the table's size %d", got, unsafe.Sizeof(Areas{}))
	}
}

// The shared page (a zero page) may back many leaves read-only: Unmap
// clears them without freeing it or counting it as owned, and Protect
// never makes a leaf that maps it writable.
func TestSharedPage(t *testing.T) {
	base, buf := arena(t, 64)
	defer keep(buf)
	var f Frames
	f.AddSpan(base, base+64*PageSize)
	var pt Table
	if !pt.Init(&f) {
		t.Fatal("Init")
	}
	zero := f.AllocZeroed()
	pt.SetShared(zero)
	const va = 0x10_0000_0000
	own := f.AllocZeroed()
	for i, pa := range []uintptr{zero, own, zero} {
		if !pt.Map(&f, va+uintptr(i)*PageSize, pa, PTERead|PTEUser) {
			t.Fatal("Map")
		}
	}
	pt.Protect(va, va+3*PageSize, PTERead|PTEWrite|PTEUser|PTEDirty)
	for i, wantW := range []bool{false, true, false} {
		pte, _ := pt.Lookup(va + uintptr(i)*PageSize)
		if got := pte&PTEWrite != 0; got != wantW || pte&PTERead == 0 {
			t.Errorf("page %d after Protect(RW): pte %#x, writable %v, want %v", i, pte, got, wantW)
		}
		if pt.IsShared(pte) != (i != 1) {
			t.Errorf("page %d: IsShared = %v", i, pt.IsShared(pte))
		}
	}
	inUse, _ := f.Stats()
	cleared, owned := pt.Unmap(&f, va, va+3*PageSize, true)
	if cleared != 3 || owned != 1 {
		t.Fatalf("Unmap cleared %d (%d owned), want 3 (1 owned)", cleared, owned)
	}
	if after, _ := f.Stats(); after != inUse-1 {
		t.Fatalf("pages in use %d -> %d: want only the owned page freed", inUse, after)
	}
	if p := f.Alloc(); p == zero {
		t.Fatal("the shared page went back to the allocator")
	}
}

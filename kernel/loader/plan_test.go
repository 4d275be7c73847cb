package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// fakeMem plays the mapper against a sparse page store, the way Load
// does with the hart layer: map read-write, copy, protect.
type fakeMem struct {
	pages map[uint64]*[PageSize]byte
	prot  map[uint64]uint32
}

func (m *fakeMem) load(maps []Mapping, file []byte) error {
	m.pages, m.prot = map[uint64]*[PageSize]byte{}, map[uint64]uint32{}
	for _, r := range maps {
		for a := r.Addr; a < r.Addr+r.Len; a += PageSize {
			if m.pages[a] != nil {
				return fmt.Errorf("page %#x mapped twice", a)
			}
			m.pages[a] = new([PageSize]byte)
			m.prot[a] = ProtRead | ProtWrite
		}
	}
	for _, r := range maps {
		for _, c := range r.Copies {
			if c.Addr < r.Addr || c.Addr+c.Len > r.Addr+r.Len {
				return fmt.Errorf("copy %+v outside its run [%#x, %#x)", c, r.Addr, r.Addr+r.Len)
			}
			for i := uint64(0); i < c.Len; i++ {
				a := c.Addr + i
				m.pages[pageDown(a)][a%PageSize] = file[c.FileOff+i]
			}
		}
	}
	for _, r := range maps {
		for a := r.Addr; a < r.Addr+r.Len; a += PageSize {
			m.prot[a] = r.Prot
		}
	}
	return nil
}

func (m *fakeMem) byteAt(a uint64) (byte, bool) {
	p := m.pages[pageDown(a)]
	if p == nil {
		return 0, false
	}
	return p[a%PageSize], true
}

// checkPlan lays img out (at a random base for a static-pie) and checks
// every byte of every load, the protections and W^X.
func checkPlan(t *testing.T, img *Image, file []byte) {
	t.Helper()
	base, err := img.PickBase(rand.NewChaCha8([32]byte{1}))
	if err != nil {
		t.Fatal(err)
	}
	if err := img.CheckBase(base); err != nil {
		t.Fatal(err)
	}
	maps := img.Plan(base)
	for i, r := range maps {
		if r.Addr%PageSize != 0 || r.Len%PageSize != 0 || r.Len == 0 {
			t.Errorf("run %d %#x+%#x not page-aligned", i, r.Addr, r.Len)
		}
		if r.Prot&ProtWrite != 0 && r.Prot&ProtExec != 0 {
			t.Errorf("run %d at %#x is writable and executable", i, r.Addr)
		}
		if i > 0 && maps[i-1].Addr+maps[i-1].Len > r.Addr {
			t.Errorf("runs %d and %d overlap or are unsorted", i-1, i)
		}
	}
	var mem fakeMem
	if err := mem.load(maps, file); err != nil {
		t.Fatal(err)
	}
	bias := img.Bias(base)
	for _, s := range img.Segments {
		for off := uint64(0); off < s.Memsz; off++ {
			a := s.Vaddr + bias + off
			got, ok := mem.byteAt(a)
			if !ok {
				t.Fatalf("segment %d byte %#x at %#x is not mapped", s.Index, off, a)
			}
			want := byte(0)
			if off < s.Filesz {
				want = file[s.Offset+off]
			}
			if got != want {
				t.Fatalf("segment %d byte %#x at %#x = %#x, want %#x", s.Index, off, a, got, want)
			}
			if p := mem.prot[pageDown(a)]; p&s.Prot != s.Prot {
				t.Fatalf("segment %d page %#x has %s, want at least %s", s.Index, pageDown(a), ProtString(p), ProtString(s.Prot))
			}
		}
	}
	if brk := img.Brk(base); brk%PageSize != 0 || mem.pages[brk] != nil || mem.pages[brk-PageSize] == nil {
		t.Errorf("brk %#x is not the end of the image", brk)
	}
	aux := img.AuxVector(base)
	phdr := auxVal(aux, linux.AT_PHDR)
	for i := uint64(0); i < uint64(img.PhNum)*phdrSize; i++ {
		b, ok := mem.byteAt(phdr + i)
		if !ok || b != file[binary.LittleEndian.Uint64(file[32:])+i] {
			t.Fatalf("AT_PHDR %#x: program header byte %d is not there", phdr, i)
		}
	}
	if e := auxVal(aux, linux.AT_ENTRY); e != img.Entry+bias || mem.prot[pageDown(e)]&ProtExec == 0 {
		t.Errorf("AT_ENTRY %#x is not executable", e)
	}
}

func auxVal(aux []AuxEntry, typ uint64) uint64 {
	for _, e := range aux {
		if e.Type == typ {
			return e.Val
		}
	}
	return ^uint64(0)
}

func TestPlanSharedPages(t *testing.T) {
	// Text, then rodata in the same page as text's tail, then data
	// sharing rodata's last page, then a tiny bss-only load inside that
	// page too.
	phs := []ph{
		{ptLoad, rx, 0, 0x10000, 0x1800, 0x1800, 0x1000},
		{ptLoad, ro, 0x1800, 0x11800, 0x1000, 0x1000, 0x1000},
		{ptLoad, rw, 0x2800, 0x12800, 0x100, 0x180, 0x1000},
		{ptLoad, rw, 0x2980, 0x12980, 0, 0x2000, 0x1000},
	}
	file := synth(etExec, emRISCV, 0x10100, phs, 0x3000)
	for i := 0x100 * 7; i < len(file); i++ {
		file[i] = byte(i*7 + 1) // nothing zero, so stray copies show
	}
	img, err := parseBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	maps := img.Plan(0)
	type run struct {
		addr, len uint64
		prot      string
		copies    int
	}
	var got []run
	for _, m := range maps {
		got = append(got, run{m.Addr, m.Len, ProtString(m.Prot), len(m.Copies)})
	}
	want := []run{
		{0x10000, 0x2000, "r-x", 2}, // text; rodata's head shares its last page
		{0x12000, 0x3000, "rw-", 2}, // rodata's tail page shared with data and bss

	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runs:\n got %+v\nwant %+v", got, want)
	}
	checkPlan(t, img, file)
}

func TestPlanPIE(t *testing.T) {
	phs := []ph{
		{ptLoad, rx, 0, 0, 0x1234, 0x1234, 0x1000},
		{ptLoad, rw, 0x1f00, 0x2f00, 0x100, 0x5000, 0x1000},
		{ptDynamic, rw, 0x1f00, 0x2f00, 0x100, 0x100, 8},
	}
	file := synth(etDyn, emRISCV, 0x200, phs, 0x2000)
	img, err := parseBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	if !img.PIE() || img.Span() != 0x8000 {
		t.Fatalf("PIE %v span %#x", img.PIE(), img.Span())
	}
	const base = 0x12_3456_7000
	maps := img.Plan(base)
	if maps[0].Addr != base || maps[0].Copies[0] != (Copy{base, 0, 0x1234}) {
		t.Errorf("first run %+v", maps[0])
	}
	if c := maps[1].Copies[0]; c != (Copy{base + 0x2f00, 0x1f00, 0x100}) {
		t.Errorf("data copy %+v", c)
	}
	if img.Brk(base) != base+0x8000 {
		t.Errorf("brk %#x", img.Brk(base))
	}
	aux := img.AuxVector(base)
	if auxVal(aux, linux.AT_PHDR) != base+0x40 || auxVal(aux, linux.AT_ENTRY) != base+0x200 || auxVal(aux, linux.AT_BASE) != 0 {
		t.Errorf("auxv %+v", aux)
	}
	for _, bad := range []uint64{0, base + 1, UserHighEnd - 0x4000, 0x7fff_f000} {
		if img.CheckBase(bad) == nil {
			t.Errorf("CheckBase(%#x) accepted", bad)
		}
	}
	if err := img.CheckBase(base); err != nil {
		t.Error(err)
	}
	checkPlan(t, img, file)
}

func TestCheckBaseStatic(t *testing.T) {
	img, err := parseBytes(synth(etExec, emRISCV, 0x10100, good(), 0x900))
	if err != nil {
		t.Fatal(err)
	}
	if err := img.CheckBase(0x10_0000_0000); err == nil || !strings.Contains(err.Error(), "runs only at its link address") {
		t.Errorf("CheckBase of a static image at a base: %v", err)
	}
	if b, err := img.PickBase(rand.NewChaCha8([32]byte{})); b != 0 || err != nil {
		t.Errorf("PickBase = %#x, %v", b, err)
	}
}

func TestRandomBase(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{7})
	const span = 0x1234_5678
	lo, hi := uint64(UserHighEnd), uint64(0)
	seen := map[uint64]bool{}
	for i := 0; i < 20000; i++ {
		b, err := RandomBase(rnd, span)
		if err != nil {
			t.Fatal(err)
		}
		if b%PageSize != 0 || b < UserHighStart || b+span > UserHighEnd {
			t.Fatalf("base %#x out of range", b)
		}
		lo, hi = min(lo, b), max(hi, b)
		seen[b] = true
	}
	// 20000 draws from ~2^25 slots: nearly all distinct, spread over
	// the whole region.
	if len(seen) < 19900 || lo > UserHighStart+(1<<33) || hi < UserHighEnd-(1<<33)-span {
		t.Errorf("%d distinct bases in [%#x, %#x]", len(seen), lo, hi)
	}
	// Entropy: the number of page slots for a one-page span.
	if slots := (UserHighEnd-UserHighStart-PageSize)/PageSize + 1; slots != 1<<25 {
		t.Errorf("%d slots, want 2^25", slots)
	}
	if _, err := RandomBase(rnd, UserHighEnd-UserHighStart+1); err == nil {
		t.Error("span larger than the region accepted")
	}
	if b, err := RandomBase(rnd, UserHighEnd-UserHighStart); err != nil || b != UserHighStart {
		t.Errorf("whole-region span: %#x, %v", b, err)
	}
	if _, err := RandomBase(bytes.NewReader(bytes.Repeat([]byte{0xff}, 1000)), PageSize); err == nil {
		t.Error("stuck random source accepted")
	}
	if _, err := RandomBase(bytes.NewReader(nil), PageSize); err == nil || !strings.Contains(err.Error(), "read random base") {
		t.Errorf("empty random source: %v", err)
	}
}

func TestPickBaseAlign(t *testing.T) {
	phs := []ph{
		{ptLoad, rx, 0, 0, 0x1234, 0x1234, 0x10000},
		{ptLoad, rw, 0x1f00, 0x11f00, 0x100, 0x5000, 0x10000},
	}
	img, err := parseBytes(synth(etDyn, emRISCV, 0x200, phs, 0x2000))
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.NewChaCha8([32]byte{3})
	for i := 0; i < 1000; i++ {
		b, err := img.PickBase(rnd)
		if err != nil {
			t.Fatal(err)
		}
		if b%0x10000 != 0 || img.CheckBase(b) != nil {
			t.Fatalf("base %#x: %v", b, img.CheckBase(b))
		}
	}
}

func TestBuildStack(t *testing.T) {
	var random [16]byte
	for i := range random {
		random[i] = byte(0xa0 + i)
	}
	sp, mem := BuildStack(0x1000, []string{"a", "bc"}, []string{"X=1"},
		[]AuxEntry{{linux.AT_PAGESZ, 4096}, {linux.AT_RANDOM, 1}, {linux.AT_NULL, 0}}, random, "/a")
	// Worked out by hand from the top (0x1000) down:
	//   0xff8 end marker (8 zero bytes)
	//   0xff5 "/a\0" (execfn)   0xff1 "X=1\0"   0xfee "bc\0"   0xfec "a\0"
	//   0xfe0 = 0xfec rounded down to 16; 0xfd0 AT_RANDOM bytes
	//   14 words below: argc, 2 argv + NULL, 1 envp + NULL, 4 auxv pairs
	//   sp = (0xfd0 - 14*8) &^ 15 = 0xf60
	if sp != 0xf60 {
		t.Fatalf("sp = %#x, want 0xf60", sp)
	}
	var want []byte
	for _, w := range []uint64{
		2, 0xfec, 0xfee, 0, // argc, argv
		0xff1, 0, // envp
		linux.AT_PAGESZ, 4096, linux.AT_RANDOM, 0xfd0, linux.AT_EXECFN, 0xff5, linux.AT_NULL, 0,
	} {
		want = binary.LittleEndian.AppendUint64(want, w)
	}
	want = append(want, random[:]...)            // 0xfd0
	want = append(want, make([]byte, 12)...)     // 0xfe0 padding
	want = append(want, "a\x00bc\x00X=1\x00"...) // 0xfec
	want = append(want, "/a\x00"...)             // 0xff5
	want = append(want, make([]byte, 8)...)      // 0xff8 end marker
	if !bytes.Equal(mem, want) {
		t.Errorf("stack:\n got % x\nwant % x", mem, want)
	}
}

func TestBuildStackAlignment(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		var argv, envp []string
		for j := rnd.IntN(5); j >= 0; j-- {
			argv = append(argv, strings.Repeat("x", rnd.IntN(40)))
		}
		for j := rnd.IntN(5); j > 0; j-- {
			envp = append(envp, strings.Repeat("E", rnd.IntN(40)))
		}
		top := uint64(0x20_0000_0000 - 16*rnd.IntN(100))
		sp, mem := BuildStack(top, argv, envp, nil, [16]byte{1}, "exe")
		if sp%16 != 0 || sp+uint64(len(mem)) != top {
			t.Fatalf("sp %#x len %d top %#x", sp, len(mem), top)
		}
		le := binary.LittleEndian
		if argc := le.Uint64(mem); argc != uint64(len(argv)) {
			t.Fatalf("argc %d", argc)
		}
		str := func(a uint64) string {
			s := mem[a-sp:]
			return string(s[:bytes.IndexByte(s, 0)])
		}
		for j, s := range argv {
			if got := str(le.Uint64(mem[8+8*j:])); got != s {
				t.Fatalf("argv[%d] = %q, want %q", j, got, s)
			}
		}
		auxv := mem[8*(1+len(argv)+1+len(envp)+1):]
		if le.Uint64(auxv) != linux.AT_RANDOM || le.Uint64(auxv[16:]) != linux.AT_EXECFN || str(le.Uint64(auxv[24:])) != "exe" || le.Uint64(auxv[32:]) != linux.AT_NULL {
			t.Fatalf("auxv % x", auxv[:48])
		}
	}
}

func TestAuxVectorStatic(t *testing.T) {
	img, err := parseBytes(synth(etExec, emRISCV, 0x10100, good(), 0x900))
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]uint64{
		linux.AT_PHDR: 0x10040, linux.AT_PHENT: 56, linux.AT_PHNUM: 3, linux.AT_PAGESZ: 4096, linux.AT_BASE: 0, linux.AT_ENTRY: 0x10100,
		linux.AT_HWCAP: 0x112d, linux.AT_CLKTCK: 100, linux.AT_SECURE: 0, linux.AT_UID: 0, linux.AT_EUID: 0, linux.AT_GID: 0, linux.AT_EGID: 0, linux.AT_FLAGS: 0,
	}
	aux := img.AuxVector(0)
	if len(aux) != len(want) {
		t.Errorf("%d entries, want %d", len(aux), len(want))
	}
	for typ, v := range want {
		if got := auxVal(aux, typ); got != v {
			t.Errorf("aux %d = %#x, want %#x", typ, got, v)
		}
	}
}

func TestDescribe(t *testing.T) {
	l := &Loaded{PIE: true, Base: 0x10_0000_0000, Entry: 0x10_0000_0242, SP: 0x20_0000_0f60,
		StackLo: 0x1f_ff80_0000, StackHi: 0x20_0000_0000, Guard: 0x1f_ff7f_f000,
		Mappings: []Mapping{{Addr: 0x10_0000_0000, Len: 0x1000, Prot: ProtRead | ProtExec, Copies: []Copy{{0x10_0000_0000, 0, 0x7dc}}}},
		TLS:      &TLS{Vaddr: 0x10_0000_1000, Filesz: 8, Memsz: 16, Align: 8}}
	d := l.Describe()
	for _, s := range []string{"static-pie image: base 0x1000000000 entry 0x1000000242", "0x1000000000-0x1000001000 r-x 2012 file bytes",
		"rw- stack (guard page at 0x1fff7ff000)", "tls template 0x1000001000 filesz 0x8 memsz 0x10 align 0x8"} {
		if !strings.Contains(d, s) {
			t.Errorf("Describe() lacks %q:\n%s", s, d)
		}
	}
}

func TestRandomMmapBaseAndBrk(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{9})
	bases, brks := map[uint64]bool{}, map[uint64]bool{}
	const brk0 = 0x1_2000 // a static image ending low, as runikraft-cc's non-PIE ones do
	for i := 0; i < 5000; i++ {
		b, err := RandomMmapBase(rnd)
		if err != nil {
			t.Fatal(err)
		}
		if b%PageSize != 0 || b < UserHighStart || b >= UserHighStart+PageSize<<MmapRndBits {
			t.Fatalf("mmap base %#x out of range", b)
		}
		bases[b] = true
		k, err := RandomBrk(rnd, brk0)
		if err != nil {
			t.Fatal(err)
		}
		if k%PageSize != 0 || k < brk0 || k >= brk0+PageSize<<BrkRndBits {
			t.Fatalf("brk %#x out of range", k)
		}
		brks[k] = true
	}
	// 5000 draws from 2^24 and 2^18 slots: (nearly) all distinct.
	if len(bases) < 4990 || len(brks) < 4900 {
		t.Errorf("%d distinct mmap bases, %d distinct brks in 5000 draws", len(bases), len(brks))
	}
	if MmapRndBits < 18 || BrkRndBits < 18 {
		t.Error("less entropy than Linux's riscv64 default")
	}
	// A brk near the top of the low region keeps half the room above it.
	top := uint64(UserLowEnd - 64*PageSize)
	for i := 0; i < 200; i++ {
		k, err := RandomBrk(rnd, top)
		if err != nil || k < top || k >= top+32*PageSize {
			t.Fatalf("brk near the top: %#x, %v", k, err)
		}
	}
	if k, err := RandomBrk(rnd, UserLowEnd); err != nil || k != UserLowEnd {
		t.Errorf("brk at the end of the low region moved: %#x, %v", k, err)
	}
}

func TestWholePages(t *testing.T) {
	const P = PageSize
	cases := []struct {
		c       Copy
		skip, n uint64
	}{
		{Copy{Addr: 0x10000, FileOff: 0, Len: 3 * P}, 0, 3 * P},
		{Copy{Addr: 0x10000, FileOff: 0, Len: 3*P + 5}, 0, 3 * P},                         // the tail is copied
		{Copy{Addr: 0x10010, FileOff: 0x10, Len: 3 * P}, P - 0x10, 2 * P},                 // the head is copied
		{Copy{Addr: 0x10010, FileOff: 0x20, Len: 3 * P}, 0, 0},                            // not congruent
		{Copy{Addr: 0x10010, FileOff: 0x10, Len: P}, 0, 0},                                // no whole page
		{Copy{Addr: 0x10010, FileOff: 0x10, Len: 0x20}, 0, 0},                             // inside one page
		{Copy{Addr: 0x5a000 + 0x3c8, FileOff: 0x3c8 + 0x59000, Len: 2 * P}, P - 0x3c8, P}, // C static-pie rodata
	}
	for _, c := range cases {
		skip, n := wholePages(c.c)
		if skip != c.skip || n != c.n {
			t.Errorf("wholePages(%+v) = %#x, %#x; want %#x, %#x", c.c, skip, n, c.skip, c.n)
		}
		if n != 0 && ((c.c.Addr+skip)%P != 0 || (c.c.FileOff+skip)%P != 0 || skip+n > c.c.Len) {
			t.Errorf("wholePages(%+v): [%#x, %#x) is not whole pages of the copy", c.c, skip, skip+n)
		}
	}
	f := File("abcdef")
	b := make([]byte, 4)
	if n, err := f.ReadAt(b, 4); n != 2 || err == nil || string(b[:n]) != "ef" {
		t.Errorf("ReadAt past the end: %d, %v", n, err)
	}
	if _, err := f.ReadAt(b, -1); err == nil {
		t.Error("ReadAt at a negative offset succeeded")
	}
}

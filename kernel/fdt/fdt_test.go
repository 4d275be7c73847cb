package fdt

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// view is a Machine with the in-blob ranges resolved to their bytes and the
// fixed arrays cut to length, so expectations can be written as literals.
type view struct {
	Mem        []Range
	Reserved   []Range
	TimebaseHz uint64
	Harts      int
	HartID     []uint64
	ISA        string
	UART       Device
	PLIC       Device
	PLICNDev   uint32
	Test       Device
	RTC        Device
	Virtio     []Device
	RNGSeed    string // hex
	Bootargs   string
	Initrd     Range
	TotalSize  uint32
}

func viewOf(t *testing.T, blob []byte, m *Machine) view {
	t.Helper()
	return view{
		Mem:        append([]Range(nil), m.Mem[:m.NMem]...),
		Reserved:   append([]Range(nil), m.Reserved[:m.NReserved]...),
		TimebaseHz: m.TimebaseHz,
		Harts:      m.Harts,
		HartID:     append([]uint64(nil), m.HartID[:m.NHartID]...),
		ISA:        string(m.ISA[:m.ISALen]),
		UART:       m.UART,
		PLIC:       m.PLIC,
		PLICNDev:   m.PLICNDev,
		Test:       m.Test,
		RTC:        m.RTC,
		Virtio:     append([]Device(nil), m.Virtio[:m.NVirtio]...),
		RNGSeed:    hexOf(inBlob(t, blob, m.RNGSeed)),
		Bootargs:   string(inBlob(t, blob, m.Bootargs)),
		Initrd:     m.Initrd,
		TotalSize:  m.TotalSize,
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

// inBlob returns the bytes a Range points at, failing if it leaves the blob.
func inBlob(t *testing.T, blob []byte, r Range) []byte {
	t.Helper()
	if r.Size == 0 {
		return nil
	}
	start := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(blob))))
	if r.Base < start || r.Base+r.Size > start+uint64(len(blob)) || r.Base+r.Size < r.Base {
		t.Fatalf("range %#x+%#x outside blob %#x+%#x", r.Base, r.Size, start, len(blob))
	}
	off := r.Base - start
	return blob[off : off+r.Size]
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// qemuVirt is what every QEMU 7.2 "virt" DTB in testdata shares.
func qemuVirt(memSize uint64, harts int, seed string, total uint32) view {
	v := view{
		Mem:        []Range{{0x80000000, memSize}},
		TimebaseHz: 10000000,
		Harts:      harts,
		HartID:     []uint64{0, 1}[:harts],
		ISA:        "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc",
		UART:       Device{0x10000000, 0x100, 10},
		PLIC:       Device{0xc000000, 0x600000, 0}, // interrupts-extended only
		PLICNDev:   96,
		Test:       Device{0x100000, 0x1000, 0},
		RTC:        Device{0x101000, 0x1000, 11},
		RNGSeed:    seed,
		TotalSize:  total,
	}
	// QEMU creates the slots top-down, so tree order is descending.
	for i := 8; i >= 1; i-- {
		v.Virtio = append(v.Virtio, Device{0x10000000 + uint64(i)*0x1000, 0x1000, uint32(i)})
	}
	return v
}

func TestTestdata(t *testing.T) {
	rng := qemuVirt(64<<20, 1, "b560e4500c8021f3131490e0ef3f22278a3b1a309dcdb4845ea3c552f02f02ea", 4323)
	rng.Bootargs = "console=x"
	rng.Initrd = Range{0x82200000, 0x1000}

	isa := "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc_svinval_svnapot"
	tests := []struct {
		file string
		want view
	}{
		{"virt-64m.dtb", qemuVirt(64<<20, 1, "efbfbd19bbb0aa668a578b350c11163a480d29aba4314065ab6c8cbb726eb097", 4222)},
		{"virt-128m-smp2.dtb", qemuVirt(128<<20, 2, "d61b8c198106b544eb84a4564ea13797bce3083472c4465b67b947dd0de67b67", 4590)},
		{"virt-2g.dtb", qemuVirt(2<<30, 1, "3d58fca8850b375d79d6f3e64bcae300140dcff11b504ba4124aaab96544dbc7", 4222)},
		{"virt-rng-initrd.dtb", rng},
		{"reserved.dtb", view{
			Mem: []Range{
				{0x80000000, 0x40000000},
				{0x100000000, 0x10000000},
				{0xc0000000, 0x1000000},
				{0xd0000000, 0x100000},
			},
			Reserved: []Range{
				{0x80000000, 0x200000}, // /memreserve/ first
				{0x9ff00000, 0x1000},
				{0x80000000, 0x40000}, // then /reserved-memory with 1/1 cells
				{0xa0000000, 0x100000},
				{0xa0200000, 0x1000},
			},
			TimebaseHz: 1000000, // from cpu@1: cpu@0 is disabled, /cpus has none
			Harts:      2,       // cpu@1, cpu@2; not the disabled or failed ones
			HartID:     []uint64{1, 2},
			ISA:        isa[:MaxISA],
			UART:       Device{0x10000000, 0x100, 10},
			PLIC:       Device{0xc000000, 0x4000000, 0},
			PLICNDev:   53,
			Test:       Device{0x100000, 0x1000, 0},
			RTC:        Device{0x101000, 0x1000, 11},
			Virtio:     []Device{{0x10002000, 0x1000, 2}, {0x100001000, 0x200, 33}},
			RNGSeed:    "0102030405060708090a",
			Bootargs:   "quiet loglevel=3",
			Initrd:     Range{0x84000000, 0x200000},
			TotalSize:  2923,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			blob := readTestdata(t, tt.file)
			var m Machine
			if e := ParseBytes(blob, &m); e != OK {
				t.Fatalf("ParseBytes = %d (%s)", e, ErrorString(e))
			}
			if got := viewOf(t, blob, &m); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}

			// The boot entry point must agree with the host one.
			var m2 Machine
			if e := Parse(uintptr(unsafe.Pointer(&blob[0])), &m2); e != OK || m2 != m {
				t.Errorf("Parse = %d, differs from ParseBytes: %v", e, m2 != m)
			}

			// QEMU's dumpdtb writes the whole 1 MiB buffer; the padding
			// past totalsize must be ignored.
			padded := append(append([]byte(nil), blob...), make([]byte, 1<<20-len(blob))...)
			var m3 Machine
			if e := ParseBytes(padded, &m3); e != OK || viewOf(t, padded, &m3).TotalSize != tt.want.TotalSize {
				t.Errorf("padded: %d %d", e, m3.TotalSize)
			}

			// Byte loads only: an odd address must work too.
			odd := make([]byte, len(blob)+1)
			copy(odd[1:], blob)
			var m4 Machine
			if e := ParseBytes(odd[1:], &m4); e != OK || !reflect.DeepEqual(viewOf(t, odd[1:], &m4), tt.want) {
				t.Errorf("unaligned: %d", e)
			}
		})
	}
}

// builder writes DTBs for the cases QEMU and dtc will not produce.
type builder struct {
	rsv     [][2]uint64
	st      []byte
	strs    []byte
	strOffs map[string]uint32
}

func newBuilder() *builder { return &builder{strOffs: map[string]uint32{}} }

func (b *builder) tok(v uint32) *builder {
	b.st = binary.BigEndian.AppendUint32(b.st, v)
	return b
}

func (b *builder) pad() {
	for len(b.st)%4 != 0 {
		b.st = append(b.st, 0)
	}
}

func (b *builder) begin(name string) *builder {
	b.tok(tokBeginNode)
	b.st = append(append(b.st, name...), 0)
	b.pad()
	return b
}

func (b *builder) end() *builder { return b.tok(tokEndNode) }

func (b *builder) nameOff(name string) uint32 {
	off, ok := b.strOffs[name]
	if !ok {
		off = uint32(len(b.strs))
		b.strOffs[name] = off
		b.strs = append(append(b.strs, name...), 0)
	}
	return off
}

func (b *builder) prop(name string, val []byte) *builder {
	b.tok(tokProp).tok(uint32(len(val))).tok(b.nameOff(name))
	b.st = append(b.st, val...)
	b.pad()
	return b
}

func (b *builder) reserve(base, size uint64) *builder {
	b.rsv = append(b.rsv, [2]uint64{base, size})
	return b
}

// bytes appends FDT_END and lays out header, reservations, structure and
// strings in the usual order.
func (b *builder) bytes() []byte {
	st := binary.BigEndian.AppendUint32(append([]byte(nil), b.st...), tokEnd)
	var rsv []byte
	for _, r := range b.rsv {
		rsv = binary.BigEndian.AppendUint64(rsv, r[0])
		rsv = binary.BigEndian.AppendUint64(rsv, r[1])
	}
	rsv = append(rsv, make([]byte, 16)...)
	offRsv := uint32(headerSize)
	offStruct := offRsv + uint32(len(rsv))
	offStr := offStruct + uint32(len(st))
	total := offStr + uint32(len(b.strs))
	out := make([]byte, headerSize, total)
	for i, v := range []uint32{fdtMagic, total, offStruct, offStr, offRsv, version, 16, 0, uint32(len(b.strs)), uint32(len(st))} {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	out = append(out, rsv...)
	out = append(out, st...)
	return append(out, b.strs...)
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

func u64s(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint64(b, x)
	}
	return b
}

func str(s ...string) []byte {
	var b []byte
	for _, x := range s {
		b = append(append(b, x...), 0)
	}
	return b
}

// rootWith is a minimal valid tree with body inside the root node.
func rootWith(body func(b *builder)) []byte {
	b := newBuilder().begin("")
	b.prop("#address-cells", u32s(2)).prop("#size-cells", u32s(2))
	body(b)
	return b.end().bytes()
}

func memNode(b *builder, reg []byte) {
	b.begin("memory@80000000").prop("device_type", str("memory")).prop("reg", reg).end()
}

// poke sets a big-endian header word.
func poke(blob []byte, off int, v uint32) []byte {
	out := append([]byte(nil), blob...)
	binary.BigEndian.PutUint32(out[off:], v)
	return out
}

func TestErrors(t *testing.T) {
	good := rootWith(func(b *builder) { memNode(b, u64s(0x80000000, 0x1000)) })
	total := uint32(len(good))
	structOff := binary.BigEndian.Uint32(good[8:])
	structSize := binary.BigEndian.Uint32(good[36:])
	strSize := binary.BigEndian.Uint32(good[32:])

	deep := func(n int) []byte {
		b := newBuilder()
		for i := 0; i < n; i++ {
			b.begin("n")
		}
		for i := 0; i < n; i++ {
			b.end()
		}
		return b.bytes()
	}
	tooManyMem := rootWith(func(b *builder) {
		for i := 0; i < MaxMem+3; i++ {
			memNode(b, u64s(uint64(i)<<32, 0x1000))
		}
	})
	tooManyVirtio := rootWith(func(b *builder) {
		for i := 0; i < MaxVirtio+3; i++ {
			b.begin("virtio").prop("compatible", str("virtio,mmio")).prop("reg", u64s(uint64(i)<<12, 0x1000)).end()
		}
	})
	manyRsv := func(n int) []byte {
		b := newBuilder()
		for i := 0; i < n; i++ {
			b.reserve(uint64(i)<<20, 0x1000)
		}
		return b.begin("").end().bytes()
	}
	resMem := func(nRsv, nChildren int) []byte {
		b := newBuilder()
		for i := 0; i < nRsv; i++ {
			b.reserve(uint64(i)<<20, 0x1000)
		}
		b.begin("").begin("reserved-memory")
		for i := 0; i < nChildren; i++ {
			b.begin("r").prop("reg", u32s(uint32(i), 0, 0x1000)).end() // default 2/1 cells
		}
		return b.end().end().bytes()
	}

	tests := []struct {
		name string
		blob []byte
		want int
	}{
		{"good", good, OK},
		{"empty", nil, ErrTruncated},
		{"short", good[:7], ErrTruncated},
		{"magic", poke(good, 0, 0xd00dfeee), ErrMagic},
		{"totalsize below header", poke(good, 4, 39), ErrLayout},
		{"totalsize beyond slice", poke(good, 4, total+1), ErrTruncated},
		{"version 16", poke(good, 20, 16), ErrVersion},
		{"last compatible 18", poke(good, 24, 18), ErrVersion},
		{"struct misaligned", poke(good, 8, structOff+2), ErrLayout},
		{"struct in header", poke(good, 8, 0), ErrLayout},
		{"rsvmap misaligned", poke(good, 16, 44), ErrLayout},
		{"rsvmap in header", poke(good, 16, 0), ErrLayout},
		{"struct past end", poke(good, 36, total), ErrTruncated},
		{"strings past end", poke(good, 32, total), ErrTruncated},
		{"rsvmap unterminated", poke(good, 16, (total-8)&^7), ErrTruncated},
		{"no FDT_END", poke(good, 36, structSize-4), ErrTruncated},
		{"name unterminated", poke(good, 32, strSize-1), ErrName},
		{"no root", newBuilder().bytes(), ErrStructure},
		{"prop outside root", newBuilder().prop("x", nil).begin("").end().bytes(), ErrStructure},
		{"end without begin", newBuilder().end().bytes(), ErrStructure},
		{"unclosed root", newBuilder().begin("").bytes(), ErrStructure},
		{"two roots", newBuilder().begin("").end().begin("").end().bytes(), ErrStructure},
		{"unknown token", newBuilder().begin("").tok(7).end().bytes(), ErrStructure},
		{"prop after child", newBuilder().begin("").begin("c").end().prop("x", nil).end().bytes(), ErrStructure},
		{"nops", newBuilder().tok(tokNop).begin("").tok(tokNop).prop("x", nil).tok(tokNop).end().tok(tokNop).bytes(), OK},
		{"depth 16", deep(MaxDepth), OK},
		{"depth 17", deep(MaxDepth + 1), ErrDepth},
		{"name offset", rootWith(func(b *builder) {
			b.tok(tokProp).tok(0).tok(1 << 20)
		}), ErrName},
		{"address-cells length", rootWith(func(b *builder) { b.prop("#address-cells", u64s(2)) }), ErrProperty},
		{"interrupts empty", rootWith(func(b *builder) { b.prop("interrupts", nil) }), ErrProperty},
		{"ndev length", rootWith(func(b *builder) { b.prop("riscv,ndev", []byte{0, 1}) }), ErrProperty},
		{"timebase length", rootWith(func(b *builder) {
			b.begin("cpus").prop("timebase-frequency", []byte{1, 2, 3}).end()
		}), ErrProperty},
		{"initrd length", rootWith(func(b *builder) {
			b.begin("chosen").prop("linux,initrd-start", []byte{1, 2}).end()
		}), ErrProperty},
		{"initrd backwards", rootWith(func(b *builder) {
			b.begin("chosen").prop("linux,initrd-start", u32s(0x2000)).prop("linux,initrd-end", u32s(0x1000)).end()
		}), ErrRange},
		{"reg not whole entries", rootWith(func(b *builder) { memNode(b, u32s(0, 0x80000000, 0)) }), ErrProperty},
		{"device reg too short", rootWith(func(b *builder) {
			b.begin("serial").prop("compatible", str("ns16550a")).prop("reg", nil).end()
		}), ErrProperty},
		{"address-cells too big", rootWith(func(b *builder) { b.prop("#address-cells", u32s(MaxCells+1)) }), ErrCells},
		{"zero cells", rootWith(func(b *builder) {
			b.prop("#address-cells", u32s(0)).prop("#size-cells", u32s(0))
			memNode(b, u32s(1))
		}), ErrCells},
		{"address beyond 64 bits", rootWith(func(b *builder) {
			b.prop("#address-cells", u32s(3))
			memNode(b, u32s(1, 0, 0x80000000, 0, 0x1000))
		}), ErrCells},
		{"mem overflow", rootWith(func(b *builder) { memNode(b, u64s(^uint64(0)-0xfff, 0x2000)) }), ErrRange},
		{"rsvmap overflow", newBuilder().reserve(^uint64(0), 2).begin("").end().bytes(), ErrRange},
		{"rsvmap full", manyRsv(MaxReserved), OK},
		{"rsvmap too many", manyRsv(MaxReserved + 1), ErrTooMany},
		{"reserved-memory too many", resMem(MaxReserved-3, 4), ErrTooMany},
		{"reserved-memory full", resMem(MaxReserved-3, 3), OK},
		{"memory capped", tooManyMem, OK},
		{"virtio capped", tooManyVirtio, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Machine
			if e := ParseBytes(tt.blob, &m); e != tt.want {
				t.Errorf("ParseBytes = %d (%s), want %d (%s)", e, ErrorString(e), tt.want, ErrorString(tt.want))
			}
		})
	}

	var m Machine
	if e := ParseBytes(tooManyMem, &m); m.NMem != MaxMem || m.Mem[MaxMem-1].Base != (MaxMem-1)<<32 {
		t.Errorf("memory capped: %d %d %+v", e, m.NMem, m.Mem)
	}
	if e := ParseBytes(tooManyVirtio, &m); m.NVirtio != MaxVirtio || m.Virtio[MaxVirtio-1].Base != (MaxVirtio-1)<<12 {
		t.Errorf("virtio capped: %d %d", e, m.NVirtio)
	}
	if e := ParseBytes(good, nil); e != ErrArgs {
		t.Errorf("nil machine: %d", e)
	}
	if e := Parse(0, &m); e != ErrArgs {
		t.Errorf("nil blob: %d", e)
	}
	// A stale Machine must not leak into the next parse.
	m = Machine{NMem: 3, Harts: 7}
	if e := ParseBytes(good, &m); e != OK || m.NMem != 1 || m.Harts != 0 {
		t.Errorf("reuse: %d %+v", e, m)
	}
}

// TestSemantics covers property handling the testdata files do not.
func TestSemantics(t *testing.T) {
	t.Run("three address cells", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			b.prop("#address-cells", u32s(3)).prop("#size-cells", u32s(1))
			memNode(b, u32s(0, 1, 0x80000000, 0x1000))
		})
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.NMem != 1 || m.Mem[0] != (Range{0x180000000, 0x1000}) {
			t.Errorf("%d %+v", e, m.Mem[:m.NMem])
		}
	})
	t.Run("default cells", func(t *testing.T) {
		// No #address-cells/#size-cells at all: 2 and 1.
		blob := newBuilder().begin("").begin("memory").prop("reg", u32s(0, 0x80000000, 0x4000, 1, 0, 0x8000)).end().end().bytes()
		var m Machine
		want := []Range{{0x80000000, 0x4000}, {1 << 32, 0x8000}}
		if e := ParseBytes(blob, &m); e != OK || !reflect.DeepEqual(m.Mem[:m.NMem], want) {
			t.Errorf("%d %+v", e, m.Mem[:m.NMem])
		}
	})
	t.Run("cells do not leak to siblings", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			b.begin("bus").prop("#address-cells", u32s(1)).prop("#size-cells", u32s(1)).end()
			b.begin("rtc").prop("compatible", str("google,goldfish-rtc")).prop("reg", u64s(0x101000, 0x1000)).end()
		})
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.RTC != (Device{0x101000, 0x1000, 0}) {
			t.Errorf("%d %+v", e, m.RTC)
		}
	})
	t.Run("memory with size zero or disabled", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			memNode(b, u64s(0x80000000, 0))
			b.begin("memory@1").prop("reg", u64s(1, 1)).prop("status", str("disabled")).end()
			b.begin("memory-map").prop("reg", u64s(2, 2)).end() // name is not "memory"
			b.begin("x").begin("memory").prop("reg", u64s(3, 3)).end().end()
		})
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.NMem != 0 {
			t.Errorf("%d %+v", e, m.Mem[:m.NMem])
		}
	})
	t.Run("compatible forms", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			// Unterminated last string still counts; a prefix does not.
			b.begin("a").prop("compatible", []byte("foo\x00ns16550a")).prop("reg", u64s(1, 1)).prop("interrupts", u32s(5, 6)).end()
			b.begin("b").prop("compatible", str("sifive,plic-1.0.0x")).prop("reg", u64s(2, 2)).end()
			b.begin("c").prop("compatible", str("sifive,test1")).prop("reg", u64s(3, 3)).end()
			b.begin("d").prop("compatible", str("sifive,plic-1.0.0")).prop("reg", u64s(4, 4)).prop("riscv,ndev", u32s(31)).end()
		})
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.UART != (Device{1, 1, 5}) || m.PLIC != (Device{4, 4, 0}) || m.PLICNDev != 31 || m.Test != (Device{3, 3, 0}) {
			t.Errorf("%d %+v", e, m)
		}
	})
	t.Run("status", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			b.begin("cpus").prop("#address-cells", u32s(1)).prop("#size-cells", u32s(0)).prop("timebase-frequency", u64s(1<<33))
			for i, st := range []string{"okay", "ok", "disabled", "fail", "reserved", "okay\x00"} {
				b.begin("cpu").prop("device_type", str("cpu")).prop("reg", u32s(uint32(i))).prop("status", str(st)).end()
			}
			b.begin("cpu").prop("device_type", []byte("cpu")).end() // no NUL, no status
			b.begin("cpu").prop("device_type", str("cpux")).end()
			b.end()
		})
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.Harts != 3 || m.TimebaseHz != 1<<33 || m.ISALen != 0 {
			t.Errorf("%d harts=%d tb=%d", e, m.Harts, m.TimebaseHz)
		}
	})
	t.Run("chosen", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			b.begin("chosen@0").prop("bootargs", []byte("a b")).prop("rng-seed", nil).
				prop("linux,initrd-end", u64s(0x1_0000_2000)).prop("linux,initrd-start", u32s(0x2000)).end()
			// Only /chosen counts.
			b.begin("x").begin("chosen").prop("bootargs", str("no")).end().end()
		})
		var m Machine
		e := ParseBytes(blob, &m)
		if e != OK || string(inBlob(t, blob, m.Bootargs)) != "a b" || m.RNGSeed.Size != 0 || m.Initrd != (Range{0x2000, 1 << 32}) {
			t.Errorf("%d %+v %+v", e, m.Bootargs, m.Initrd)
		}
	})
	t.Run("initrd half", func(t *testing.T) {
		blob := rootWith(func(b *builder) { b.begin("chosen").prop("linux,initrd-start", u32s(0x2000)).end() })
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.Initrd != (Range{}) {
			t.Errorf("%d %+v", e, m.Initrd)
		}
	})
	t.Run("reserved-memory cells", func(t *testing.T) {
		blob := rootWith(func(b *builder) {
			b.begin("reserved-memory").prop("#address-cells", u32s(2)).prop("#size-cells", u32s(1))
			b.begin("a@0").prop("reg", u32s(0, 0x80000000, 0x1000)).prop("status", str("disabled")).end()
			b.begin("b").begin("c").prop("reg", u32s(0, 1, 1)).end().end() // grandchild: not a reservation
			b.end()
		})
		var m Machine
		if e := ParseBytes(blob, &m); e != OK || m.NReserved != 1 || m.Reserved[0] != (Range{0x80000000, 0x1000}) {
			t.Errorf("%d %+v", e, m.Reserved[:m.NReserved])
		}
	})
}

func TestErrorString(t *testing.T) {
	seen := map[string]int{}
	for c := OK; c <= ErrInternal; c++ {
		s := ErrorString(c)
		if s == "" || strings.Contains(s, "unknown") {
			t.Errorf("code %d: %q", c, s)
		}
		if d, ok := seen[s]; ok {
			t.Errorf("codes %d and %d share %q", d, c, s)
		}
		seen[s] = c
	}
	if s := ErrorString(ErrInternal + 1); !strings.Contains(s, "unknown") {
		t.Errorf("unknown code: %q", s)
	}
}

// plicTree is a machine with two harts (ids 4 and 7) whose interrupt
// controllers have phandles 10 and 11, and a PLIC with the given
// interrupts-extended.
func plicTree(intx []byte) []byte {
	return rootWith(func(b *builder) {
		b.begin("cpus").prop("#address-cells", u32s(1)).prop("#size-cells", u32s(0))
		for i, id := range []uint32{4, 7} {
			b.begin("cpu").prop("device_type", str("cpu")).prop("reg", u32s(id))
			b.begin("interrupt-controller").prop("compatible", str("riscv,cpu-intc")).prop("phandle", u32s(10+uint32(i))).end()
			b.end()
		}
		b.end()
		b.begin("plic").prop("compatible", str("sifive,plic-1.0.0")).prop("reg", u64s(0xc000000, 0x600000)).
			prop("interrupts-extended", intx).end()
	})
}

func TestPLICContexts(t *testing.T) {
	for _, c := range []struct {
		name  string
		intx  []byte
		ctx4  uint32
		ctx7  uint32
		found bool
	}{
		// QEMU TCG: an M-mode (11) and an S-mode (9) context per hart.
		{"tcg", u32s(10, 11, 10, 9, 11, 11, 11, 9), 1, 3, true},
		// KVM: S-mode contexts only.
		{"kvm", u32s(10, 9, 11, 9), 0, 1, true},
		{"no S-mode", u32s(10, 11, 11, 11), 0, 0, false},
		{"odd length", u32s(10, 9, 11), 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m Machine
			if e := ParseBytes(plicTree(c.intx), &m); e != OK {
				t.Fatal(ErrorString(e))
			}
			ctx4, ok4 := m.PLICContext(4)
			ctx7, ok7 := m.PLICContext(7)
			if ok4 != c.found || ok7 != c.found || ctx4 != c.ctx4 || ctx7 != c.ctx7 {
				t.Errorf("contexts: hart 4 → %d %v, hart 7 → %d %v; want %d, %d, found=%v", ctx4, ok4, ctx7, ok7, c.ctx4, c.ctx7, c.found)
			}
			if _, ok := m.PLICContext(0); ok {
				t.Error("hart 0 has no controller in this tree but got a context")
			}
		})
	}
}

// QEMU 7.2's own virt tree with two harts (-M virt,dumpdtb= -smp 2):
// under TCG each hart has an M-mode then an S-mode context.
func TestPLICContextQEMU(t *testing.T) {
	var m Machine
	if e := ParseBytes(readTestdata(t, "virt-128m-smp2.dtb"), &m); e != OK {
		t.Fatal(ErrorString(e))
	}
	for hart, want := range []uint32{1, 3} {
		if ctx, ok := m.PLICContext(uint64(hart)); !ok || ctx != want {
			t.Errorf("hart %d: context %d, %v; want %d, true", hart, ctx, ok, want)
		}
	}
}

package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func parseBytes(b []byte) (*Image, error) {
	return Parse(bytes.NewReader(b), int64(len(b)))
}

// crossCheck compares Parse's view of a well-formed binary with
// debug/elf's (fine on trusted input).
func crossCheck(t *testing.T, b []byte, img *Image) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	if uint64(img.Type) != uint64(f.Type) || img.Entry != f.Entry {
		t.Errorf("type %d entry %#x, debug/elf says %v %#x", img.Type, img.Entry, f.Type, f.Entry)
	}
	var loads []*elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			if p.Memsz > 0 {
				loads = append(loads, p)
			}
		case elf.PT_PHDR:
			if p.Vaddr != img.PhdrAddr {
				t.Errorf("PhdrAddr %#x, PT_PHDR says %#x", img.PhdrAddr, p.Vaddr)
			}
		case elf.PT_TLS:
			if img.TLS == nil || img.TLS.Vaddr != p.Vaddr || img.TLS.Memsz != p.Memsz || img.TLS.Filesz != p.Filesz {
				t.Errorf("TLS %+v, PT_TLS says %+v", img.TLS, p.ProgHeader)
			}
		}
	}
	if len(loads) != len(img.Segments) {
		t.Fatalf("%d segments, debug/elf has %d loads", len(img.Segments), len(loads))
	}
	for i, p := range loads {
		s := img.Segments[i]
		if s.Vaddr != p.Vaddr || s.Memsz != p.Memsz || s.Filesz != p.Filesz || s.Offset != p.Off || s.Prot != protOf(uint32(p.Flags)) {
			t.Errorf("segment %d = %+v, debug/elf says %+v", i, s, p.ProgHeader)
		}
	}
}

func TestParseRealBinaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		pie  bool
		tls  bool
	}{
		{"go", false, false},
		{"c-static", false, true},
		{"c-static-pie", true, true},
		{"raw-static", false, false},
		{"raw-static-pie", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBinary(t, tc.name)
			img, err := parseBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			if img.PIE() != tc.pie {
				t.Errorf("PIE() = %v, want %v", img.PIE(), tc.pie)
			}
			if (img.TLS != nil) != tc.tls && tc.name != "go" {
				t.Errorf("TLS = %+v, want present=%v", img.TLS, tc.tls)
			}
			crossCheck(t, b, img)
			// The headers sit right after the ELF header in the first
			// load, which starts at file offset 0.
			if want := img.Segments[0].Vaddr + 64; img.PhdrAddr != want {
				t.Errorf("PhdrAddr %#x, want %#x", img.PhdrAddr, want)
			}
			if !tc.pie && img.Segments[0].Vaddr != 0x10000 {
				t.Errorf("static image links at %#x, want 0x10000", img.Segments[0].Vaddr)
			}
			checkPlan(t, img, b)
			t.Logf("%s: %d bytes, %d loads, span %#x, entry %#x, tls %+v", tc.name, len(b), len(img.Segments), img.Span(), img.Entry, img.TLS)
		})
	}
}

func TestParseDynamicRejected(t *testing.T) {
	_, err := parseBytes(testBinary(t, "c-dynamic"))
	want := "dynamically linked (interpreter /lib/ld-linux-riscv64-lp64d.so.1): link it statically"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Errorf("err is %T, want *FormatError", err)
	}
}

// ph is a program header for synthetic images.
type ph struct {
	typ, flags                        uint32
	off, vaddr, filesz, memsz, palign uint64
}

// synth builds an ELF file: header, program headers at 64, size bytes.
func synth(typ, machine uint16, entry uint64, phs []ph, size int) []byte {
	b := make([]byte, max(size, 64+56*len(phs)))
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(b[16:], typ)
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], 64)
	le.PutUint32(b[48:], 0x5) // RVC, double-float ABI
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], uint16(len(phs)))
	for i, p := range phs {
		o := b[64+56*i:]
		le.PutUint32(o, p.typ)
		le.PutUint32(o[4:], p.flags)
		le.PutUint64(o[8:], p.off)
		le.PutUint64(o[16:], p.vaddr)
		le.PutUint64(o[24:], p.vaddr)
		le.PutUint64(o[32:], p.filesz)
		le.PutUint64(o[40:], p.memsz)
		le.PutUint64(o[48:], p.palign)
	}
	return b
}

const rx, rw, ro = pfR | pfX, pfR | pfW, pfR

// good is a valid static image: text with the headers, then data+bss.
func good() []ph {
	return []ph{
		{ptLoad, rx, 0, 0x10000, 0x800, 0x800, 0x1000},
		{ptLoad, rw, 0x800, 0x11800, 0x100, 0x3000, 0x1000},
		{ptGNUStack, rw, 0, 0, 0, 0, 16},
	}
}

func TestParseSynthetic(t *testing.T) {
	img, err := parseBytes(synth(etExec, emRISCV, 0x10100, good(), 0x900))
	if err != nil {
		t.Fatal(err)
	}
	if img.PhdrAddr != 0x10040 || len(img.Segments) != 2 || img.Brk(0) != 0x15000 {
		t.Errorf("phdr %#x, %d segments, brk %#x", img.PhdrAddr, len(img.Segments), img.Brk(0))
	}
}

func TestParseMalformed(t *testing.T) {
	with := func(f func(p []ph) []ph) []ph { return f(good()) }
	valid := synth(etExec, emRISCV, 0x10100, good(), 0x900)
	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(valid)
		f(b)
		return b
	}
	le := binary.LittleEndian
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "too short for an ELF header"},
		{"truncated header", valid[:40], "too short for an ELF header"},
		{"not elf", mutate(func(b []byte) { copy(b, "\x7fXYZ") }), "not an ELF file"},
		{"32-bit", mutate(func(b []byte) { b[4] = 1 }), "ELF class 1, want ELFCLASS64"},
		{"big-endian", mutate(func(b []byte) { b[5] = 2 }), "want little-endian"},
		{"wrong machine", synth(etExec, 62, 0x10100, good(), 0x900), "ELF machine 62 (x86-64), want RISC-V (243)"},
		{"relocatable", synth(1, emRISCV, 0x10100, good(), 0x900), "relocatable object file"},
		{"quad float", mutate(func(b []byte) { le.PutUint32(b[48:], 0x7) }), "quad-float ABI"},
		{"phentsize", mutate(func(b []byte) { le.PutUint16(b[54:], 32) }), "program header size 32, want 56"},
		{"no phdrs", mutate(func(b []byte) { le.PutUint16(b[56:], 0) }), "no program headers"},
		{"phnum huge", mutate(func(b []byte) { le.PutUint16(b[56:], 0xffff) }), "65535 program headers (3669960 bytes) exceed one page"},
		{"phdrs past EOF", mutate(func(b []byte) { le.PutUint64(b[32:], 0x880) }), "program headers at offset 0x880 (168 bytes) run past the end"},
		{"phoff overflow", mutate(func(b []byte) { le.PutUint64(b[32:], ^uint64(0)-8) }), "run past the end"},
		{"segment offset past EOF", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph {
			p[1].off, p[1].vaddr = 0x10800, 0x20800
			return p
		}), 0x900), "segment 1 at 0x20800: file bytes [0x10800, +0x100) run past the end of the 2304-byte file"},
		{"filesz > memsz", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[1].memsz = 0x10; return p }), 0x900),
			"segment 1 at 0x11800 has file size 0x100 > memory size 0x10"},
		{"address wrap", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph {
			p[1].vaddr, p[1].memsz = 0xffff_ffff_ffff_f800, 0x1000
			return p
		}), 0x900), "runs past the user half of the address space"},
		{"incongruent", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[1].vaddr = 0x11900; return p }), 0x900),
			"address 0x11900 and file offset 0x800 differ modulo the page size"},
		{"overlapping segments", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[0].memsz, p[1].vaddr, p[1].flags = 0x900, 0x10800, ro; return p }), 0x900),
			"segment 1 at 0x10800 overlaps segment 0 [0x10000, 0x10900)"},
		{"unsorted", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[0], p[1] = p[1], p[0]; return p }), 0x900),
			"loads must be in ascending address order"},
		{"W+X segment", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[1].flags = pfR | pfW | pfX; return p }), 0x900),
			"segment 1 at 0x11800 is writable and executable; Runikraft enforces W^X"},
		{"W+X shared page", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[1].vaddr, p[0].filesz, p[0].memsz = 0x10800, 0x7f0, 0x7f0; return p }), 0x900),
			"segments 0 and 1 share the page at 0x10000, which would be writable and executable"},
		{"executable stack", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[2].flags = pfR | pfW | pfX; return p }), 0x900),
			"executable stack requested (PT_GNU_STACK rwx); Runikraft enforces W^X"},
		{"entry in data", synth(etExec, emRISCV, 0x11800, good(), 0x900), "entry point 0x11800 is not inside an executable segment"},
		{"entry outside", synth(etExec, emRISCV, 0x9000, good(), 0x900), "entry point 0x9000 is not inside an executable segment"},
		{"no loads", synth(etExec, emRISCV, 0x10100, good()[2:], 0x900), "no loadable (PT_LOAD) segments"},
		{"phdrs not loaded", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph { p[0].off, p[0].vaddr, p[0].filesz = 0x100, 0x10100, 0x700; return p }), 0x900),
			"program headers (file offset 0x40, 168 bytes) are not inside a loaded segment"},
		{"PT_PHDR mismatch", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph {
			return append([]ph{{ptPhdr, ro, 64, 0x20040, 0xe0, 0xe0, 8}}, p...)
		}), 0x900), "PT_PHDR says the program headers are at 0x20040, but they are loaded at 0x10040"},
		{"static too high", synth(etExec, emRISCV, 0x8000_0100, with(func(p []ph) []ph {
			p[0].vaddr, p[1].vaddr = 0x8000_0000, 0x8000_1800
			return p
		}), 0x900), "static (non-PIE) image spans [0x80000000, 0x80005000); it must fit in [0x1000, 0x80000000)"},
		{"static at zero", synth(etExec, emRISCV, 0x100, with(func(p []ph) []ph { p[0].vaddr, p[1].vaddr = 0, 0x1800; return p }), 0x900),
			"static (non-PIE) image spans [0x0, 0x5000)"},
		{"pie too big", synth(etDyn, emRISCV, 0x100, with(func(p []ph) []ph {
			p[0].vaddr, p[1].vaddr, p[1].memsz = 0, 0x1800, 0x20_0000_0000
			return p
		}), 0x900), "static-pie image spans"},
		{"two TLS", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph {
			return append(p, ph{ptTLS, ro, 0x800, 0x11800, 8, 16, 8}, ph{ptTLS, ro, 0x800, 0x11800, 8, 16, 8})
		}), 0x900), "more than one PT_TLS segment"},
		{"interp past EOF", synth(etExec, emRISCV, 0x10100, with(func(p []ph) []ph {
			return append(p, ph{ptInterp, ro, 0x1000, 0, 0x20, 0x20, 1})
		}), 0x900), "dynamically linked (PT_INTERP past the end of the file)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := parseBytes(tc.file)
			if err == nil {
				t.Fatalf("parsed: %+v", img)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q\nwant it to contain %q", err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("err is %T, want *FormatError", err)
			}
		})
	}
}

// A reader that fails says so, wrapped, and is not a FormatError.
func TestParseReadError(t *testing.T) {
	_, err := Parse(failReader{}, 4096)
	if err == nil || !strings.Contains(err.Error(), "read ELF header: disk on fire") {
		t.Fatalf("err = %v", err)
	}
	var fe *FormatError
	if errors.As(err, &fe) {
		t.Error("I/O error reported as a FormatError")
	}
}

type failReader struct{}

func (failReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestParseInterpName(t *testing.T) {
	phs := append(good(), ph{ptInterp, ro, 0x700, 0x10700, 0x10, 0x10, 1})
	b := synth(etExec, emRISCV, 0x10100, phs, 0x900)
	copy(b[0x700:], "/lib/ld-musl.so\x00")
	_, err := parseBytes(b)
	if err == nil || !strings.Contains(err.Error(), "dynamically linked (interpreter /lib/ld-musl.so): link it statically") {
		t.Fatalf("err = %v", err)
	}
}

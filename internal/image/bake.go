// Package image turns a linked Go kernel (GOOS=linux GOARCH=riscv64) into
// a bootable Runikraft image: every ECALL becomes an EBREAK that the hart
// layer catches (in S-mode an ECALL would go to the SBI firmware), the
// hart layer's bootInfo table is filled in, and a one-page boot stub is
// placed at the lowest loaded address, where QEMU's loader jumps.
package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/runikraft/runikraft/internal/elfsym"
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/loader"
	"github.com/runikraft/runikraft/kernel/rvasm"
)

// TextAddr is where kernels are linked (go build -ldflags=-T): the stub
// takes the page below, 2 MiB into RAM, above OpenSBI.
const TextAddr = 0x8020_1000

const (
	hartPkg     = "github.com/runikraft/runikraft/kernel/hart"
	bootInfoSym = hartPkg + ".bootInfo"
	entrySym    = hartPkg + ".entry"
	sbicallSym  = hartPkg + ".sbicall" // its ECALL really is for the SBI (so is sbicall4's)
	pageSize    = 0x1000
)

// Result says what baking did.
type Result struct {
	Sites     []uint64 // addresses of rewritten ECALLs, sorted
	Entry     uint64   // the hart layer's boot entry
	StubAddr  uint64   // lowest loaded address: the boot stub
	ImageEnd  uint64   // end of the last loaded byte (incl. .bss)
	TextStart uint64
	TextEnd   uint64
}

// BakeFile reads the linked kernel at in and writes the image to out.
func BakeFile(in, out string) (*Result, error) {
	data, err := os.ReadFile(in)
	if err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	img, res, err := Bake(data)
	if err != nil {
		return nil, fmt.Errorf("bake %s: %w", in, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".bake-*")
	if err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(img); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("bake: write %s: %w", out, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("bake: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("bake: %w", err)
	}
	return res, nil
}

// Bake returns the image for a linked kernel held in data.
func Bake(data []byte) ([]byte, *Result, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("not an ELF file: %w", err)
	}
	if f.Machine != elf.EM_RISCV || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		return nil, nil, fmt.Errorf("not a riscv64 executable (machine %v, class %v, type %v)", f.Machine, f.Class, f.Type)
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, nil, fmt.Errorf("no symbol table (do not strip kernels): %w", err)
	}
	text := f.Section(".text")
	if text == nil {
		return nil, nil, errors.New("no .text section")
	}
	out := append([]byte(nil), data...)
	res := &Result{TextStart: text.Addr, TextEnd: text.Addr + text.Size}

	var bootInfo *elf.Symbol
	for i := range syms {
		s := &syms[i]
		switch s.Name {
		case bootInfoSym:
			bootInfo = s
		case entrySym, entrySym + ".abi0":
			res.Entry = s.Value
		}
	}
	if bootInfo == nil || res.Entry == 0 {
		return nil, nil, fmt.Errorf("%s not linked in: the program must import %s", hartPkg, hartPkg)
	}
	sec := sectionFor(f, bootInfo.Value)
	if sec == nil || sec.Type != elf.SHT_PROGBITS || bootInfo.Size < abi.Words*8 {
		return nil, nil, fmt.Errorf("%s is not an initialised data symbol of the expected size", bootInfoSym)
	}
	bi := out[sec.Offset+(bootInfo.Value-sec.Addr):][:bootInfo.Size]
	if binary.LittleEndian.Uint64(bi) != abi.Magic || binary.LittleEndian.Uint64(bi[abi.Version*8:]) != 0 {
		return nil, nil, fmt.Errorf("%s is already baked", bootInfoSym)
	}

	// Rewrite ECALLs function by function: Go's riscv64 code mixes 2- and
	// 4-byte instructions, so decode lengths from each function's start.
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 ||
			s.Value < text.Addr || s.Value+s.Size > text.Addr+text.Size ||
			s.Name == sbicallSym || s.Name == sbicallSym+".abi0" ||
			s.Name == sbicallSym+"4" || s.Name == sbicallSym+"4.abi0" {
			continue
		}
		off := text.Offset + (s.Value - text.Addr)
		for pc := uint64(0); pc+2 <= s.Size; {
			n := uint64(rvasm.Len(binary.LittleEndian.Uint16(out[off+pc:])))
			if pc+n > s.Size {
				break
			}
			if n == 4 && binary.LittleEndian.Uint32(out[off+pc:]) == rvasm.Ecall() {
				binary.LittleEndian.PutUint32(out[off+pc:], rvasm.Ebreak())
				res.Sites = append(res.Sites, s.Value+pc)
			}
			pc += n
		}
	}
	sort.Slice(res.Sites, func(i, j int) bool { return res.Sites[i] < res.Sites[j] })
	if len(res.Sites) > abi.MaxSites {
		return nil, nil, fmt.Errorf("%d ECALL sites, the hart layer has room for %d", len(res.Sites), abi.MaxSites)
	}

	// Segments: the one holding .text, then read-only data, then data.
	var textSeg, roSeg, rwSeg *elf.Prog
	var phdrIdx = -1
	for i, p := range f.Progs {
		switch {
		case p.Type == elf.PT_PHDR:
			phdrIdx = i
		case p.Type != elf.PT_LOAD:
		case p.Vaddr <= text.Addr && text.Addr < p.Vaddr+p.Memsz:
			textSeg = p
		case p.Flags&elf.PF_W != 0:
			rwSeg = p
		case p.Flags&elf.PF_X == 0 && roSeg == nil:
			roSeg = p
		}
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W != 0 && p.Flags&elf.PF_X != 0 {
			return nil, nil, fmt.Errorf("segment at %#x is writable and executable", p.Vaddr)
		}
	}
	if textSeg == nil || roSeg == nil || rwSeg == nil || phdrIdx < 0 {
		return nil, nil, errors.New("unexpected segment layout (want PHDR, text, rodata and data segments as Go's linker makes them)")
	}
	textPage := text.Addr &^ (pageSize - 1)
	res.StubAddr = textPage - pageSize
	if res.StubAddr < textSeg.Vaddr {
		return nil, nil, fmt.Errorf(".text at %#x leaves no page for the boot stub: link with -T %#x", text.Addr, TextAddr)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr+p.Memsz > res.ImageEnd {
			res.ImageEnd = p.Vaddr + p.Memsz
		}
	}

	// Fill bootInfo.
	put := func(i int, v uint64) { binary.LittleEndian.PutUint64(bi[i*8:], v) }
	put(abi.Version, 1)
	put(abi.TextStart, res.TextStart)
	put(abi.TextEnd, res.TextEnd)
	put(abi.RodataStart, roSeg.Vaddr)
	put(abi.RodataEnd, roSeg.Vaddr+roSeg.Memsz)
	put(abi.DataStart, rwSeg.Vaddr)
	put(abi.GoEntry, f.Entry)
	put(abi.ImageEnd, res.ImageEnd)
	put(abi.NSites, uint64(len(res.Sites)))
	for i, pc := range res.Sites {
		put(abi.Sites+i, pc)
	}

	// Boot stub: auipc t0,0; ld t0,16(t0); jr t0; nop; .dword entry;
	// then the bootInfo locator (elfsym.StubMagic, address, size).
	stub := make([]byte, pageSize)
	for i, w := range []uint32{
		rvasm.Auipc(rvasm.T0, 0),
		rvasm.Ld(rvasm.T0, rvasm.T0, 16),
		rvasm.Jalr(rvasm.Zero, rvasm.T0, 0),
		rvasm.Nop(),
	} {
		binary.LittleEndian.PutUint32(stub[i*4:], w)
	}
	binary.LittleEndian.PutUint64(stub[16:], res.Entry)
	// Where bootInfo is, for tools reading images without a symbol table.
	elfsym.PutStubLocator(stub, bootInfo.Value, bootInfo.Size)
	for len(out)%pageSize != 0 {
		out = append(out, 0)
	}
	stubOff := uint64(len(out))
	out = append(out, stub...)

	// Program headers: the PHDR entry becomes the stub's segment, the text
	// segment starts at .text's page (the ELF header is not loaded), and
	// the entry point is the stub, for loaders that honour e_entry.
	phoff := binary.LittleEndian.Uint64(out[0x20:])
	phentsize := uint64(binary.LittleEndian.Uint16(out[0x36:]))
	writeProg(out[phoff+uint64(phdrIdx)*phentsize:], elf.PT_LOAD, elf.PF_R|elf.PF_X, stubOff, res.StubAddr, pageSize, pageSize)
	for i, p := range f.Progs {
		if p == textSeg {
			delta := textPage - p.Vaddr
			writeProg(out[phoff+uint64(i)*phentsize:], elf.PT_LOAD, p.Flags, p.Off+delta, textPage, p.Filesz-delta, p.Memsz-delta)
		}
	}
	binary.LittleEndian.PutUint64(out[0x18:], res.StubAddr)
	return out, res, nil
}

func writeProg(b []byte, typ elf.ProgType, flags elf.ProgFlag, off, vaddr, filesz, memsz uint64) {
	loader.PutProgHeader(b, uint32(typ), uint32(flags), off, vaddr, filesz, memsz, pageSize)
}

func sectionFor(f *elf.File, addr uint64) *elf.Section {
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Addr <= addr && addr < s.Addr+s.Size {
			return s
		}
	}
	return nil
}

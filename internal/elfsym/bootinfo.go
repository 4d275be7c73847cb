package elfsym

import (
	"debug/elf"
	"encoding/binary"
)

// The boot stub page of a baked kernel (internal/image) carries, after
// its code, where the hart layer's bootInfo table is, so the tools find
// the table in images whose symbol table was dropped (application images
// keep none: it is a tenth of the file and never loaded). Layout from the
// stub's first byte (the ELF entry point): 24 bytes of code and data,
// then StubMagic, the table's address and its size.
const (
	StubMagic    = "RKBINFO\x01"
	StubLocOff   = 24 // offset of StubMagic in the stub
	stubLocBytes = StubLocOff + 8 + 16
)

// BootInfo finds the bootInfo table of a baked Runikraft kernel: from the
// locator in its boot stub, or else (kernels baked before the locator) by
// the symbol name in the symbol table. Section is left 0 when it came
// from the stub; callers map Value to the file through the sections or
// program headers, bounds-checked.
func BootInfo(f *elf.File, name string) (Symbol, bool) {
	if s, ok := StubLocator(f); ok {
		return s, true
	}
	return Lookup(f, name)
}

// StubLocator reads the boot stub's locator alone (kernels baked before
// it have none: their bootInfo is found by name).
func StubLocator(f *elf.File) (Symbol, bool) {
	if f.Class != elf.ELFCLASS64 {
		return Symbol{}, false
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || f.Entry < p.Vaddr || f.Entry-p.Vaddr >= p.Filesz || p.Filesz-(f.Entry-p.Vaddr) < stubLocBytes {
			continue
		}
		var b [stubLocBytes]byte
		if _, err := p.ReadAt(b[:], int64(f.Entry-p.Vaddr)); err != nil {
			return Symbol{}, false
		}
		if string(b[StubLocOff:StubLocOff+8]) != StubMagic {
			return Symbol{}, false
		}
		le := binary.LittleEndian
		return Symbol{Value: le.Uint64(b[StubLocOff+8:]), Size: le.Uint64(b[StubLocOff+16:])}, true
	}
	return Symbol{}, false
}

// PutStubLocator writes the locator into a boot stub page.
func PutStubLocator(stub []byte, addr, size uint64) {
	copy(stub[StubLocOff:], StubMagic)
	binary.LittleEndian.PutUint64(stub[StubLocOff+8:], addr)
	binary.LittleEndian.PutUint64(stub[StubLocOff+16:], size)
}

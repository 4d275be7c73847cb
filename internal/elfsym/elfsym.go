// Package elfsym looks up one symbol of an ELF file by name without
// decoding the whole symbol table. debug/elf's Symbols makes a string
// for each of a kernel's 5000 symbols, and runikraft run looked up the
// kernel's bootInfo table that way on every start.
package elfsym

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// Symbol is what Lookup finds.
type Symbol struct {
	Value, Size uint64
	Section     elf.SectionIndex
}

// Lookup returns the first symbol of f's .symtab named name. Only 64-bit
// files are searched; sizes come from the file and are bounds-checked.
func Lookup(f *elf.File, name string) (Symbol, bool) {
	if f.Class != elf.ELFCLASS64 {
		return Symbol{}, false
	}
	symtab := f.SectionByType(elf.SHT_SYMTAB)
	if symtab == nil || int(symtab.Link) <= 0 || int(symtab.Link) >= len(f.Sections) {
		return Symbol{}, false
	}
	syms, err := symtab.Data()
	if err != nil {
		return Symbol{}, false
	}
	strs, err := f.Sections[symtab.Link].Data()
	if err != nil {
		return Symbol{}, false
	}
	want := append([]byte(name), 0)
	bo := f.ByteOrder
	if bo == nil {
		bo = binary.LittleEndian
	}
	const entSize = 24 // Elf64_Sym
	for off := entSize; off+entSize <= len(syms); off += entSize {
		s := syms[off : off+entSize]
		n := int64(bo.Uint32(s))
		if n < 0 || n+int64(len(want)) > int64(len(strs)) || !bytes.Equal(strs[n:n+int64(len(want))], want) {
			continue
		}
		return Symbol{Value: bo.Uint64(s[8:]), Size: bo.Uint64(s[16:]), Section: elf.SectionIndex(bo.Uint16(s[6:]))}, true
	}
	return Symbol{}, false
}

// Names calls fn with the name of each symbol of f's .symtab after the
// null one, in table order, until fn returns false, without making a
// string of each (a Go program has tens of thousands; debug/elf's
// Symbols made runikraft run's every start a few milliseconds slower).
// The name aliases the string table: fn must not keep it. It reports
// false when f has no symbol table it can read (stripped). A name that
// runs off the string table ends at its end; one starting outside it
// is empty.
func Names(f *elf.File, fn func(name []byte) bool) bool {
	if f.Class != elf.ELFCLASS64 {
		return false
	}
	symtab := f.SectionByType(elf.SHT_SYMTAB)
	if symtab == nil || int(symtab.Link) <= 0 || int(symtab.Link) >= len(f.Sections) {
		return false
	}
	syms, err := symtab.Data()
	if err != nil {
		return false
	}
	strs, err := f.Sections[symtab.Link].Data()
	if err != nil {
		return false
	}
	bo := f.ByteOrder
	if bo == nil {
		bo = binary.LittleEndian
	}
	const entSize = 24 // Elf64_Sym
	for off := entSize; off+entSize <= len(syms); off += entSize {
		var name []byte
		if n := uint64(bo.Uint32(syms[off:])); n < uint64(len(strs)) {
			name = strs[n:]
			if end := bytes.IndexByte(name, 0); end >= 0 {
				name = name[:end]
			}
		}
		if !fn(name) {
			break
		}
	}
	return true
}

package appimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"

	"github.com/runikraft/runikraft/internal/elfsym"
)

// stripDebug returns app without its debugging sections (DWARF and the
// like): the whole file sits in the guest's RAM, and debug info is often
// most of it (SQLite's shell built -g: 8 MB, 2 MB without). Loaded
// segments, the symbol table (the kernel names functions in crash
// reports with it) and every section header stay, so section indices
// and symbols need no rewriting; a dropped section becomes SHT_NOBITS.
// A file this cannot make sense of is returned as is.
func stripDebug(app []byte) []byte {
	f, err := elf.NewFile(bytes.NewReader(app))
	if err != nil || f.Class != elf.ELFCLASS64 || f.ByteOrder != binary.LittleEndian {
		return app
	}
	// Everything up to the end of the last loaded byte is kept as is.
	var keepEnd uint64 = 64
	for _, p := range f.Progs {
		keepEnd = max(keepEnd, p.Off+p.Filesz)
	}
	le := binary.LittleEndian
	shoff := le.Uint64(app[0x28:])
	shentsize := uint64(le.Uint16(app[0x3a:]))
	shnum := uint64(len(f.Sections))
	if shentsize != 64 || shoff+shnum*shentsize > uint64(len(app)) || shnum == 0 {
		return app
	}
	out := append([]byte(nil), app[:keepEnd]...)
	shdrs := append([]byte(nil), app[shoff:shoff+shnum*shentsize]...)
	dropped := false
	for i, s := range f.Sections {
		h := shdrs[uint64(i)*shentsize:][:shentsize]
		if s.Type == elf.SHT_NULL || s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_ALLOC != 0 {
			continue
		}
		if debugSection(s.Name) {
			le.PutUint32(h[4:], uint32(elf.SHT_NOBITS))
			le.PutUint64(h[0x18:], 0) // sh_offset
			dropped = true
			continue
		}
		// Kept non-loaded sections (.symtab, .strtab, .shstrtab, ...)
		// move after the loaded part.
		if s.Offset+s.FileSize > uint64(len(app)) {
			return app
		}
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		le.PutUint64(h[0x18:], uint64(len(out)))
		out = append(out, app[s.Offset:s.Offset+s.FileSize]...)
	}
	if !dropped {
		return app
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	le.PutUint64(out[0x28:], uint64(len(out)))
	return append(out, shdrs...)
}

func debugSection(name string) bool {
	return strings.HasPrefix(name, ".debug") || strings.HasPrefix(name, ".zdebug") ||
		name == ".comment" || name == ".note.gnu.gold-version" || strings.HasPrefix(name, ".gnu.debug")
}

// dropSymbols returns a baked kernel image without its symbol table and
// the string table it links: their bytes are cut from the file, what
// followed them moves down by a whole number of pages (so every segment
// keeps its offset ≡ address mod page), and their section headers become
// SHT_NULL, so section indices stay. The boot stub's locator finds
// bootInfo without them. A kernel baked before the stub had a locator
// (its symbol table is the only way to the table), a file with anything
// else among those bytes, or one this cannot make sense of, is returned
// as is.
func dropSymbols(img []byte) []byte {
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil || f.Class != elf.ELFCLASS64 || f.ByteOrder != binary.LittleEndian {
		return img
	}
	if _, ok := elfsym.StubLocator(f); !ok {
		return img
	}
	symIdx := -1
	for i, s := range f.Sections {
		if s.Type == elf.SHT_SYMTAB {
			symIdx = i
			break
		}
	}
	if symIdx < 0 {
		return img
	}
	sym := f.Sections[symIdx]
	strIdx := int(sym.Link)
	if strIdx <= 0 || strIdx >= len(f.Sections) || f.Sections[strIdx].Type != elf.SHT_STRTAB || strIdx == int(binary.LittleEndian.Uint16(img[0x3e:])) {
		return img
	}
	str := f.Sections[strIdx]
	lo, hi := min(sym.Offset, str.Offset), max(sym.Offset+sym.FileSize, str.Offset+str.FileSize)
	size := uint64(len(img))
	if hi > size || lo >= hi || sym.FileSize+str.FileSize < hi-lo-pageSize {
		return img
	}
	le := binary.LittleEndian
	phoff, shoff := le.Uint64(img[0x20:]), le.Uint64(img[0x28:])
	phent, phnum := uint64(le.Uint16(img[0x36:])), uint64(le.Uint16(img[0x38:]))
	shent, shnum := uint64(le.Uint16(img[0x3a:])), uint64(len(f.Sections))
	if phent != 56 || shent != 64 || phoff+phent*phnum > size || shoff+shent*shnum > size {
		return img
	}
	overlaps := func(off, n uint64) bool { return n > 0 && off < hi && off+n > lo }
	if overlaps(phoff, phent*phnum) || overlaps(shoff, shent*shnum) || overlaps(0, 64) {
		return img
	}
	for i, s := range f.Sections {
		if i != symIdx && i != strIdx && s.Type != elf.SHT_NOBITS && overlaps(s.Offset, s.FileSize) {
			return img
		}
	}
	for _, p := range f.Progs {
		if overlaps(p.Off, p.Filesz) {
			return img
		}
	}
	cut := (hi - lo) &^ (pageSize - 1)
	// What stays of [lo, hi) (less than a page) is zeroed.
	out := make([]byte, 0, size-cut)
	out = append(out, img[:lo]...)
	out = append(out, make([]byte, hi-lo-cut)...)
	out = append(out, img[hi:]...)
	moved := func(off uint64) uint64 {
		if off >= hi {
			return off - cut
		}
		return off
	}
	phoff, shoff = moved(phoff), moved(shoff)
	le.PutUint64(out[0x20:], phoff)
	le.PutUint64(out[0x28:], shoff)
	for i := uint64(0); i < phnum; i++ {
		h := out[phoff+i*phent:][:phent]
		le.PutUint64(h[8:], moved(le.Uint64(h[8:])))
	}
	for i := uint64(0); i < shnum; i++ {
		h := out[shoff+i*shent:][:shent]
		if int(i) == symIdx || int(i) == strIdx {
			name := le.Uint32(h)
			clear(h)
			le.PutUint32(h, name)
			continue
		}
		if elf.SectionType(le.Uint32(h[4:])) != elf.SHT_NOBITS {
			le.PutUint64(h[0x18:], moved(le.Uint64(h[0x18:])))
		}
	}
	return out
}

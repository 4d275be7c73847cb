package appimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
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

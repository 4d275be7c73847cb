package loader

import (
	"encoding/binary"
	"sort"
)

// Func is a function symbol of a program: its name, address and size.
type Func struct {
	Name       string
	Addr, Size uint64
}

// Funcs reads the function symbols (STT_FUNC) of a 64-bit little-endian
// ELF file's .symtab, sorted by address; nil when the file has none or
// is not such a file. The bytes are the application's, so every offset
// and size is checked against the file. It is the little the kernel
// needs for crash reports; debug/elf would link a DWARF reader and three
// decompressors into every image for it.
func Funcs(f []byte) []Func {
	le := binary.LittleEndian
	syms, strs, entsize, ok := symtab(f)
	if !ok {
		return nil
	}
	const sttFunc = 2
	var out []Func
	for e := uint64(0); e+24 <= uint64(len(syms)); e += entsize {
		s := syms[e : e+24]
		if s[4]&0xf != sttFunc {
			continue
		}
		name := cstring(strs, uint64(le.Uint32(s)))
		if name == "" {
			continue
		}
		out = append(out, Func{Name: name, Addr: le.Uint64(s[8:]), Size: le.Uint64(s[16:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// symtab finds a 64-bit little-endian ELF file's first symbol table and
// its string table, both checked to lie inside the file.
func symtab(f []byte) (syms, strs []byte, entsize uint64, ok bool) {
	le := binary.LittleEndian
	if len(f) < 64 || string(f[:4]) != "\x7fELF" || f[4] != 2 || f[5] != 1 {
		return nil, nil, 0, false
	}
	shoff, shentsize, shnum := le.Uint64(f[0x28:]), uint64(le.Uint16(f[0x3a:])), uint64(le.Uint16(f[0x3c:]))
	if shentsize < 64 || shnum == 0 || shoff > uint64(len(f)) || shnum > (uint64(len(f))-shoff)/shentsize {
		return nil, nil, 0, false
	}
	section := func(i uint64) (typ uint32, off, size, link, entsize uint64, ok bool) {
		if i >= shnum {
			return 0, 0, 0, 0, 0, false
		}
		h := f[shoff+i*shentsize:]
		typ, off, size, link, entsize = le.Uint32(h[4:]), le.Uint64(h[0x18:]), le.Uint64(h[0x20:]), uint64(le.Uint32(h[0x28:])), le.Uint64(h[0x38:])
		return typ, off, size, link, entsize, off <= uint64(len(f)) && size <= uint64(len(f))-off
	}
	const shtSymtab = 2
	for i := uint64(0); i < shnum; i++ {
		typ, off, size, link, entsize, ok := section(i)
		if !ok || typ != shtSymtab || entsize < 24 {
			continue
		}
		_, soff, ssize, _, _, ok := section(link)
		if !ok {
			continue
		}
		return f[off : off+size], f[soff : soff+ssize], entsize, true // one symbol table per file
	}
	return nil, nil, 0, false
}

// KeepSymbols copies what Funcs reads of an ELF file (its symbol table
// and their strings) into a new, much smaller ELF file that Funcs reads
// the same way, or returns nil when the file has no symbol table. The
// kernel keeps this copy for crash reports so that it can give the
// application's file, which it has loaded, back to the page allocator:
// for a Go program the two tables are about 5% of the file.
func KeepSymbols(f []byte) []byte {
	syms, strs, entsize, ok := symtab(f)
	if !ok {
		return nil
	}
	le := binary.LittleEndian
	const ehdr, shdr = 64, 64
	symOff := uint64(ehdr)
	strOff := symOff + uint64(len(syms))
	shOff := (strOff + uint64(len(strs)) + 7) &^ 7
	out := make([]byte, shOff+3*shdr)
	copy(out, f[:ehdr])
	le.PutUint64(out[0x20:], 0)     // e_phoff: no program headers
	le.PutUint16(out[0x38:], 0)     // e_phnum
	le.PutUint64(out[0x28:], shOff) // e_shoff
	le.PutUint16(out[0x3a:], shdr)  // e_shentsize
	le.PutUint16(out[0x3c:], 3)     // e_shnum: null, .symtab, .strtab
	le.PutUint16(out[0x3e:], 0)     // e_shstrndx: no section names
	copy(out[symOff:], syms)
	copy(out[strOff:], strs)
	sh := out[shOff:]
	// Section 1, the symbol table, links to section 2, its strings.
	s1 := sh[shdr:]
	le.PutUint32(s1[4:], 2) // SHT_SYMTAB
	le.PutUint64(s1[0x18:], symOff)
	le.PutUint64(s1[0x20:], uint64(len(syms)))
	le.PutUint32(s1[0x28:], 2)
	le.PutUint64(s1[0x38:], entsize)
	s2 := sh[2*shdr:]
	le.PutUint32(s2[4:], 3) // SHT_STRTAB
	le.PutUint64(s2[0x18:], strOff)
	le.PutUint64(s2[0x20:], uint64(len(strs)))
	return out
}

// cstring returns the NUL-terminated string at off in strs ("" outside).
func cstring(strs []byte, off uint64) string {
	if off >= uint64(len(strs)) {
		return ""
	}
	s := strs[off:]
	for i, c := range s {
		if c == 0 {
			return string(s[:i])
		}
	}
	return ""
}

// FuncAt names the function around addr in fs (sorted by address) as
// "name+0xoff", or "" when no function covers it.
func FuncAt(fs []Func, addr uint64) string {
	i := sort.Search(len(fs), func(i int) bool { return fs[i].Addr > addr }) - 1
	// Aliases share an address; any of them that covers addr names it.
	for j := i; j >= 0 && fs[j].Addr == fs[i].Addr; j-- {
		if f := fs[j]; addr < f.Addr+max(f.Size, 1) {
			return f.Name + "+0x" + hex(addr-f.Addr)
		}
	}
	return ""
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			return string(b[i:])
		}
	}
}

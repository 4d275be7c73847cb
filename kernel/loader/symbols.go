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
	if len(f) < 64 || string(f[:4]) != "\x7fELF" || f[4] != 2 || f[5] != 1 {
		return nil
	}
	shoff, shentsize, shnum := le.Uint64(f[0x28:]), uint64(le.Uint16(f[0x3a:])), uint64(le.Uint16(f[0x3c:]))
	if shentsize < 64 || shnum == 0 || shoff > uint64(len(f)) || shnum > (uint64(len(f))-shoff)/shentsize {
		return nil
	}
	section := func(i uint64) (typ uint32, off, size, link, entsize uint64, ok bool) {
		if i >= shnum {
			return 0, 0, 0, 0, 0, false
		}
		h := f[shoff+i*shentsize:]
		typ, off, size, link, entsize = le.Uint32(h[4:]), le.Uint64(h[0x18:]), le.Uint64(h[0x20:]), uint64(le.Uint32(h[0x28:])), le.Uint64(h[0x38:])
		return typ, off, size, link, entsize, off <= uint64(len(f)) && size <= uint64(len(f))-off
	}
	const shtSymtab, sttFunc = 2, 2
	var out []Func
	for i := uint64(0); i < shnum; i++ {
		typ, off, size, link, entsize, ok := section(i)
		if !ok || typ != shtSymtab || entsize < 24 {
			continue
		}
		_, soff, ssize, _, _, ok := section(link)
		if !ok {
			continue
		}
		strs := f[soff : soff+ssize]
		for e := off; e+24 <= off+size; e += entsize {
			s := f[e : e+24]
			if s[4]&0xf != sttFunc {
				continue
			}
			name := cstring(strs, uint64(le.Uint32(s)))
			if name == "" {
				continue
			}
			out = append(out, Func{Name: name, Addr: le.Uint64(s[8:]), Size: le.Uint64(s[16:])})
		}
		break // one symbol table per file
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
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

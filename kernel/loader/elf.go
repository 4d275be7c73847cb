package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
)

// ELF constants this package needs (from the gABI and the RISC-V psABI).
const (
	ehdrSize = 64
	phdrSize = 56

	etExec = 2
	etDyn  = 3

	emRISCV = 243

	ptLoad      = 1
	ptDynamic   = 2
	ptInterp    = 3
	ptPhdr      = 6
	ptTLS       = 7
	ptGNUStack  = 0x6474e551
	pfX         = 1
	pfW         = 2
	pfR         = 4
	efFloatMask = 0x6 // EF_RISCV_FLOAT_ABI
	efFloatQuad = 0x6

	// maxPhdrBytes is Linux's limit on the program header table
	// (elf_read_phdrs: at most one page), which also bounds the work
	// Parse does on hostile input.
	maxPhdrBytes = PageSize
	maxInterpLen = 4096 // PATH_MAX
)

// Protection bits, as mmap's PROT_* (and kernel/mm's Prot*).
const (
	ProtRead  = 1
	ProtWrite = 2
	ProtExec  = 4
)

// FormatError says why a file is not an executable the loader accepts.
// Execve-like callers map it to ENOEXEC; other errors are I/O errors.
type FormatError struct {
	Msg string
}

func (e *FormatError) Error() string { return "loader: " + e.Msg }

func bad(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// Segment is one PT_LOAD program header, at its link-time address.
type Segment struct {
	Index  int    // program header index, for messages
	Vaddr  uint64 // p_vaddr
	Memsz  uint64 // p_memsz: bytes in memory; beyond Filesz they are zero
	Filesz uint64 // p_filesz
	Offset uint64 // p_offset
	Align  uint64 // p_align
	Prot   uint32 // ProtRead|ProtWrite|ProtExec from p_flags
}

// End is the link-time address just past the segment.
func (s Segment) End() uint64 { return s.Vaddr + s.Memsz }

// TLS is the PT_TLS template, at its link-time address. The loader only
// reports it: the application's libc (or Go runtime) sets up TLS itself.
type TLS struct {
	Vaddr, Filesz, Memsz, Align uint64
}

// Image is a validated executable, ready to be planned and loaded.
type Image struct {
	Type      uint16    // etExec (static) or etDyn (static-pie)
	Entry     uint64    // e_entry, link-time
	PhdrAddr  uint64    // link-time address of the mapped program headers (AT_PHDR)
	PhEntSize uint16    // e_phentsize (AT_PHENT)
	PhNum     uint16    // e_phnum (AT_PHNUM)
	Segments  []Segment // PT_LOAD with Memsz > 0, ascending and disjoint
	TLS       *TLS      // nil without PT_TLS
	Size      int64     // file size given to Parse
	maxAlign  uint64    // largest honoured p_align of the loads
}

// PIE reports whether the image is position independent (static-pie) and
// so is loaded at a random base.
func (img *Image) PIE() bool { return img.Type == etDyn }

// Span is the page-rounded size of the address range the loads cover.
func (img *Image) Span() uint64 {
	return pageUp(img.Segments[len(img.Segments)-1].End()) - pageDown(img.Segments[0].Vaddr)
}

func protOf(flags uint32) uint32 {
	var p uint32
	if flags&pfR != 0 {
		p |= ProtRead
	}
	if flags&pfW != 0 {
		p |= ProtWrite
	}
	if flags&pfX != 0 {
		p |= ProtExec
	}
	return p
}

// ProtString renders prot like /proc/PID/maps ("r-x").
func ProtString(p uint32) string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// machineName names the ELF machines a wrong program is likely built
// for (a switch, not a map: a map literal is code that runs at boot).
func machineName(m uint16) string {
	switch m {
	case 3:
		return "x86"
	case 8:
		return "MIPS"
	case 20:
		return "PowerPC"
	case 21:
		return "PowerPC64"
	case 22:
		return "S/390"
	case 40:
		return "ARM"
	case 62:
		return "x86-64"
	case 183:
		return "AArch64"
	case 243:
		return "RISC-V"
	case 258:
		return "LoongArch"
	}
	return ""
}

// readFull reads exactly len(b) bytes at off; ReaderAt may report io.EOF
// together with a full read at the end of the file.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// inFile reports whether [off, off+n) lies within a file of size bytes,
// without overflowing.
func inFile(off, n uint64, size int64) bool {
	end, carry := bits.Add64(off, n, 0)
	return carry == 0 && end <= uint64(size)
}

// Parse validates a riscv64 ELF64 little-endian executable of size bytes
// and returns its load description. It reads only the ELF header, the
// program headers and (for a helpful error) the interpreter path.
func Parse(r io.ReaderAt, size int64) (*Image, error) {
	if size < ehdrSize {
		return nil, bad("file is %d bytes, too short for an ELF header (%d)", size, ehdrSize)
	}
	var eh [ehdrSize]byte
	if err := readFull(r, eh[:], 0); err != nil {
		return nil, fmt.Errorf("loader: read ELF header: %w", err)
	}
	if string(eh[:4]) != "\x7fELF" {
		return nil, bad("not an ELF file (magic %q)", eh[:4])
	}
	if eh[4] != 2 {
		return nil, bad("ELF class %d, want ELFCLASS64: riscv64 executables are 64-bit", eh[4])
	}
	if eh[5] != 1 {
		return nil, bad("ELF data encoding %d, want little-endian (1)", eh[5])
	}
	if eh[6] != 1 {
		return nil, bad("ELF identification version %d, want 1", eh[6])
	}
	le := binary.LittleEndian
	typ := le.Uint16(eh[16:])
	machine := le.Uint16(eh[18:])
	version := le.Uint32(eh[20:])
	entry := le.Uint64(eh[24:])
	phoff := le.Uint64(eh[32:])
	flags := le.Uint32(eh[48:])
	phentsize := le.Uint16(eh[54:])
	phnum := le.Uint16(eh[56:])

	switch typ {
	case etExec, etDyn:
	case 1:
		return nil, bad("relocatable object file (ET_REL), not an executable: link it")
	case 4:
		return nil, bad("core dump (ET_CORE), not an executable")
	default:
		return nil, bad("ELF type %#x is not an executable (want ET_EXEC or ET_DYN)", typ)
	}
	if machine != emRISCV {
		name := machineName(machine)
		if name == "" {
			name = "unknown"
		}
		return nil, bad("ELF machine %d (%s), want RISC-V (%d)", machine, name, emRISCV)
	}
	if version != 1 {
		return nil, bad("ELF version %d, want 1", version)
	}
	if flags&efFloatMask == efFloatQuad {
		return nil, bad("built for the quad-float ABI (lp64q); the machine is rv64imafdc (lp64d)")
	}
	if phentsize != phdrSize {
		return nil, bad("program header size %d, want %d", phentsize, phdrSize)
	}
	if phnum == 0 {
		return nil, bad("no program headers")
	}
	tabLen := uint64(phnum) * phdrSize
	if tabLen > maxPhdrBytes {
		return nil, bad("%d program headers (%d bytes) exceed one page, the limit Linux also applies", phnum, tabLen)
	}
	if !inFile(phoff, tabLen, size) {
		return nil, bad("program headers at offset %#x (%d bytes) run past the end of the %d-byte file", phoff, tabLen, size)
	}
	tab := make([]byte, tabLen)
	if err := readFull(r, tab, int64(phoff)); err != nil {
		return nil, fmt.Errorf("loader: read program headers: %w", err)
	}

	img := &Image{Type: typ, Entry: entry, PhEntSize: phentsize, PhNum: phnum, Size: size}

	// The interpreter comes first: a dynamic executable is the likeliest
	// mistake, and its message says what to do about it.
	for i := 0; i < int(phnum); i++ {
		ph := tab[i*phdrSize:]
		if le.Uint32(ph) != ptInterp {
			continue
		}
		off, n := le.Uint64(ph[8:]), le.Uint64(ph[32:])
		if !inFile(off, n, size) {
			return nil, bad("dynamically linked (PT_INTERP past the end of the file): link it statically")
		}
		n = min(n, maxInterpLen)
		name := make([]byte, n)
		if err := readFull(r, name, int64(off)); err != nil {
			return nil, fmt.Errorf("loader: read interpreter path: %w", err)
		}
		path, _, _ := strings.Cut(string(name), "\x00")
		return nil, bad("dynamically linked (interpreter %s): link it statically", path)
	}

	var phdrVaddr uint64
	havePhdr := false
	for i := 0; i < int(phnum); i++ {
		ph := tab[i*phdrSize:]
		ptype := le.Uint32(ph)
		pflags := le.Uint32(ph[4:])
		off := le.Uint64(ph[8:])
		vaddr := le.Uint64(ph[16:])
		filesz := le.Uint64(ph[32:])
		memsz := le.Uint64(ph[40:])
		align := le.Uint64(ph[48:])
		switch ptype {
		case ptLoad:
			if filesz > memsz {
				return nil, bad("segment %d at %#x has file size %#x > memory size %#x", i, vaddr, filesz, memsz)
			}
			if !inFile(off, filesz, size) {
				return nil, bad("segment %d at %#x: file bytes [%#x, +%#x) run past the end of the %d-byte file", i, vaddr, off, filesz, size)
			}
			// The upper half is never user memory, and keeping out of
			// it lets page rounding of the end never overflow.
			if end, carry := bits.Add64(vaddr, memsz, 0); carry != 0 || end > 1<<63 {
				return nil, bad("segment %d at %#x with size %#x runs past the user half of the address space", i, vaddr, memsz)
			}
			if vaddr%PageSize != off%PageSize {
				return nil, bad("segment %d: address %#x and file offset %#x differ modulo the page size %d", i, vaddr, off, PageSize)
			}
			prot := protOf(pflags)
			if prot&ProtWrite != 0 && prot&ProtExec != 0 {
				return nil, bad("segment %d at %#x is writable and executable; Runikraft enforces W^X", i, vaddr)
			}
			if memsz == 0 {
				continue // maps nothing (Linux skips it too)
			}
			img.Segments = append(img.Segments, Segment{
				Index: i, Vaddr: vaddr, Memsz: memsz, Filesz: filesz, Offset: off, Align: align, Prot: prot,
			})
			// Alignments beyond 2 MiB (a huge page) are not honoured:
			// they would only cost base entropy.
			if align > img.maxAlign && align <= 2<<20 && align&(align-1) == 0 {
				img.maxAlign = align
			}
		case ptTLS:
			if img.TLS != nil {
				return nil, bad("more than one PT_TLS segment")
			}
			if filesz > memsz {
				return nil, bad("TLS segment %d has file size %#x > memory size %#x", i, filesz, memsz)
			}
			if !inFile(off, filesz, size) {
				return nil, bad("TLS segment %d: file bytes [%#x, +%#x) run past the end of the file", i, off, filesz)
			}
			if align > 1 && align&(align-1) != 0 {
				return nil, bad("TLS segment %d alignment %#x is not a power of two", i, align)
			}
			img.TLS = &TLS{Vaddr: vaddr, Filesz: filesz, Memsz: memsz, Align: align}
		case ptGNUStack:
			if pflags&pfX != 0 {
				return nil, bad("executable stack requested (PT_GNU_STACK %s); Runikraft enforces W^X", ProtString(protOf(pflags)))
			}
		case ptPhdr:
			phdrVaddr, havePhdr = vaddr, true
		}
	}
	if len(img.Segments) == 0 {
		return nil, bad("no loadable (PT_LOAD) segments")
	}
	if err := img.checkLayout(); err != nil {
		return nil, err
	}

	// AT_PHDR is where the program headers are in memory: find the load
	// whose file bytes contain them (as Linux does since 5.18).
	found := false
	for _, s := range img.Segments {
		if phoff >= s.Offset && phoff+tabLen <= s.Offset+s.Filesz {
			img.PhdrAddr = s.Vaddr + (phoff - s.Offset)
			found = true
			break
		}
	}
	if !found {
		return nil, bad("program headers (file offset %#x, %d bytes) are not inside a loaded segment, so AT_PHDR would point at unmapped memory", phoff, tabLen)
	}
	if havePhdr && phdrVaddr != img.PhdrAddr {
		return nil, bad("PT_PHDR says the program headers are at %#x, but they are loaded at %#x", phdrVaddr, img.PhdrAddr)
	}
	if img.TLS != nil && img.TLS.Filesz > 0 && img.segmentAt(img.TLS.Vaddr, img.TLS.Filesz) < 0 {
		return nil, bad("TLS template [%#x, +%#x) is not inside a loaded segment", img.TLS.Vaddr, img.TLS.Filesz)
	}
	if i := img.segmentAt(entry, 1); i < 0 || img.Segments[i].Prot&ProtExec == 0 {
		return nil, bad("entry point %#x is not inside an executable segment", entry)
	}
	return img, nil
}

// checkLayout checks the loads' order, overlap, shared pages and the
// address range the image type allows.
func (img *Image) checkLayout() error {
	segs := img.Segments
	for k := 1; k < len(segs); k++ {
		p, s := segs[k-1], segs[k]
		if s.Vaddr < p.Vaddr {
			return bad("segment %d at %#x comes after segment %d at %#x: loads must be in ascending address order", s.Index, s.Vaddr, p.Index, p.Vaddr)
		}
		if s.Vaddr < p.End() {
			return bad("segment %d at %#x overlaps segment %d [%#x, %#x)", s.Index, s.Vaddr, p.Index, p.Vaddr, p.End())
		}
	}
	// Loads that share a page give it the union of their protections;
	// that must not make it writable and executable.
	for k := 1; k < len(segs); k++ {
		for j := k - 1; j >= 0 && pageUp(segs[j].End()) > pageDown(segs[k].Vaddr); j-- {
			if u := segs[j].Prot | segs[k].Prot; u&ProtWrite != 0 && u&ProtExec != 0 {
				return bad("segments %d and %d share the page at %#x, which would be writable and executable; Runikraft enforces W^X",
					segs[j].Index, segs[k].Index, pageDown(segs[k].Vaddr))
			}
		}
	}
	lo, hi := pageDown(segs[0].Vaddr), pageUp(segs[len(segs)-1].End())
	if img.Type == etExec {
		if lo < UserLowStart || hi > UserLowEnd {
			return bad("static (non-PIE) image spans [%#x, %#x); it must fit in [%#x, %#x): link it at a low address (the default 0x10000) or as static-pie",
				lo, hi, UserLowStart, UserLowEnd)
		}
		return nil
	}
	if hi-lo > maxPIESpan {
		return bad("static-pie image spans %#x bytes, more than the %#x that fit in the application's high region", hi-lo, uint64(maxPIESpan))
	}
	return nil
}

// segmentAt returns the index of the load containing [addr, addr+n), or -1.
func (img *Image) segmentAt(addr, n uint64) int {
	for i, s := range img.Segments {
		if addr >= s.Vaddr && addr < s.End() && n <= s.End()-addr {
			return i
		}
	}
	return -1
}

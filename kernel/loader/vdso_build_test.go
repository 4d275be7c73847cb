package loader

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// buildVDSOHeader makes the vDSO page's fixed part, up to vdsoData, as
// vdsoHeader holds it (TestVDSOHeader): building it at every boot ran
// this code once per boot.
func buildVDSOHeader() []byte {
	le := binary.LittleEndian
	b := make([]byte, VDSOSize)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // ELFCLASS64, little-endian, version 1
	le.PutUint16(b[16:], 3)    // ET_DYN
	le.PutUint16(b[18:], 243)  // EM_RISCV
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], vdsoPhoff)
	le.PutUint32(b[48:], 0x5) // e_flags: RVC, double-float ABI
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], 2)
	le.PutUint16(b[58:], 64) // e_shentsize; no sections

	ph := func(i int, typ, flags uint32, off, size uint64) {
		PutProgHeader(b[vdsoPhoff+56*i:], typ, flags, off, off, size, size, 8)
	}
	ph(0, 1, 5, 0, VDSOSize)   // PT_LOAD, R+X
	ph(1, 2, 4, vdsoDyn, 9*16) // PT_DYNAMIC, R

	const (
		dtHash, dtStrtab, dtSymtab, dtStrsz, dtSyment = 4, 5, 6, 10, 11
	)
	const (
		dtVersym, dtVerdef, dtVerdefnum = 0x6ffffff0, 0x6ffffffc, 0x6ffffffd
		soname, version                 = "linux-vdso.so.1", "LINUX_4.15"
		symName                         = 1
		sonameName                      = symName + len("__vdso_clock_gettime") + 1
		versionName                     = sonameName + len(soname) + 1
	)
	names := "\x00__vdso_clock_gettime\x00" + soname + "\x00" + version + "\x00"
	for i, d := range [][2]uint64{
		{dtHash, vdsoHash}, {dtStrtab, vdsoStrs}, {dtSymtab, vdsoSyms},
		{dtStrsz, uint64(len(names))}, {dtSyment, 24},
		{dtVersym, vdsoVersym}, {dtVerdef, vdsoVerdef}, {dtVerdefnum, 2}, {0, 0},
	} {
		le.PutUint64(b[vdsoDyn+16*i:], d[0])
		le.PutUint64(b[vdsoDyn+16*i+8:], d[1])
	}
	// SysV hash: one bucket starting the chain at symbol 1.
	for i, w := range []uint32{1, 2, 1, 0, 0} {
		le.PutUint32(b[vdsoHash+4*i:], w)
	}
	// Version definitions: a Verdef (20 bytes), then its Verdaux (8).
	verdef := func(at int, flags, ndx uint16, hash uint32, name int, next uint32) {
		d := b[at:]
		le.PutUint16(d[0:], 1) // vd_version
		le.PutUint16(d[2:], flags)
		le.PutUint16(d[4:], ndx)
		le.PutUint16(d[6:], 1) // vd_cnt
		le.PutUint32(d[8:], hash)
		le.PutUint32(d[12:], 20) // vd_aux
		le.PutUint32(d[16:], next)
		le.PutUint32(d[20:], uint32(name))
	}
	verdef(vdsoVerdef, 1, 1, elfHash(soname), sonameName, 28) // VER_FLG_BASE
	verdef(vdsoVerdef+28, 0, 2, elfHash(version), versionName, 0)
	le.PutUint16(b[vdsoVersym+2:], 2) // __vdso_clock_gettime is LINUX_4.15

	sym := b[vdsoSyms+24:]
	le.PutUint32(sym[0:], symName)
	sym[4] = 1<<4 | 2        // STB_GLOBAL, STT_FUNC
	le.PutUint16(sym[6:], 1) // st_shndx: defined (any non-zero index)
	le.PutUint64(sym[8:], vdsoCode)
	le.PutUint64(sym[16:], uint64(len(vdsoClockGettime)*4))
	copy(b[vdsoStrs:], names)

	return b[:vdsoData]
}

// elfHash is the System V ABI's symbol hash.
func elfHash(name string) uint32 {
	var h uint32
	for i := 0; i < len(name); i++ {
		h = h<<4 + uint32(name[i])
		g := h & 0xf0000000
		h ^= g >> 24
		h &^= g
	}
	return h
}

// vdsoHeader is what buildVDSOHeader makes; on a mismatch the test
// prints the constant to paste into vdso.go.
func TestVDSOHeader(t *testing.T) {
	want := buildVDSOHeader()
	if vdsoHeader == string(want) {
		return
	}
	var src strings.Builder
	src.WriteString("const vdsoHeader = \"\" +\n")
	for i := 0; i < len(want); i += 16 {
		src.WriteString("\t\"")
		for _, c := range want[i:min(i+16, len(want))] {
			fmt.Fprintf(&src, "\\x%02x", c)
		}
		src.WriteString("\"")
		if i+16 < len(want) {
			src.WriteString(" +")
		}
		src.WriteString("\n")
	}
	t.Errorf("vdsoHeader is not what buildVDSOHeader makes; it should be\n%s", src.String())
}

package loader

import (
	"encoding/binary"
)

// The vDSO: one page holding a minimal ELF shared object that exports
// __vdso_clock_gettime, so the application reads the clock with rdtime
// in user mode instead of a system call (Go's runtime reads it for every
// timer; libcs for every clock_gettime). It is built here, from the
// machine's timebase and the wall-clock offset at boot, and mapped
// read+execute at a random address named by AT_SYSINFO_EHDR.
//
// What the readers need, and nothing else: Go's runtime, musl and
// glibc find PT_LOAD and PT_DYNAMIC, then DT_HASH, DT_SYMTAB, DT_STRTAB
// and the symbol versions (Go's runtime requires DT_VERDEF, and looks
// for version LINUX_4.15, as Linux names it on riscv64). Clocks the code
// does not know go to the system call.

// VDSOSize is the vDSO's length: one page.
const VDSOSize = PageSize

// Layout of the page.
const (
	vdsoPhoff  = 0x40  // 2 program headers
	vdsoDyn    = 0x100 // 9 dynamic entries
	vdsoHash   = 0x1a0 // nbucket, nchain, bucket[1], chain[2]
	vdsoSyms   = 0x1c0 // 2 symbols: the null one and __vdso_clock_gettime
	vdsoVersym = 0x1f0 // a version index per symbol
	vdsoVerdef = 0x200 // the base version and LINUX_4.15, each with one name
	vdsoStrs   = 0x240
	vdsoData   = 0x280 // timebase Hz, wall-clock offset ns, 1e9
	vdsoCode   = 0x300
)

// VDSO returns the vDSO page for a machine whose time CSR counts hz per
// second and whose wall clock is wallNS nanoseconds ahead of it.
func VDSO(hz uint64, wallNS int64) []byte {
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

	le.PutUint64(b[vdsoData:], hz)
	le.PutUint64(b[vdsoData+8:], uint64(wallNS))
	le.PutUint64(b[vdsoData+16:], 1e9)
	for i, w := range vdsoClockGettime {
		le.PutUint32(b[vdsoCode+4*i:], w)
	}
	return b
}

// PutProgHeader writes an ELF64 little-endian program header at b, with
// the physical address equal to the virtual one (QEMU loads by it). The
// image builders use it too.
func PutProgHeader(b []byte, typ, flags uint32, off, vaddr, filesz, memsz, align uint64) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], typ)
	le.PutUint32(b[4:], flags)
	le.PutUint64(b[8:], off)
	le.PutUint64(b[16:], vaddr)
	le.PutUint64(b[24:], vaddr)
	le.PutUint64(b[32:], filesz)
	le.PutUint64(b[40:], memsz)
	le.PutUint64(b[48:], align)
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

// The code uses temporaries and arguments only, so the caller's saved
// registers (Go's g in s11 among them) are untouched.
const dataOff int32 = vdsoData - vdsoCode // from the auipc at the code's start

// vdsoClockGettime is int clock_gettime(clockid_t a0, struct timespec *a1),
// as buildClockGettime (vdso_test.go) assembles it and
// TestClockGettimeCode checks: the code is fixed, and assembling it in a
// package initialiser ran the assembler at every boot (some 50
// translation blocks). CLOCK_MONOTONIC and its variants are the time CSR
// in nanoseconds (what the kernel's own clock and the system call
// answer); the realtime clocks add the wall-clock offset; any other clock
// makes the system call.
var vdsoClockGettime = [...]uint32{
	0x00000e17, 0xf80e3e83, 0xf90e3f83, 0x00000f13, 0x00100293, 0x04550263,
	0x00400293, 0x02550e63, 0x00600293, 0x02550a63, 0x00700293, 0x02550663,
	0xf88e3f03, 0x00000293, 0x02550063, 0x00500293, 0x00550c63, 0x00b00293,
	0x00550863, 0x07100893, 0x00000073, 0x00008067, 0xc01022f3, 0x03d2d333,
	0x03d2f3b3, 0x03f383b3, 0x03d3d3b3, 0x03ff52b3, 0x00530333, 0x03ff72b3,
	0x005383b3, 0x01f3e663, 0x41f383b3, 0x00130313, 0x0065b023, 0x0075b423,
	0x00000513, 0x00008067,
}

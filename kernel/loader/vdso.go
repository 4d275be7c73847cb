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
// second and whose wall clock is wallNS nanoseconds ahead of it: the
// fixed headers and tables (vdsoHeader), the data, the code.
func VDSO(hz uint64, wallNS int64) []byte {
	le := binary.LittleEndian
	b := make([]byte, VDSOSize)
	copy(b, vdsoHeader)
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

// vdsoHeader is the vDSO page up to vdsoData: the ELF and program
// headers, the dynamic table, the hash table, the symbols, their
// versions and names, as buildVDSOHeader (vdso_build_test.go) makes
// them and TestVDSOHeader checks.
const vdsoHeader = "" +
	"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x03\x00\xf3\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x05\x00\x00\x00\x40\x00\x38\x00\x02\x00\x40\x00\x00\x00\x00\x00" +
	"\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x10\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00" +
	"\x08\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x04\x00\x00\x00" +
	"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" +
	"\x00\x01\x00\x00\x00\x00\x00\x00\x90\x00\x00\x00\x00\x00\x00\x00" +
	"\x90\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x04\x00\x00\x00\x00\x00\x00\x00\xa0\x01\x00\x00\x00\x00\x00\x00" +
	"\x05\x00\x00\x00\x00\x00\x00\x00\x40\x02\x00\x00\x00\x00\x00\x00" +
	"\x06\x00\x00\x00\x00\x00\x00\x00\xc0\x01\x00\x00\x00\x00\x00\x00" +
	"\x0a\x00\x00\x00\x00\x00\x00\x00\x31\x00\x00\x00\x00\x00\x00\x00" +
	"\x0b\x00\x00\x00\x00\x00\x00\x00\x18\x00\x00\x00\x00\x00\x00\x00" +
	"\xf0\xff\xff\x6f\x00\x00\x00\x00\xf0\x01\x00\x00\x00\x00\x00\x00" +
	"\xfc\xff\xff\x6f\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00" +
	"\xfd\xff\xff\x6f\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x12\x00\x01\x00" +
	"\x00\x03\x00\x00\x00\x00\x00\x00\x98\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x00\x01\x00\x01\x00\x01\x00\xa1\xbf\xee\x0d\x14\x00\x00\x00" +
	"\x1c\x00\x00\x00\x16\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00" +
	"\x02\x00\x01\x00\x75\x7f\xe7\x0a\x14\x00\x00\x00\x00\x00\x00\x00" +
	"\x26\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x5f\x5f\x76\x64\x73\x6f\x5f\x63\x6c\x6f\x63\x6b\x5f\x67\x65" +
	"\x74\x74\x69\x6d\x65\x00\x6c\x69\x6e\x75\x78\x2d\x76\x64\x73\x6f" +
	"\x2e\x73\x6f\x2e\x31\x00\x4c\x49\x4e\x55\x58\x5f\x34\x2e\x31\x35" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

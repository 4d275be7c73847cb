package loader

import (
	"encoding/binary"
	"slices"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Auxiliary vector types (include/uapi/linux/auxvec.h).

// AuxEntry is one auxiliary vector entry.
type AuxEntry struct {
	Type, Val uint64
}

// AuxVector returns the auxiliary vector for the image loaded at base, in
// Linux's order, without the entries BuildStack adds (AT_RANDOM,
// AT_EXECFN, AT_NULL).
//
// AT_BASE is 0: it is the interpreter's base, and a static-pie has none.
// musl's static-pie startup (rcrt1/_dlstart) takes a nonzero AT_BASE as
// its own load address and otherwise finds it from AT_PHDR and
// PT_DYNAMIC; glibc's finds its load address PC-relatively and reads
// AT_PHDR/AT_PHNUM for the PT_LOAD at offset 0 and PT_TLS. Both therefore
// need AT_PHDR to be the run-time address of the headers. Load adds
// AT_SYSINFO_EHDR for the vDSO once it is mapped. There is no
// AT_MINSIGSTKSZ: its value is the signal frame size, which the
// syscall layer decides; without it libcs use their MINSIGSTKSZ.
func (img *Image) AuxVector(base uint64) []AuxEntry {
	bias := img.Bias(base)
	return []AuxEntry{
		{linux.AT_HWCAP, linux.HWCAP_RV64IMAFDC},
		{linux.AT_PAGESZ, PageSize},
		{linux.AT_CLKTCK, linux.USER_HZ},
		{linux.AT_PHDR, img.PhdrAddr + bias},
		{linux.AT_PHENT, uint64(img.PhEntSize)},
		{linux.AT_PHNUM, uint64(img.PhNum)},
		{linux.AT_BASE, 0},
		{linux.AT_FLAGS, 0},
		{linux.AT_ENTRY, img.Entry + bias},
		{linux.AT_UID, 0},
		{linux.AT_EUID, 0},
		{linux.AT_GID, 0},
		{linux.AT_EGID, 0},
		{linux.AT_SECURE, 0},
	}
}

// BuildStack lays out the initial stack the way Linux's execve does and
// returns it as the bytes that end at top, with sp (16-byte aligned)
// pointing at argc. From sp upwards: argc; argv pointers and NULL; envp
// pointers and NULL; auxv (the given entries, then AT_RANDOM, AT_EXECFN
// and AT_NULL); padding; the 16 AT_RANDOM bytes; the argv strings, the
// envp strings and execfn, each NUL-terminated; 8 zero bytes at top.
// Entries of type AT_RANDOM, AT_EXECFN or AT_NULL in auxv are dropped.
// Strings must not contain NUL bytes (the application would see them cut).
func BuildStack(top uint64, argv, envp []string, auxv []AuxEntry, random [16]byte, execfn string) (sp uint64, mem []byte) {
	auxv = slices.DeleteFunc(slices.Clone(auxv), func(e AuxEntry) bool {
		return e.Type == linux.AT_RANDOM || e.Type == linux.AT_EXECFN || e.Type == linux.AT_NULL
	})
	// Strings go down from the end marker, last first, so that they end
	// up in argv, envp, execfn order as on Linux.
	p := top - 8
	push := func(s string) uint64 {
		p -= uint64(len(s)) + 1
		return p
	}
	execfnAddr := push(execfn)
	envAddr := make([]uint64, len(envp))
	for i := len(envp) - 1; i >= 0; i-- {
		envAddr[i] = push(envp[i])
	}
	argAddr := make([]uint64, len(argv))
	for i := len(argv) - 1; i >= 0; i-- {
		argAddr[i] = push(argv[i])
	}
	strs := p
	randAddr := strs&^15 - 16
	auxv = append(auxv, AuxEntry{linux.AT_RANDOM, randAddr}, AuxEntry{linux.AT_EXECFN, execfnAddr}, AuxEntry{linux.AT_NULL, 0})
	items := uint64(1+len(argv)+1+len(envp)+1) + 2*uint64(len(auxv))
	sp = (randAddr - 8*items) &^ 15

	mem = make([]byte, top-sp)
	at := func(a uint64) []byte { return mem[a-sp:] }
	le := binary.LittleEndian
	w := sp
	word := func(v uint64) {
		le.PutUint64(at(w), v)
		w += 8
	}
	word(uint64(len(argv)))
	for _, a := range argAddr {
		word(a)
	}
	word(0)
	for _, a := range envAddr {
		word(a)
	}
	word(0)
	for _, e := range auxv {
		word(e.Type)
		word(e.Val)
	}
	copy(at(randAddr), random[:])
	for i, s := range argv {
		copy(at(argAddr[i]), s)
	}
	for i, s := range envp {
		copy(at(envAddr[i]), s)
	}
	copy(at(execfnAddr), execfn)
	return sp, mem
}

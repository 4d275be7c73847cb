package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/runikraft/runikraft/internal/elfsym"
)

// Where things are on QEMU virt booted with -bios default: RAM from
// ramBase, the firmware (OpenSBI) at its start, the kernel QEMU loads
// from kernelBase. A Linux application's addresses are below ramBase
// (or anywhere, for a PIE); Sv39 user addresses end at userTop, and
// everything from there up is the kernel half.
const (
	ramBase    = 0x8000_0000
	kernelBase = 0x8020_0000
	userTop    = 1 << 38
)

// ErrUnusable marks an ELF that is neither a machine image QEMU can
// boot nor an application the stock kernel can run: booting it would
// only hang (runikraft run exits 97).
var ErrUnusable = errors.New("unusable image")

// IsMachineImage reports whether the riscv64 ELF at path boots on the
// machine as is (a Runikraft image, or any bare-metal program linked in
// RAM), as opposed to a Linux application to run on the stock kernel.
// An ELF that is neither (ErrUnusable) is refused with a one-line reason:
// a Linux program linked where the firmware and kernel live, or any
// image loading in the kernel half of the address space.
func IsMachineImage(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_RISCV || f.Class != elf.ELFCLASS64 {
		return false, fmt.Errorf("%s: not a riscv64 ELF (machine %v, class %v)", path, f.Machine, f.Class)
	}
	return classify(f, path)
}

func classify(f *elf.File, path string) (bool, error) {
	var low, lowPhys uint64
	found := false
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		// QEMU loads a machine image at its physical addresses; a Linux
		// program's are its virtual ones. Either way, the kernel half
		// holds neither RAM nor an application.
		if phEnd := p.Paddr + p.Memsz; phEnd < p.Paddr || phEnd > userTop {
			return false, fmt.Errorf("%s: %w: a segment loads at %#x, in the kernel half of the address space, where there is neither RAM for QEMU to load it into nor room for an application", path, ErrUnusable, p.Paddr)
		}
		if !found || p.Vaddr < low {
			low = p.Vaddr
		}
		if !found || p.Paddr < lowPhys {
			lowPhys = p.Paddr
		}
		found = true
	}
	if !found {
		return false, fmt.Errorf("%s: no loadable segment", path)
	}
	if low < ramBase {
		return false, nil // an application's address: the stock kernel runs it
	}
	if !runikraftKernel(f) && linuxProgram(f) {
		return false, fmt.Errorf("%s: %w: a Linux program linked at %#x, which is the machine's RAM where the firmware and the kernel load; link it as PIE (the default of runikraft-cc) or below %#x", path, ErrUnusable, low, ramBase)
	}
	if lowPhys < kernelBase {
		return false, fmt.Errorf("%s: %w: it loads at %#x, over the firmware (OpenSBI at %#x-%#x); link a machine image at %#x or above", path, ErrUnusable, lowPhys, ramBase, kernelBase-1, kernelBase)
	}
	return true, nil
}

// runikraftKernel reports whether f has the hart layer's bootInfo table.
func runikraftKernel(f *elf.File) bool {
	_, ok := elfsym.BootInfo(f, bootInfoSym)
	return ok
}

// linuxProgram reports whether f shows signs of a Linux user program
// rather than a bare-metal one: an interpreter, dynamic section or TLS
// segment, the Linux OS ABI, a GNU ABI-tag note (glibc), or a C
// library's or Go runtime's start symbol. A bare-metal program built
// with the Linux cross compiler has none of these.
func linuxProgram(f *elf.File) bool {
	if f.OSABI == elf.ELFOSABI_LINUX {
		return true
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP, elf.PT_DYNAMIC, elf.PT_TLS:
			return true
		case elf.PT_NOTE:
			if abiTagNote(p) {
				return true
			}
		}
	}
	for _, name := range []string{"__libc_start_main", "_start_c", "runtime.rt0_go"} {
		if _, ok := elfsym.Lookup(f, name); ok {
			return true
		}
	}
	return false
}

// abiTagNote reports whether a PT_NOTE segment holds the "GNU" ABI tag
// (NT_GNU_ABI_TAG) that glibc's crt1 carries.
func abiTagNote(p *elf.Prog) bool {
	if p.Filesz > 4096 {
		return false
	}
	b := make([]byte, p.Filesz)
	if _, err := p.ReadAt(b, 0); err != nil {
		return false
	}
	for len(b) >= 12 {
		nameSz, descSz, typ := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
		b = b[12:]
		n, d := uint64(nameSz+3)&^3, uint64(descSz+3)&^3
		if n > uint64(len(b)) || d > uint64(len(b))-n {
			return false
		}
		if typ == 1 && nameSz == 4 && bytes.Equal(b[:4], []byte("GNU\x00")) {
			return true
		}
		b = b[n+d:]
	}
	return false
}

package qemu

import (
	"debug/elf"
	"fmt"
	"os"
)

// Where QEMU virt (7.2, booted with -kernel and -bios default) puts
// things in RAM, so that an image or initrd too large for -m gets a
// message saying how much memory it needs instead of QEMU's "Some ROM
// regions are overlapping":
//
//   - RAM starts at RAMBase;
//   - the kernel ELF goes at its physical addresses;
//   - the initrd at the kernel's lowest address plus half of RAM, or
//     plus 128 MiB from 256 MiB of RAM up;
//   - the device tree (1 MiB) at the top of RAM (of its first 1 GiB
//     past RAM's start at 2 GiB), aligned down to 2 MiB.
const (
	RAMBase      = 0x8000_0000
	fdtSize      = 1 << 20
	fdtAlign     = 2 << 20
	fdtLimit     = 3 << 30 // the device tree stays below 3 GiB (an address: RAM starts at 2 GiB)
	initrdOffMax = 128 << 20
)

// Layout is where an image's parts land in RAM.
type Layout struct {
	KernelLo, KernelHi uint64 // the kernel ELF's physical range
	InitrdSize         uint64 // 0: no initrd
}

// ReadLayout finds the physical range the ELF at kernel loads into, with
// an initrd file (if any) next to it.
func ReadLayout(kernel, initrd string) (Layout, error) {
	f, err := elf.Open(kernel)
	if err != nil {
		return Layout{}, fmt.Errorf("image %s: %w", kernel, err)
	}
	defer f.Close()
	var l Layout
	found := false
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		end := p.Paddr + p.Memsz
		if end < p.Paddr {
			return Layout{}, fmt.Errorf("image %s: a segment at %#x wraps round the address space", kernel, p.Paddr)
		}
		if !found || p.Paddr < l.KernelLo {
			l.KernelLo = p.Paddr
		}
		l.KernelHi = max(l.KernelHi, end)
		found = true
	}
	if !found {
		return Layout{}, fmt.Errorf("image %s: ELF has no loadable segments", kernel)
	}
	if initrd != "" {
		fi, err := os.Stat(initrd)
		if err != nil {
			return Layout{}, fmt.Errorf("initrd: %w", err)
		}
		l.InitrdSize = uint64(fi.Size())
	}
	return l, nil
}

// Fits reports whether QEMU can place everything in memMiB of RAM.
func (l Layout) Fits(memMiB uint64) bool {
	if memMiB == 0 || memMiB > MaxMemoryMiB || l.KernelLo < RAMBase || l.KernelHi < l.KernelLo {
		return false
	}
	ramEnd := RAMBase + memMiB<<20
	fdt := (min(ramEnd, fdtLimit) - fdtSize) &^ (fdtAlign - 1)
	overlaps := func(a, b, c, d uint64) bool { return a < d && c < b }
	if l.KernelHi > ramEnd || overlaps(l.KernelLo, l.KernelHi, fdt, fdt+fdtSize) {
		return false
	}
	if l.InitrdSize == 0 {
		return true
	}
	start := l.KernelLo + min(memMiB<<20/2, initrdOffMax)
	end := start + l.InitrdSize
	return end >= start && end <= ramEnd && start >= l.KernelHi && !overlaps(start, end, fdt, fdt+fdtSize)
}

// NeedMiB returns the least RAM, in MiB, at which everything fits, or 0
// if nothing up to MaxMemoryMiB does.
func (l Layout) NeedMiB() uint64 {
	// Fits is not monotonic in general (the initrd moves with the RAM
	// size), so search upwards; a step of 1 MiB is cheap.
	for m := uint64(MinMemoryMiB); m <= MaxMemoryMiB; m++ {
		if l.Fits(m) {
			return m
		}
	}
	return 0
}

package qemu

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Image is what CheckImage learned about a bootable image.
type Image struct {
	Entry    uint64 // e_entry
	LoadBase uint64 // lowest PT_LOAD physical address
}

// EntryMismatch reports whether QEMU will start the image somewhere other
// than its ELF entry point: QEMU's riscv loader jumps to the lowest loaded
// physical address and ignores e_entry.
func (im Image) EntryMismatch() bool { return im.Entry != im.LoadBase }

// CheckImage verifies before QEMU starts that path is a readable riscv64
// ELF with something to load, so the user gets an error naming the file
// and the problem rather than QEMU's less specific one.
func CheckImage(path string) (Image, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Image{}, fmt.Errorf("image %s: no such file", path)
	case err != nil:
		return Image{}, fmt.Errorf("image %s: %v", path, unwrapPath(err))
	case fi.IsDir():
		return Image{}, fmt.Errorf("image %s: is a directory", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: cannot read: %v", path, unwrapPath(err))
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: not an ELF file", path)
	}
	if ef.Machine != elf.EM_RISCV || ef.Class != elf.ELFCLASS64 || ef.Data != elf.ELFDATA2LSB {
		return Image{}, fmt.Errorf("image %s: ELF for %s, want riscv64 (EM_RISCV, ELFCLASS64, little-endian)", path, describe(ef))
	}
	im := Image{Entry: ef.Entry}
	found := false
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && p.Memsz > 0 && (!found || p.Paddr < im.LoadBase) {
			im.LoadBase = p.Paddr
			found = true
		}
	}
	if !found {
		return Image{}, fmt.Errorf("image %s: ELF has no loadable segments", path)
	}
	return im, nil
}

func describe(ef *elf.File) string {
	arch := ef.Machine.String()
	if ef.Machine == elf.EM_RISCV && ef.Class == elf.ELFCLASS32 {
		arch = "riscv32"
	}
	return fmt.Sprintf("%s (%s, %s)", arch, ef.Class, ef.Data)
}

// unwrapPath drops the *PathError wrapper, whose text repeats the path the
// caller already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

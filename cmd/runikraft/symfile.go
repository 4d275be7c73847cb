package main

import (
	"bytes"
	"debug/elf"
	"path/filepath"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/toolchain"
)

// symbolFile returns the file whose symbol table describes the kernel in
// the image at path: the image itself when it kept its symbols (a kernel
// image), else a kernel image with the same Go build ID, the one the
// image's manifest names or one next to the tools (application images
// leave the kernel's symbol table out; the bytes they load are that
// kernel's). ok is false when none has one.
func symbolFile(path string) (string, bool) {
	f, err := elf.Open(path)
	if err != nil {
		return path, false
	}
	defer f.Close()
	if f.SectionByType(elf.SHT_SYMTAB) != nil {
		return path, true
	}
	id := goBuildID(f)
	if id == nil {
		return path, false
	}
	var cands []string
	if info, err := appimage.Read(path); err == nil && info.Manifest.KernelFile != "" {
		cands = append(cands, info.Manifest.KernelFile)
	}
	near, _ := filepath.Glob(filepath.Join(toolchain.DefaultHost().BinDir(), "runikraft-kernel*.img"))
	cands = append(cands, near...)
	for _, c := range cands {
		k, err := elf.Open(c)
		if err != nil {
			continue
		}
		same := bytes.Equal(goBuildID(k), id) && k.SectionByType(elf.SHT_SYMTAB) != nil
		k.Close()
		if same {
			return c, true
		}
	}
	return path, false
}

// goBuildID is the contents of the Go build ID note, nil if none.
func goBuildID(f *elf.File) []byte {
	s := f.Section(".note.go.buildid")
	if s == nil || s.Size == 0 || s.Size > 4096 {
		return nil
	}
	b, err := s.Data()
	if err != nil {
		return nil
	}
	return b
}

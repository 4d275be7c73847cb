package main

import (
	"debug/elf"
	"sort"
)

type symbol struct {
	addr, size uint64
	name       string
}

// symtab maps addresses to function names from ELF symbol tables.
type symtab struct{ s []symbol }

// add reads path's function symbols, each name after prefix (the
// program's own symbols get one, so that its Go runtime is told apart
// from the kernel's).
func (t *symtab) add(path, prefix string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ss, err := f.Symbols()
	if err != nil {
		return err
	}
	for _, s := range ss {
		if typ := elf.ST_TYPE(s.Info); typ == elf.STT_FUNC || typ == elf.STT_NOTYPE && s.Size > 0 {
			t.s = append(t.s, symbol{s.Value, s.Size, prefix + s.Name})
		}
	}
	sort.Slice(t.s, func(i, j int) bool { return t.s[i].addr < t.s[j].addr })
	return nil
}

// lookup names the function holding addr, or "?".
func (t *symtab) lookup(addr uint64) string {
	i := sort.Search(len(t.s), func(i int) bool { return t.s[i].addr > addr }) - 1
	if i >= 0 && addr < t.s[i].addr+t.s[i].size {
		return t.s[i].name
	}
	return "?"
}

// addr is the address of the function named name.
func (t *symtab) addr(name string) (uint64, bool) {
	for _, s := range t.s {
		if s.name == name {
			return s.addr, true
		}
	}
	return 0, false
}

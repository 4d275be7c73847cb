package toolchain

import (
	"debug/elf"
	"errors"
	"fmt"
	"strings"
)

// appFacts are the properties of an ELF file that decide whether the stock
// kernel can load it as an application.
type appFacts struct {
	Class     elf.Class
	Machine   elf.Machine
	Type      elf.Type
	Interp    string   // PT_INTERP contents, "" if none
	Needed    []string // DT_NEEDED
	Undefined []string // non-weak undefined dynamic symbols
	// BadRelocs are dynamic relocations no static start code applies;
	// TextRelocs are the addresses of relocations in read-only memory.
	BadRelocs  []string
	TextRelocs []uint64
}

// CheckApp reports why the ELF file at path is not a static riscv64
// application the kernel can run, or nil if it is one.
func CheckApp(path string) error {
	f, err := readFacts(path)
	if err != nil {
		return err
	}
	return f.check(path)
}

func readFacts(path string) (appFacts, error) {
	ef, err := elf.Open(path)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			return appFacts{}, fmt.Errorf("%s is not an ELF file: %v", path, err)
		}
		return appFacts{}, fmt.Errorf("reading %s: %w", path, err)
	}
	defer ef.Close()
	f := appFacts{Class: ef.Class, Machine: ef.Machine, Type: ef.Type}
	for _, p := range ef.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return appFacts{}, fmt.Errorf("reading %s's PT_INTERP: %w", path, err)
		}
		f.Interp = strings.TrimRight(string(b), "\x00")
		if f.Interp == "" {
			f.Interp = "(empty)"
		}
	}
	if f.Needed, err = ef.DynString(elf.DT_NEEDED); err != nil {
		return appFacts{}, fmt.Errorf("reading %s's dynamic section: %w", path, err)
	}
	syms, err := ef.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return appFacts{}, fmt.Errorf("reading %s's dynamic symbols: %w", path, err)
	}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF && s.Name != "" && elf.ST_BIND(s.Info) != elf.STB_WEAK {
			f.Undefined = append(f.Undefined, s.Name)
		}
	}
	if ef.Class == elf.ELFCLASS64 && ef.Machine == elf.EM_RISCV {
		if err := f.readRelocs(ef, syms); err != nil {
			return appFacts{}, fmt.Errorf("reading %s's dynamic relocations: %w", path, err)
		}
	}
	return f, nil
}

// rRISCVIRelative is R_RISCV_IRELATIVE, which debug/elf does not name.
const rRISCVIRelative elf.R_RISCV = 58

// readRelocs sorts the dynamic relocations. A static-pie relocates itself
// before anything else runs (musl's rcrt1, glibc's _dl_relocate_static_pie)
// and applies R_RISCV_RELATIVE only (glibc also IRELATIVE), into memory
// that is writable at that point. The link cannot use -z text to catch the
// rest: binutils 2.40 leaves an R_RISCV_NONE placeholder in .text for each
// local-exec TLS access of a PIE, which would fail every program with
// __thread variables.
func (f *appFacts) readRelocs(ef *elf.File, syms []elf.Symbol) error {
	writable := func(addr uint64) bool {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W != 0 && addr >= p.Vaddr && addr+8 <= p.Vaddr+p.Memsz {
				return true
			}
		}
		return false
	}
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_RELA || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return fmt.Errorf("section %s: %w", s.Name, err)
		}
		for len(data) >= 24 {
			off := ef.ByteOrder.Uint64(data)
			info := ef.ByteOrder.Uint64(data[8:])
			data = data[24:]
			typ, sym := elf.R_RISCV(elf.R_TYPE64(info)), elf.R_SYM64(info)
			switch typ {
			case elf.R_RISCV_NONE:
			case elf.R_RISCV_RELATIVE, rRISCVIRelative:
				if !writable(off) {
					f.TextRelocs = append(f.TextRelocs, off)
				}
			default:
				desc := typ.String()
				if sym > 0 && int(sym) <= len(syms) {
					desc += " against " + syms[sym-1].Name
				}
				f.BadRelocs = append(f.BadRelocs, desc)
			}
		}
	}
	return nil
}

// check turns the facts into the first problem, worded for the user.
func (f appFacts) check(path string) error {
	switch {
	case f.Machine != elf.EM_RISCV:
		return fmt.Errorf("%s is for %v, not riscv64 (EM_RISCV)", path, f.Machine)
	case f.Class != elf.ELFCLASS64:
		return fmt.Errorf("%s is %v, not 64-bit riscv64 (ELFCLASS64)", path, f.Class)
	case f.Type != elf.ET_DYN && f.Type != elf.ET_EXEC:
		return fmt.Errorf("%s is %v, not an executable (ET_EXEC or static-pie ET_DYN)", path, f.Type)
	case f.Interp != "":
		return fmt.Errorf("%s asks for the dynamic linker %s: a unikernel application must be linked statically", path, f.Interp)
	case len(f.Needed) > 0:
		return fmt.Errorf("%s needs shared libraries (%s): a unikernel application must be linked statically", path, strings.Join(f.Needed, ", "))
	case len(f.Undefined) > 0:
		return fmt.Errorf("%s leaves symbols to a dynamic linker (%s): a unikernel application must be linked statically", path, abbreviate(f.Undefined, 5))
	case len(f.BadRelocs) > 0:
		return fmt.Errorf("%s has dynamic relocations its start code does not apply (%s): a unikernel application must be linked statically", path, abbreviate(f.BadRelocs, 5))
	case len(f.TextRelocs) > 0:
		return fmt.Errorf("%s has %d relocation(s) in read-only memory (the first at %#x): an object or archive in it was compiled without -fPIE/-fPIC; rebuild it with runikraft-cc", path, len(f.TextRelocs), f.TextRelocs[0])
	}
	return nil
}

// abbreviate lists up to n names and counts the rest.
func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

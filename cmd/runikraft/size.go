package main

import (
	"debug/elf"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/toolchain"
	"github.com/runikraft/runikraft/kernel/tzdata"
)

// sizeReport is where an image's bytes go (runikraft inspect --size):
// the kernel's loaded sections split by the Go package their symbols
// belong to, grouped as the Go runtime, Runikraft's kernel packages, the
// rest of the standard library and other modules; the tables Go keeps
// for itself (pclntab: function names and stack maps, which crash
// reports and the garbage collector need); the symbol table, which
// tools read and the guest never loads; and what was baked in after the
// kernel (application, command line, manifest).
type sizeReport struct {
	file, memory int64 // the whole image: bytes on disk, bytes loaded (with .bss)
	groups       map[string]*sizeCols
	pkgs         map[string]*sizeCols // kernel packages (github.com/runikraft/runikraft/...)
	pclntab      int64
	unattributed sizeCols // loaded bytes no symbol covers (alignment, headers, boot page)
	symtab       int64    // .symtab + .strtab: not loaded
	symFrom      string   // the file the symbols came from
	tzdata       int64    // the zone database's bytes (kernel/tzdata), among the read-only data
	baked        int64    // application, command line, manifest (after the kernel)
	app          *appimage.Info
}

// sizeCols splits a part of the image by kind of section.
type sizeCols struct{ code, rodata, data, bss int64 }

func (c *sizeCols) total() int64 { return c.code + c.rodata + c.data + c.bss }

// The groups, in the order printed.
const (
	grpRuntime = "Go runtime"
	grpKernel  = "kernel packages"
	grpStd     = "standard library"
	grpOther   = "other modules"
	grpMeta    = "type and function metadata"
)

var sizeGroups = []string{grpRuntime, grpKernel, grpStd, grpOther, grpMeta}

const kernelModule = "github.com/runikraft/runikraft/"

// symbolPackage returns the Go package a linker symbol belongs to:
// "pkg/path.Name", "pkg/path.(*T).M", "pkg/path.init.0", ... The package
// path ends at the first dot after its last slash.
func symbolPackage(name string) string {
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // type arguments name other packages
	}
	slash := strings.LastIndexByte(name, '/')
	if i := strings.IndexByte(name[slash+1:], '.'); i >= 0 {
		return name[:slash+1+i]
	}
	return name
}

// packageGroup says which group a package's bytes count in.
func packageGroup(pkg string) string {
	switch {
	case pkg == "runtime" || strings.HasPrefix(pkg, "runtime/") || strings.HasPrefix(pkg, "internal/runtime/") ||
		pkg == "internal/abi" || pkg == "internal/bytealg" || pkg == "internal/cpu" || pkg == "internal/chacha8rand" ||
		pkg == "internal/goarch" || pkg == "internal/goos" || pkg == "internal/godebugs" || pkg == "sync/atomic" ||
		pkg == "internal/runtime" || pkg == "internal/stringslite" || pkg == "internal/trace":
		return grpRuntime
	case strings.HasPrefix(pkg, kernelModule):
		return grpKernel
	case strings.HasPrefix(pkg, "type:") || strings.HasPrefix(pkg, "go:") || strings.HasPrefix(pkg, "go.") || pkg == "":
		return grpMeta
	case !strings.Contains(strings.SplitN(pkg, "/", 2)[0], "."):
		return grpStd
	}
	return grpOther
}

// measureSize reads the image at path (an application image, or a
// kernel image alone when app is nil).
func measureSize(path string, fileSize int64, app *appimage.Info) (*sizeReport, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &sizeReport{file: fileSize, groups: map[string]*sizeCols{}, pkgs: map[string]*sizeCols{}, app: app}
	for _, g := range sizeGroups {
		r.groups[g] = &sizeCols{}
	}
	lo, hi := ^uint64(0), uint64(0)
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			lo, hi = min(lo, p.Vaddr), max(hi, p.Vaddr+p.Memsz)
		}
	}
	if lo < hi {
		r.memory = int64(hi - lo)
	}
	kernelEnd := hi
	if app != nil {
		kernelEnd = app.KernelEnd
		r.baked = int64(app.ImageEnd - app.KernelEnd)
	}
	// Per loaded section: which column it counts in, and how much of it
	// symbols cover.
	col := func(s *elf.Section, c *sizeCols) *int64 {
		switch {
		case s.Type == elf.SHT_NOBITS:
			return &c.bss
		case s.Flags&elf.SHF_EXECINSTR != 0:
			return &c.code
		case s.Flags&elf.SHF_WRITE != 0:
			return &c.data
		}
		return &c.rodata
	}
	covered := map[int]int64{}
	for _, sec := range f.Sections {
		if sec.Name == ".symtab" || sec.Name == ".strtab" {
			r.symtab += int64(sec.Size)
		}
	}
	// An application image carries no symbol table of its own: the
	// kernel image it was baked from has it, at the same addresses and
	// section indices.
	symPath, ok := symbolFile(path)
	if !ok {
		return nil, fmt.Errorf("%s has no symbol table, and no kernel image with its Go build ID is next to the tools (%s): its bytes cannot be attributed", path, toolchain.DefaultHost().BinDir())
	}
	r.symFrom = symPath
	sf := f
	if symPath != path {
		if sf, err = elf.Open(symPath); err != nil {
			return nil, err
		}
		defer sf.Close()
	}
	syms, err := sf.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s has no symbol table: %w", symPath, err)
	}
	for _, s := range syms {
		i := int(s.Section)
		if i <= 0 || i >= len(f.Sections) || s.Size == 0 {
			continue
		}
		sec := f.Sections[i]
		if sec.Flags&elf.SHF_ALLOC == 0 || sec.Name == ".gopclntab" || s.Value < sec.Addr || s.Value+s.Size > sec.Addr+sec.Size || s.Value >= kernelEnd {
			continue
		}
		pkg := symbolPackage(s.Name)
		g := packageGroup(pkg)
		*col(sec, r.groups[g]) += int64(s.Size)
		if g == grpKernel {
			if r.pkgs[pkg] == nil {
				r.pkgs[pkg] = &sizeCols{}
			}
			*col(sec, r.pkgs[pkg]) += int64(s.Size)
		}
		covered[i] += int64(s.Size)
	}
	for i, sec := range f.Sections {
		switch {
		case sec.Name == ".symtab" || sec.Name == ".strtab":
		case sec.Name == ".gopclntab":
			r.pclntab += int64(sec.Size)
		case sec.Flags&elf.SHF_ALLOC != 0 && sec.Addr < kernelEnd:
			if rest := int64(sec.Size) - covered[i]; rest > 0 {
				*col(sec, &r.unattributed) += rest
			}
		}
	}
	if n, err := zoneBytes(symPath); err == nil {
		r.tzdata = n
	}
	return r, nil
}

func (r *sizeReport) print(w io.Writer, path string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "%s: %s on disk (%d bytes), %s in memory when loaded (with zeroed .bss)\n", path, human(r.file), r.file, human(r.memory))
	fmt.Fprintf(tw, "part\tcode\tread-only\tdata\tzeroed (.bss)\ttotal\t\n")
	row := func(name string, c sizeCols) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", name, human(c.code), human(c.rodata), human(c.data), human(c.bss), human(c.total()))
	}
	for _, g := range sizeGroups {
		row("kernel: "+g, *r.groups[g])
		if g != grpKernel {
			continue
		}
		names := make([]string, 0, len(r.pkgs))
		for p := range r.pkgs {
			names = append(names, p)
		}
		sort.Slice(names, func(i, j int) bool { return r.pkgs[names[i]].total() > r.pkgs[names[j]].total() })
		for _, p := range names {
			row("  "+strings.TrimPrefix(p, kernelModule), *r.pkgs[p])
		}
	}
	row("kernel: pclntab (function table for crash reports and the GC)", sizeCols{rodata: r.pclntab})
	row("kernel: unnamed (string data, alignment, boot page)", r.unattributed)
	if r.app != nil {
		row(fmt.Sprintf("app: %s (%s) and its command line, manifest", r.app.Manifest.App, r.app.Manifest.AppKind), sizeCols{rodata: r.baked})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.tzdata > 0 {
		fmt.Fprintf(w, "of the read-only data, the time-zone database (%s) is %s\n", strings.TrimPrefix(tzdata.SymbolName, kernelModule), human(r.tzdata))
	}
	if r.symFrom != path {
		fmt.Fprintf(w, "no symbol table in the image (the kernel's is in %s, same Go build ID); DWARF is not kept\n", r.symFrom)
	} else {
		fmt.Fprintf(w, "not loaded: symbol table %s (for runikraft's tools and gdb; application images leave it out; DWARF is not kept)\n", human(r.symtab))
	}
	return nil
}

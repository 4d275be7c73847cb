package loader

import (
	"fmt"
	"strings"
)

// Loaded describes an application image in memory and its initial stack.
// The application starts at Entry with sp = SP and every other register
// zero (a0 = 0 means no rtld_fini, as on Linux).
type Loaded struct {
	PIE      bool
	Entry    uint64    // initial PC (AT_ENTRY)
	SP       uint64    // initial stack pointer: argc is there
	Base     uint64    // static-pie load base; 0 for a static image
	Bias     uint64    // added to link-time addresses: 0 for a static image
	Phdr     uint64    // run-time address of the program headers (AT_PHDR)
	Brk      uint64    // page-aligned end of the image, where the program break starts
	StackLo  uint64    // the stack is [StackLo, StackHi), read-write
	StackHi  uint64    // the initial stack's top
	Guard    uint64    // the page below StackLo, mapped with no access so overflows fault
	VDSO     uint64    // the vDSO page (AT_SYSINFO_EHDR)
	MmapBase uint64    // where mappings without a fixed address start (random)
	TLS      *TLS      // PT_TLS at its run-time address, nil if none
	Mappings []Mapping // the image's memory runs
}

// Describe renders the layout for debug logs, one line per item.
func (l *Loaded) Describe() string {
	var b strings.Builder
	kind := "static"
	if l.PIE {
		kind = "static-pie"
	}
	fmt.Fprintf(&b, "%s image: base %#x entry %#x phdr %#x sp %#x brk %#x mmap base %#x\n", kind, l.Base, l.Entry, l.Phdr, l.SP, l.Brk, l.MmapBase)
	for _, m := range l.Mappings {
		var n uint64
		for _, c := range m.Copies {
			n += c.Len
		}
		fmt.Fprintf(&b, "  %#x-%#x %s %d file bytes\n", m.Addr, m.Addr+m.Len, ProtString(m.Prot), n)
	}
	fmt.Fprintf(&b, "  %#x-%#x rw- stack (guard page at %#x)\n", l.StackLo, l.StackHi, l.Guard)
	if t := l.TLS; t != nil {
		fmt.Fprintf(&b, "  tls template %#x filesz %#x memsz %#x align %#x\n", t.Vaddr, t.Filesz, t.Memsz, t.Align)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

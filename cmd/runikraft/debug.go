package main

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/qemu"
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// DefaultGDBPort is where --gdb without a port listens.
const DefaultGDBPort = 1234

// gdbFlag is --gdb[=PORT]: a flag that may stand alone (IsBoolFlag, as
// Go's flag package understands it) or take a port.
type gdbFlag struct{ port int }

func (g *gdbFlag) IsBoolFlag() bool { return true }

func (g *gdbFlag) Set(s string) error {
	switch s {
	case "true":
		g.port = DefaultGDBPort
	case "false":
		g.port = 0
	default:
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("want a TCP port 1..65535, have %q", s)
		}
		g.port = p
	}
	return nil
}

func (g *gdbFlag) String() string {
	if g == nil || g.port == 0 {
		return ""
	}
	return strconv.Itoa(g.port)
}

const gdbUsage = "start QEMU halted with a gdb stub on 127.0.0.1:`PORT` (default 1234) and print the gdb-multiarch command that loads the kernel's and the application's symbols"

// gdbSession is what --gdb needs: the application's symbol file and the
// base the kernel is told to load it at (0: not position-independent).
type gdbSession struct {
	port    int
	appFile string // the application's ELF, for add-symbol-file
	temp    bool   // appFile was extracted from the image: remove it
	base    uint64 // kernel command line runikraft.loadbase; 0 if static
	bias    uint64 // what gdb adds to the application's addresses
	main    string // the application's entry function: main, or main.main for Go
	mainAt  uint64 // its address once loaded; 0 if unknown
	noDWARF bool   // the application has symbols but no debugging information
}

func (s *gdbSession) remove() {
	if s != nil && s.temp {
		os.Remove(s.appFile)
	}
}

// newGDBSession finds the application's ELF (image itself, or the one
// baked into it) and, for a static-pie, picks the random load base the
// kernel gets on its command line, so the printed command names it.
func newGDBSession(port int, image string, baked *appimage.Info, appMode bool) (*gdbSession, error) {
	s := &gdbSession{port: port}
	if !appMode {
		return s, nil // a machine image: its own symbols are the kernel's
	}
	var app []byte
	switch {
	case baked == nil:
		s.appFile = image
		b, err := os.ReadFile(image)
		if err != nil {
			return nil, err
		}
		app = b
	case !baked.Rootfs:
		app = baked.Initrd
	default:
		b, err := cpio.ReadFile(baked.Initrd, "init", 1<<30)
		if err != nil {
			return nil, fmt.Errorf("the image's root filesystem: %w", err)
		}
		app = b
	}
	if s.appFile == "" {
		name, err := writeTemp("runikraft-gdb-app-*.elf", app)
		if err != nil {
			return nil, err
		}
		s.appFile, s.temp = name, true
	}
	f, err := elf.NewFile(bytes.NewReader(app))
	if err != nil {
		s.remove()
		return nil, fmt.Errorf("the application: %w", err)
	}
	defer s.findMain(f)
	if sec := f.Section(".debug_info"); sec == nil || sec.Type == elf.SHT_NOBITS {
		s.noDWARF = true
	}
	if f.Type != elf.ET_DYN {
		return s, nil
	}
	var first uint64
	found := false
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && (!found || p.Vaddr < first) {
			first, found = p.Vaddr, true
		}
	}
	// A random 2 MiB-aligned base in the first 64 GiB of the application's
	// high region: as random as the kernel's own choice needs to be for a
	// debugging session, and aligned for any segment alignment.
	var r [8]byte
	if _, err := io.ReadFull(rand.Reader, r[:]); err != nil {
		s.remove()
		return nil, err
	}
	const align = 2 << 20
	s.base = abi.UserHighStart + binary.LittleEndian.Uint64(r[:])%((64<<30)/align)*align
	s.bias = s.base - first&^0xfff
	return s, nil
}

// command is the gdb-multiarch command line to print.
func (s *gdbSession) command(kernel string) string {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	argv := []string{"gdb-multiarch", "-q", abs(kernel), "-ex", "set confirm off"}
	if s.appFile != "" {
		argv = append(argv, "-ex", fmt.Sprintf("add-symbol-file %s -o %#x", abs(s.appFile), s.bias))
	}
	argv = append(argv, "-ex", fmt.Sprintf("target remote 127.0.0.1:%d", s.port))
	return qemu.CommandLine(argv)
}

// findMain records where the application's main function will be: the
// kernel is a Go program with its own main and main.main, so "break
// main" in gdb has a kernel twin, and the printed address has none.
func (s *gdbSession) findMain(f *elf.File) {
	syms, err := f.Symbols()
	if err != nil {
		return
	}
	want := "main"
	for _, sym := range syms {
		if sym.Name == "runtime.main" {
			want = "main.main" // a Go program
			break
		}
	}
	for _, sym := range syms {
		if sym.Name == want && elf.ST_TYPE(sym.Info) == elf.STT_FUNC {
			s.main, s.mainAt = want, sym.Value+s.bias
			return
		}
	}
}

package toolchain

import (
	"path/filepath"
	"strings"
)

// Paths are the fixed inputs of command construction.
type Paths struct {
	Sysroot string // musl sysroot: include/, lib/
	// GCCInclude is the cross gcc's own header directory (stdatomic.h,
	// unwind.h, ...), the include/ of its library directory.
	GCCInclude string
}

// compilePrefix goes before the user's options so that they can still turn
// it off (-fno-stack-protector).
var compilePrefix = []string{"-fstack-protector-strong"}

// compileSuffix goes after the user's options: position-independent code is
// not negotiable for a static-pie, and the system headers are musl's, then
// gcc's own (musl first, as musl-gcc does, so musl's stddef.h and friends
// win), searched after any -isystem of the user's.
func (p Paths) compileSuffix() []string {
	return []string{"-fPIE", "-nostdinc",
		"-isystem", filepath.Join(p.Sysroot, "include"),
		"-isystem", p.GCCInclude}
}

// PassThroughArgs is the cross gcc's command line for an invocation that
// does not link an application (-c, -S, -E, -M, -fsyntax-only, -r): the
// user's arguments in order, minus the dropped ones, plus the sysroot's.
func PassThroughArgs(c *Command, p Paths, extra []string) []string {
	out := append([]string{}, compilePrefix...)
	for _, a := range c.Args {
		if a.Class != ClassDropped {
			out = append(out, a.Tokens...)
		}
	}
	out = append(out, extra...)
	out = append(out, p.compileSuffix()...)
	if c.Mode == ModeRelocatable {
		// Libraries an -r link names come from the sysroot, not glibc's.
		out = append(out, "--sysroot="+p.Sysroot)
	}
	return out
}

// ObjectArgs is the cross gcc's command line compiling one source of a
// compile-and-link invocation to obj.
func ObjectArgs(c *Command, p Paths, extra []string, src Arg, obj string) []string {
	out := append([]string{}, compilePrefix...)
	for _, a := range c.Args {
		if a.Class == ClassCompile || a.Class == ClassBoth {
			out = append(out, a.Tokens...)
		}
	}
	out = append(out, extra...)
	out = append(out, p.compileSuffix()...)
	if c.DepFile {
		// gcc names a compile-and-link's dependency file after the output
		// (-o app → app.d, target app); without this it would follow the
		// temporary object and be lost.
		target := c.Output
		if target == "" {
			target = "a.out"
		}
		if !c.DepNamed {
			out = append(out, "-MF", strings.TrimSuffix(target, filepath.Ext(target))+".d")
		}
		if !c.DepTarget {
			out = append(out, "-MT", target)
		}
	}
	out = append(out, "-c")
	if src.Lang != "" {
		out = append(out, "-x", src.Lang)
	}
	return append(out, src.Tokens[0], "-o", obj)
}

// LinkSpec is what a link needs besides the parsed command.
type LinkSpec struct {
	Sysroot    string
	GCCLib     string         // the cross gcc's own library directory (libgcc, libatomic, libgcov)
	Specs      string         // a file holding NoSearchDirsSpecs
	LocalMap   string         // a file holding LocalVersionScript
	Output     string         // where the linker writes (a temporary file)
	Objects    map[int]string // index in Command.Args of a source → its compiled object
	HaveGCCEH  bool           // the sysroot has libgcc_eh.a (unwinding for -fexceptions C)
	HaveAtomic bool           // GCCLib has libatomic.a
	Extra      []string       // $RUNIKRAFT_LDFLAGS, after the user's inputs
}

// NoSearchDirsSpecs is a gcc specs file that empties the library search
// path gcc adds to every link (%D): Debian's cross gcc names glibc's
// directory there even with --sysroot, and an -lfoo the sysroot lacks
// must not be found as glibc's.
const NoSearchDirsSpecs = "*link_libgcc:\n%{static-pie:}\n\n"

// LocalVersionScript makes every symbol of the application local. A
// static-pie exports nothing, but binutils 2.40's riscv64 linker puts a
// function whose address -fPIE code takes through the GOT into .dynsym
// and then writes data pointers to it (a table of functions) as
// R_RISCV_64 against the symbol, which musl's rcrt1 does not apply; with
// the symbols local they become R_RISCV_RELATIVE.
const LocalVersionScript = "{ local: *; };\n"

// LinkArgs is the cross gcc's command line linking a static-pie
// application: musl's start files, the user's inputs in order, then musl's
// libc and the compiler's runtime, all from the sysroot.
func LinkArgs(c *Command, s LinkSpec) []string {
	lib := func(name string) string { return filepath.Join(s.Sysroot, "lib", name) }
	out := []string{
		"-specs=" + s.Specs,
		// --sysroot re-roots the linker's own default search path, for
		// the same reason as the specs file.
		"--sysroot=" + s.Sysroot,
		"-static-pie", "-nostdlib", "-nostartfiles",
		// Debian's riscv64 gcc 12 does not turn -static-pie into these
		// (nor -z text, which binutils 2.40 cannot pass for TLS: CheckApp
		// looks for text relocations instead).
		"-Wl,-static", "-Wl,--no-dynamic-linker",
		"-Wl,-z,relro", "-Wl,-z,now", "-Wl,-z,noexecstack",
		"-o", s.Output,
	}
	if s.LocalMap != "" && !hasVersionScript(c, s.Extra) {
		out = append(out, "-Wl,--version-script="+s.LocalMap)
	}
	if !c.NoStartFiles {
		out = append(out, lib("rcrt1.o"), lib("crti.o"), lib("crtbeginS.o"))
	}
	for i, a := range c.Args {
		switch a.Class {
		case ClassInput:
			if obj, ok := s.Objects[i]; ok {
				out = append(out, obj)
			} else {
				out = append(out, a.Tokens...)
			}
		case ClassLink, ClassBoth:
			out = append(out, a.Tokens...)
		}
	}
	out = append(out, s.Extra...)
	// After the user's -L directories: an -lfoo of the user's is searched
	// there first, then in the sysroot (-lm, -lpthread, ... are musl's),
	// then among the compiler's own libraries (-latomic, -lgcov).
	out = append(out, "-L"+filepath.Join(s.Sysroot, "lib"), "-L"+s.GCCLib)
	if !c.NoDefaultLibs {
		out = append(out, "-Wl,--start-group")
		if !c.NoLibc {
			out = append(out, lib("libc.a"))
		}
		out = append(out, lib("libgcc.a"))
		if s.HaveGCCEH {
			out = append(out, lib("libgcc_eh.a"))
		}
		if s.HaveAtomic && !c.NoLibc {
			// gcc 12 calls libatomic for 1-, 2- and 16-byte atomics; an
			// archive only adds what is used, so C11 atomics just work.
			out = append(out, filepath.Join(s.GCCLib, "libatomic.a"))
		}
		out = append(out, "-Wl,--end-group")
	}
	if !c.NoStartFiles {
		out = append(out, lib("crtendS.o"), lib("crtn.o"))
	}
	return out
}

// hasVersionScript reports whether the user links with a version script
// of their own, which ld would not combine with ours.
func hasVersionScript(c *Command, extra []string) bool {
	for _, a := range c.Args {
		for _, t := range a.Tokens {
			if strings.Contains(t, "--version-script") {
				return true
			}
		}
	}
	for _, t := range extra {
		if strings.Contains(t, "--version-script") {
			return true
		}
	}
	return false
}

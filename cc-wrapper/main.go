// Command runikraft-cc is a drop-in C compiler for Runikraft unikernel
// applications: a gcc driver over the riscv64 cross gcc that compiles
// against the musl sysroot and links static-pie programs, baked with the
// stock kernel into bootable images.
//
//	runikraft-cc -O2 -c foo.c             foo.o, as gcc would
//	runikraft-cc -o app foo.c bar.o -lm   app: boots on qemu-system-riscv64 -M virt
//	runikraft-cc --app-only -o app ...    app: the static-pie program alone
//
// It takes gcc's options and runikraft-ld's own (--rootfs, --arg, --env,
// --kernel, --app-only). Environment: RUNIKRAFT_CROSS (the cross gcc),
// RUNIKRAFT_SYSROOT, RUNIKRAFT_KERNEL, RUNIKRAFT_CFLAGS and
// RUNIKRAFT_LDFLAGS (extra flags, shell-quoted), RUNIKRAFT_APP_ONLY=1,
// RUNIKRAFT_VERBOSE=1 (print the commands run).
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/runikraft/runikraft/internal/toolchain"
)

const tool = "runikraft-cc"

func main() {
	os.Exit(run(os.Args[1:], toolchain.DefaultHost(), os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit status.
func run(args []string, host toolchain.Host, stdin io.Reader, stdout, stderr io.Writer) int {
	b := &toolchain.Builder{Tool: tool, Host: host, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	defer b.Close()
	return toolchain.ExitStatus(tool, drive(b, args), stderr)
}

func drive(b *toolchain.Builder, args []string) error {
	args, err := toolchain.ExpandResponseFiles(args)
	if err != nil {
		return err
	}
	opts, rest, err := toolchain.SplitLinkOptions(args, b.Host.Getenv("RUNIKRAFT_APP_ONLY"))
	if err != nil {
		return err
	}
	c, err := toolchain.Parse(rest)
	if err != nil {
		return err
	}
	if len(c.Queries) > 0 {
		return answer(b, c.Queries)
	}
	if c.CXX != "" {
		return fmt.Errorf("%s: C++ is not supported yet (the sysroot has no C++ runtime); %s compiles C and assembly", c.CXX, tool)
	}
	for _, n := range c.Notes {
		b.Notef("%s", n)
	}
	if c.UserSysroot != "" && filepath.Clean(c.UserSysroot) != b.Host.SysrootPath() {
		b.Notef("ignoring --sysroot=%s (the musl sysroot is %s; set RUNIKRAFT_SYSROOT to change it)", c.UserSysroot, b.Host.SysrootPath())
	}
	if len(c.Inputs()) == 0 && opts.Bake == "" {
		// gcc -v, or gcc's own "no input files": no sysroot needed.
		return b.RunGCC(userArgs(c))
	}
	if c.Mode != toolchain.ModeLink {
		p, err := b.Paths()
		if err != nil {
			return err
		}
		extra, err := b.ExtraFlags("RUNIKRAFT_CFLAGS")
		if err != nil {
			return err
		}
		return b.RunGCC(toolchain.PassThroughArgs(c, p, extra))
	}
	return b.Link(c, opts)
}

// userArgs are the arguments as given, minus the dropped ones.
func userArgs(c *toolchain.Command) []string {
	var out []string
	for _, a := range c.Args {
		if a.Class != toolchain.ClassDropped {
			out = append(out, a.Tokens...)
		}
	}
	return out
}

// binutils are the programs -print-prog-name answers with the cross
// binutils rather than gcc's lookup.
var binutils = map[string]bool{
	"ar": true, "ranlib": true, "nm": true, "objcopy": true, "objdump": true, "strip": true,
	"ld": true, "ld.bfd": true, "as": true, "readelf": true, "size": true, "strings": true,
	"addr2line": true, "c++filt": true, "elfedit": true, "gprof": true,
}

// answer prints what gcc would for each query (--version, -dumpmachine,
// -print-...), but describing the musl sysroot.
func answer(b *toolchain.Builder, queries []string) error {
	out := b.Stdout
	sysrootFile := func(name string) string {
		p := filepath.Join(b.Host.SysrootPath(), "lib", name)
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	for _, q := range queries {
		name, val, _ := strings.Cut(q, "=")
		switch name {
		case "--version":
			v, err := b.Query("--version")
			if err != nil {
				return err
			}
			fmt.Fprint(out, versionText(v, toolchain.Version()))
		case "-dumpmachine":
			fmt.Fprintln(out, toolchain.Triple)
		case "-print-multiarch":
			// Empty, as from a non-Debian gcc: the target is musl, not
			// Debian's riscv64-linux-gnu multiarch tree.
			fmt.Fprintln(out)
		case "-print-sysroot":
			fmt.Fprintln(out, b.Host.SysrootPath())
		case "-print-libgcc-file-name", "-print-file-name":
			file := val
			if name == "-print-libgcc-file-name" {
				file = "libgcc.a"
			}
			if p := sysrootFile(file); p != "" {
				fmt.Fprintln(out, p)
				continue
			}
			if err := b.RunGCC([]string{q}); err != nil {
				return err
			}
		case "-print-prog-name":
			if gcc, err := b.GCC(); err == nil && binutils[val] {
				if p := toolchain.CrossTool(gcc, val); isFile(p) {
					fmt.Fprintln(out, p)
					continue
				}
			}
			if err := b.RunGCC([]string{q}); err != nil {
				return err
			}
		case "-print-search-dirs":
			dirs, err := b.Query(q)
			if err != nil {
				return err
			}
			fmt.Fprint(out, searchDirs(dirs, filepath.Join(b.Host.SysrootPath(), "lib")))
		default:
			// -dumpversion, -dumpspecs, --help, -print-multi-*, ...
			if err := b.RunGCC([]string{q}); err != nil {
				return err
			}
		}
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// versionText rewrites the cross gcc's --version output: the first line
// names runikraft-cc and keeps gcc's version last, as configure scripts
// and CMake expect of GNU C; the rest (the FSF copyright some tools look
// for) stays.
func versionText(gccVersion, rkVersion string) string {
	first, rest, _ := strings.Cut(gccVersion, "\n")
	f := strings.Fields(first)
	ver := "unknown"
	if len(f) > 0 {
		ver = f[len(f)-1]
	}
	s := fmt.Sprintf("%s (Runikraft %s) %s\n", tool, rkVersion, ver)
	if rest != "" {
		s += rest + "\n"
	}
	return s
}

// searchDirs rewrites -print-search-dirs output so libraries come from the
// sysroot, as the link takes them.
func searchDirs(gccOut, sysrootLib string) string {
	var b strings.Builder
	install := ""
	for _, l := range strings.Split(gccOut, "\n") {
		if v, ok := strings.CutPrefix(l, "install: "); ok {
			install = v
		}
	}
	for _, l := range strings.Split(gccOut, "\n") {
		if strings.HasPrefix(l, "libraries: ") {
			l = "libraries: =" + sysrootLib + "/"
			if install != "" {
				l += ":" + install
			}
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// Command runikraft-ld links Runikraft unikernel applications: it takes a
// gcc driver's link arguments (objects, archives, -L, -l, -Wl,...,
// -Xlinker, -o, ...), links a static-pie program against the musl sysroot
// with the riscv64 cross gcc, checks it and bakes it with the stock kernel
// into one bootable image.
//
//	runikraft-ld -o app main.o util.o -lm           app boots on qemu-system-riscv64 -M virt
//	runikraft-ld --rootfs root --arg -v -o app ...  with a root filesystem and a default argument
//	runikraft-ld --app-only -o prog main.o          the static-pie program alone
//	runikraft-ld --bake prog -o app                 bake an already linked static program (e.g. Go)
//
// Environment: as runikraft-cc's (RUNIKRAFT_CROSS, RUNIKRAFT_SYSROOT,
// RUNIKRAFT_KERNEL, RUNIKRAFT_LDFLAGS, RUNIKRAFT_APP_ONLY, RUNIKRAFT_VERBOSE).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/runikraft/runikraft/internal/toolchain"
)

const tool = "runikraft-ld"

const usage = `usage: runikraft-ld [options] [-o OUT] FILES... [-L DIR] [-l LIB]...

Links a static-pie riscv64 program against the musl sysroot and bakes it
with the stock kernel into one bootable image (default output a.out).
Takes gcc driver link arguments (-Wl,..., -Xlinker, -s, -nostdlib, ...)
and its own:

  --rootfs DIR   pack DIR as the application's root filesystem
  --arg A        a default argument (repeatable)
  --env K=V      a default environment variable (repeatable)
  --kernel IMG   kernel image (default: runikraft-kernel.img next to runikraft-ld)
  --app-only     write the linked program without a kernel
  --bake APP     do not link: bake APP, an already linked static riscv64 program
`

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
	if len(args) == 1 {
		switch args[0] {
		case "-v", "-V", "--version":
			// libtool and configure ask "$LD -v" whether it is GNU ld.
			return version(b)
		case "--help", "-h":
			fmt.Fprint(b.Stdout, usage)
			return nil
		}
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
		return fmt.Errorf("%s is a compiler option: ask runikraft-cc", c.Queries[0])
	}
	if c.CXX != "" {
		return fmt.Errorf("%s: C++ is not supported yet (the sysroot has no C++ runtime)", c.CXX)
	}
	for _, n := range c.Notes {
		b.Notef("%s", n)
	}
	switch c.Mode {
	case toolchain.ModeLink:
	case toolchain.ModeRelocatable:
		// ld -r: merge objects; no application, nothing to bake.
		p, err := b.Paths()
		if err != nil {
			return err
		}
		return b.RunGCC(toolchain.PassThroughArgs(c, p, nil))
	default:
		return fmt.Errorf("%s stops before linking: compile with runikraft-cc", c.Mode)
	}
	if len(c.Inputs()) == 0 && opts.Bake == "" {
		return errors.New("no input files (see runikraft-ld --help)")
	}
	return b.Link(c, opts)
}

// version prints a GNU-ld-like version line naming the linker underneath.
func version(b *toolchain.Builder) error {
	gcc, err := b.GCC()
	if err != nil {
		return err
	}
	ld := toolchain.CrossTool(gcc, "ld")
	under := ld
	if v, err := toolchain.Output(ld, "-v"); err == nil {
		under, _, _ = strings.Cut(v, "\n")
	}
	fmt.Fprintf(b.Stdout, "%s (Runikraft %s) over %s\n", tool, toolchain.Version(), under)
	return nil
}

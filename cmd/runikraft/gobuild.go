package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/internal/toolchain"
)

// BuildTag is the build tag of Go programs built for Runikraft, as GOOS
// names an operating system: files can opt in or out with
// //go:build runikraft.
const BuildTag = "runikraft"

func goCommand() *cli.Command {
	return &cli.Command{
		Name:  "go",
		Usage: "build a Go program into a bootable application image",
		Subcommands: []*cli.Command{{
			Name:      "build",
			Usage:     "go build for Runikraft: a static linux/riscv64 build with the runikraft tag, baked with the stock kernel (the networking kernel for a program that uses sockets)",
			ArgsUsage: "[--rootfs DIR] [--arg A]... [--env K=V]... [--volume DIR]... [--kernel IMG] [go build flags] [PACKAGE]",
			Description: `Runs go build with GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 and the build
tag runikraft added to any -tags given, then bakes the program with the
stock kernel (the one with the TCP/IP stack when the program uses
sockets) into one ELF, written where go build would write the
program (-o or the package's name). The result boots with runikraft run
FILE or qemu-system-riscv64 -M virt -kernel FILE.

The image options are runikraft-ld's:
  --rootfs DIR   pack DIR as the application's root filesystem
  --arg A        a default argument (repeatable)
  --env K=V      a default environment variable (repeatable)
  --volume DIR   declare DIR a mount point for a host directory over 9p
                 (repeatable; mount tags vol0, vol1, ...)
  --kernel IMG   bake IMG instead of the stock kernel (also RUNIKRAFT_KERNEL)
Every other flag goes to go build. GOOS, GOARCH and CGO_ENABLED from
the environment are overridden (with a note): cgo is not supported, and
a program that needs it fails with a message naming the packages.

Example:
  runikraft go build --rootfs ./www --arg -listen=:80 -o server ./cmd/server
  runikraft run server

The same by hand: go build -tags runikraft, then runikraft-ld --bake
PROGRAM -o FILE.`,
			SkipFlagParsing: true,
			Action:          goBuild,
		}},
	}
}

// goBuildFlags are runikraft's own flags of runikraft go build, the
// image options runikraft-ld has; the rest goes to go build.
type goBuildFlags struct {
	out, kernel, rootfs string
	tags, args, env     []string
	volumes             []string
	pass                []string // go build's flags and packages
}

// parseGoBuild splits runikraft go build's command line. Flags take
// -flag value or -flag=value, with one dash or two, as go build's do.
func parseGoBuild(args []string) (*goBuildFlags, error) {
	f := &goBuildFlags{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			f.pass = append(f.pass, args[i:]...) // packages (and go build's own after them)
			break
		}
		if a == "--" {
			f.pass = append(f.pass, args[i+1:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		switch name {
		case "o", "tags", "kernel", "rootfs", "arg", "env", "volume":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag %s needs a value", a)
				}
				i++
				val = args[i]
			}
		default:
			f.pass = append(f.pass, a)
			continue
		}
		switch name {
		case "o":
			f.out = val
		case "tags":
			if val != "" {
				f.tags = append(f.tags, val)
			}
		case "kernel":
			f.kernel = val
		case "rootfs":
			f.rootfs = val
		case "arg":
			f.args = append(f.args, val)
		case "env":
			if k, _, ok := strings.Cut(val, "="); !ok || k == "" {
				return nil, fmt.Errorf("--env %q: want KEY=VALUE", val)
			}
			f.env = append(f.env, val)
		case "volume":
			var err error
			if f.volumes, err = toolchain.AddVolume(f.volumes, val); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// goEnvNotes says which of the caller's environment variables runikraft
// go build overrides, so a GOARCH=amd64 left in the shell is not a
// silent surprise.
func goEnvNotes() []string {
	var notes []string
	for _, kv := range [][2]string{{"GOOS", "linux"}, {"GOARCH", "riscv64"}} {
		if v, ok := os.LookupEnv(kv[0]); ok && v != "" && v != kv[1] {
			notes = append(notes, fmt.Sprintf("%s=%s from the environment is overridden: Runikraft images are %s", kv[0], v, "linux/riscv64"))
		}
	}
	if v := os.Getenv("CGO_ENABLED"); v == "1" {
		notes = append(notes, "CGO_ENABLED=1 from the environment is overridden: cgo is not supported, programs are built with CGO_ENABLED=0")
	}
	return notes
}

// cgoPackages lists the non-standard packages among pkgs and their
// dependencies that have cgo files (import "C"): with CGO_ENABLED=0
// they fail to build, and go build's message does not say why.
func cgoPackages(pkgs, tags []string) []string {
	args := append([]string{"list", "-e", "-deps", "-tags", strings.Join(tags, ","), "-f", "{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

func goBuild(c *cli.Context) error {
	f, err := parseGoBuild(c.Args().Slice())
	if err != nil {
		return fail(exitUsage, "go build: %v (see 'runikraft go build --help')", err)
	}
	for _, n := range goEnvNotes() {
		fmt.Fprintf(c.App.ErrWriter, "runikraft: note: %s\n", n)
	}
	if f.rootfs != "" {
		if fi, err := os.Stat(f.rootfs); err != nil || !fi.IsDir() {
			return fail(exitUsage, "go build: --rootfs %s: not a directory; give the directory to pack as the root filesystem", f.rootfs)
		}
	}
	kernel, err := stockKernel(f.kernel)
	if err != nil {
		return fail(exitUsage, "go build: %v", err)
	}
	tmp, err := os.MkdirTemp("", "runikraft-go-")
	if err != nil {
		return fail(1, "go build: %v", err)
	}
	defer os.RemoveAll(tmp)
	tags := append([]string{BuildTag}, f.tags...)
	// -o DIR/ makes go build pick the program's name as it would for the
	// current directory; that is the default output name too.
	gargs := append([]string{"build", "-o", tmp + string(filepath.Separator), "-tags", strings.Join(tags, ",")}, f.pass...)
	cmd := exec.Command("go", gargs...)
	cmd.Env = kbuild.Env()
	cmd.Stdout, cmd.Stderr = c.App.ErrWriter, c.App.ErrWriter
	if err := cmd.Run(); err != nil {
		var pkgs []string
		for _, a := range f.pass {
			if !strings.HasPrefix(a, "-") {
				pkgs = append(pkgs, a)
			}
		}
		if cg := cgoPackages(pkgs, tags); len(cg) > 0 {
			verb := "uses"
			if len(cg) > 1 {
				verb = "use"
			}
			return fail(1, "go build failed: %s %s cgo (import \"C\"), which Runikraft does not support: applications are built with CGO_ENABLED=0; use a pure-Go replacement or a build tag that avoids cgo", strings.Join(cg, ", "), verb)
		}
		return fail(1, "go build failed: %v", rootCause(err))
	}
	built, err := os.ReadDir(tmp)
	if err != nil || len(built) != 1 {
		return fail(1, "go build produced %d programs; build one main package at a time", len(built))
	}
	out := f.out
	if out == "" {
		out = built[0].Name()
	} else if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		out = filepath.Join(out, built[0].Name())
	}
	app := filepath.Join(tmp, built[0].Name())
	kname := "the stock kernel"
	if f.kernel == "" && os.Getenv("RUNIKRAFT_KERNEL") == "" {
		// As runikraft-cc and runikraft-ld bake: a program that uses
		// sockets gets the kernel with the TCP/IP stack (the stock one
		// answers socket() with EAFNOSUPPORT).
		if uses, err := toolchain.UsesSockets(app); err == nil && uses {
			if k, err := toolchain.DefaultHost().NetKernel(); err == nil {
				kernel, kname = k, "the networking kernel"
			}
		}
	}
	m, err := appimage.Write(appimage.Options{
		Kernel: kernel, App: app, Name: filepath.Base(out),
		Rootfs: f.rootfs, Args: f.args, Env: f.env, Volumes: f.volumes,
	}, out)
	if err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "runikraft: %s: %s (%s) baked with %s\n", out, m.App, m.AppKind, kname)
	return nil
}

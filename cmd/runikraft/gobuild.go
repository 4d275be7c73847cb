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
			Usage:     "go build for Runikraft: a static linux/riscv64 build with the runikraft tag, baked with the stock kernel",
			ArgsUsage: "[go build flags] [PACKAGE]",
			Description: `Runs go build with GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 and the build
tag runikraft added to any -tags given, then bakes the program with the
stock kernel into one ELF, written where go build would write the
program (-o or the package's name). The result boots with runikraft run
FILE or qemu-system-riscv64 -M virt -kernel FILE. RUNIKRAFT_KERNEL picks
another kernel. The same by hand: go build -tags runikraft, then
runikraft-ld --bake PROGRAM -o FILE.`,
			SkipFlagParsing: true,
			Action:          goBuild,
		}},
	}
}

func goBuild(c *cli.Context) error {
	args := c.Args().Slice()
	var out string
	var tags []string
	var pass []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") {
			pass = append(pass, args[i:]...)
			break
		}
		switch name {
		case "o", "tags":
			if !hasVal {
				if i+1 >= len(args) {
					return fail(exitUsage, "go build: flag %s needs a value", a)
				}
				i++
				val = args[i]
			}
			if name == "o" {
				out = val
			} else if val != "" {
				tags = append(tags, val)
			}
		default:
			pass = append(pass, a)
		}
	}
	kernel, err := stockKernel("")
	if err != nil {
		return fail(exitUsage, "go build: %v", err)
	}
	tmp, err := os.MkdirTemp("", "runikraft-go-")
	if err != nil {
		return fail(1, "go build: %v", err)
	}
	defer os.RemoveAll(tmp)
	// -o DIR/ makes go build pick the program's name as it would for the
	// current directory; that is the default output name too.
	gargs := append([]string{"build", "-o", tmp + string(filepath.Separator), "-tags", strings.Join(append([]string{BuildTag}, tags...), ",")}, pass...)
	cmd := exec.Command("go", gargs...)
	cmd.Env = kbuild.Env()
	cmd.Stdout, cmd.Stderr = c.App.ErrWriter, c.App.ErrWriter
	if err := cmd.Run(); err != nil {
		return fail(1, "go build failed: %v", rootCause(err))
	}
	built, err := os.ReadDir(tmp)
	if err != nil || len(built) != 1 {
		return fail(1, "go build produced %d programs; build one main package at a time", len(built))
	}
	if out == "" {
		out = built[0].Name()
	} else if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		out = filepath.Join(out, built[0].Name())
	}
	m, err := appimage.Write(appimage.Options{Kernel: kernel, App: filepath.Join(tmp, built[0].Name()), Name: filepath.Base(out)}, out)
	if err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "runikraft: %s: %s (%s) baked with the stock kernel\n", out, m.App, m.AppKind)
	return nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/appbuild"
	"github.com/runikraft/runikraft/internal/appimage"
)

// appImages are what tests/toolchain builds from Debian's source archive
// with runikraft-cc, by the names it keeps them under.
var appImages = []string{"hello", "lua", "cjson-parse_examples", "sqlite3"}

// benchApps builds the third-party applications through tests/toolchain
// (the one place that knows how), then prints each image's sizes and how
// long GNU hello takes to greet next to the bare payload printing.
func benchApps(ctx context.Context, dir, bare string, runs int) error {
	keep := filepath.Join(dir, "apps")
	fmt.Fprintln(os.Stderr, "bench: building GNU hello, Lua, cJSON and SQLite through tests/toolchain (a few minutes)")
	if err := appbuild.Build(ctx, keep, "^(TestGNUHello|TestLua|TestCJSON|TestSQLite)$", "the apps", 40*time.Minute); err != nil {
		return err
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "application image\tfile bytes\tloaded bytes\tkernel\tapplication ELF\n")
	for _, name := range appImages {
		path := filepath.Join(keep, name)
		info, err := appimage.Read(path)
		if err != nil {
			return err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", name, fi.Size(), info.ImageEnd-info.LoadStart, info.KernelEnd-info.LoadStart, info.Manifest.AppSize)
	}
	w.Flush()
	fmt.Println()

	// Interleaved, as for the kernel: first output is the greeting.
	var bFirst, hFirst []time.Duration
	for i := 0; i < runs; i++ {
		b, err := qemu(ctx, bare, "128M", "ok\n")
		if err != nil {
			return err
		}
		h, err := qemu(ctx, filepath.Join(keep, "hello"), "128M", "Hello, world!")
		if err != nil {
			return err
		}
		if h.code != 0 || h.first == 0 {
			return fmt.Errorf("hello: exit %d, greeting seen: %v", h.code, h.first != 0)
		}
		bFirst, hFirst = append(bFirst, b.first), append(hFirst, h.first)
	}
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "measure\tbare OpenSBI payload\tGNU hello image\tratio\n")
	b, h := median(bFirst), median(hFirst)
	fmt.Fprintf(w, "first output (median of %d)\t%v\t%v\t%.2fx\n", runs, b.Round(time.Millisecond), h.Round(time.Millisecond), float64(h)/float64(b))
	w.Flush()
	fmt.Println()
	return nil
}

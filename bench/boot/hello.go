package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// helloC is the smallest useful application: it greets and exits 0.
const helloC = "#include <stdio.h>\nint main(void) { puts(\"Hello, world!\"); return 0; }\n"

// benchHello builds a C hello with runikraft-cc and times it from start
// to exit three ways, interleaved in one run: the bare payload (the
// floor), `runikraft run hello`, and the same image on plain
// `qemu-system-riscv64 -M virt -kernel hello`. The first includes the
// host tool's own start-up, which it also reports alone (runikraft run
// --dry-run: everything up to the point where it would start QEMU).
func benchHello(ctx context.Context, dir, bare string, runs int) error {
	tool, err := toolPath("runikraft")
	if err != nil {
		return err
	}
	cc, err := toolPath("runikraft-cc")
	if err != nil {
		return err
	}
	src := filepath.Join(dir, "hello.c")
	img := filepath.Join(dir, "hello")
	if err := os.WriteFile(src, []byte(helloC), 0o644); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, cc, "-O2", "-o", img, src).CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft-cc hello.c: %v\n%s", err, out)
	}
	fi, err := os.Stat(img)
	if err != nil {
		return err
	}
	loaded, err := loadedSize(img)
	if err != nil {
		return err
	}

	var bExit, rExit, qExit, dry []time.Duration
	for i := 0; i < runs; i++ {
		b, err := qemu(ctx, bare, "128M", "ok\n")
		if err != nil {
			return err
		}
		r, err := timed(ctx, "Hello, world!", tool, "run", img)
		if err != nil {
			return err
		}
		q, err := qemu(ctx, img, "128M", "Hello, world!")
		if err != nil {
			return err
		}
		if q.code != 0 {
			return fmt.Errorf("hello on plain QEMU exited %d", q.code)
		}
		d, err := timed(ctx, "qemu-system-riscv64", tool, "run", "--dry-run", img)
		if err != nil {
			return err
		}
		bExit, rExit, qExit, dry = append(bExit, b.exit), append(rExit, r), append(qExit, q.exit), append(dry, d)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "C hello (%d file bytes, %d loaded), start to exit, median of %d\ttime\tratio to the bare payload\n", fi.Size(), loaded, runs)
	b := median(bExit)
	fmt.Fprintf(w, "bare OpenSBI payload (floor)\t%v\t1.00x\n", b.Round(time.Millisecond))
	for _, r := range []struct {
		name string
		d    time.Duration
	}{
		{"runikraft run hello", median(rExit)},
		{"qemu-system-riscv64 -M virt -kernel hello", median(qExit)},
		{"  of which runikraft's own start-up (run --dry-run)", median(dry)},
	} {
		fmt.Fprintf(w, "%s\t%v\t%.2fx\n", r.name, r.d.Round(time.Millisecond), float64(r.d)/float64(b))
	}
	w.Flush()
	fmt.Println()
	return nil
}

// timed runs a command to its exit and returns how long it took; its
// output must contain want.
func timed(ctx context.Context, want, name string, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return d, err
	}
	if err != nil || !strings.Contains(string(out), want) {
		return d, fmt.Errorf("%s %s: %v, output %q", name, strings.Join(args, " "), err, out)
	}
	return d, nil
}

// toolPath finds one of runikraft's tools: bin/ of this checkout first
// (what was just built), then PATH.
func toolPath(name string) (string, error) {
	if p, err := filepath.Abs(filepath.Join("bin", name)); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: build the tools first (see install.sh): %w", name, err)
	}
	return p, nil
}

// Package appbuild builds third-party application images for the
// benchmarks through tests/toolchain, the one place that knows how to
// build them from Debian's source archive, and keeps them in a directory.
package appbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Build runs the tests/toolchain tests named by the regexp run (from the
// repository's root) with RUNIKRAFT_KEEP_IMAGES=keep, so the images they
// build stay in keep under their names; what names the step in errors.
func Build(ctx context.Context, keep, run, what string, timeout time.Duration) error {
	if err := os.MkdirAll(keep, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout", timeout.String(), "-run", run, "./tests/toolchain/")
	cmd.Env = append(os.Environ(), "RUNIKRAFT_KEEP_IMAGES="+keep)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s through tests/toolchain: %v\n%s", what, err, out)
	}
	return nil
}

// Runikraft is the runikraft command to run: the one in PATH, else the
// repository's bin/ (a benchmark runs from the repository's root).
func Runikraft() (string, error) {
	if p, err := exec.LookPath("runikraft"); err == nil {
		return p, nil
	}
	p := filepath.Join("bin", "runikraft")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("no runikraft in PATH or bin/: run ./install.sh")
	}
	return p, nil
}

// GoProgram builds the Go package pkg (a path from the repository's
// root) as a static linux/riscv64 program at out, the form the same
// file runs in both guests.
func GoProgram(out, pkg string) error {
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

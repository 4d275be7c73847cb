// Package floor is the benchmarks' lower bound for a boot: QEMU virt
// starting, OpenSBI, and a bare payload (internal/payload) that prints one
// line and powers off. Boot times are reported as ratios to it because
// the machines are shared and noisy.
package floor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/runikraft/runikraft/internal/payload"
)

// Write puts the payload in dir and returns its path.
func Write(dir string) (string, error) {
	p := filepath.Join(dir, "floor.elf")
	if err := os.WriteFile(p, payload.PrintAndExit("ok\n", 0), 0o644); err != nil {
		return "", fmt.Errorf("floor: %w", err)
	}
	return p, nil
}

// Time boots the payload at img with mem of RAM and returns QEMU's start
// to its exit.
func Time(ctx context.Context, img, mem string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", "-M", "virt", "-m", mem, "-nographic", "-bios", "default", "-kernel", img)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil || !bytes.Contains(out.Bytes(), []byte("ok\n")) {
		return 0, fmt.Errorf("floor: the bare payload did not print and power off (%v):\n%s", err, out.Bytes())
	}
	return wall, nil
}

// Median of ds (the upper one of an even count); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

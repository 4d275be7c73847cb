package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/runikraft/runikraft/internal/qemu"
)

// TestCheckFitPlainProgram: a program alone is counted once (the kernel
// loads it from its own pages and gives the rest back), a root
// filesystem's archive of the same size twice, and the -m checkFit asks
// for is one QEMU can place.
func TestCheckFitPlainProgram(t *testing.T) {
	kernel, app := needStock(t)
	b, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "rootfs.cpio")
	if err := os.WriteFile(archive, append([]byte("070701"), b[6:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	asked := regexp.MustCompile(`it needs -m (\d+)M or more$`)
	smallest := func(initrd string) uint64 {
		t.Helper()
		cfg := qemu.Config{Kernel: kernel, Initrd: initrd, MemoryMiB: qemu.MinMemoryMiB, AppConsole: true}
		err := checkFit(cfg, initrd)
		if err == nil {
			t.Fatalf("%s fits in %d MiB", initrd, cfg.MemoryMiB)
		}
		m := asked.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("checkFit: %v; want the -m it needs", err)
		}
		need, _ := strconv.ParseUint(m[1], 10, 64)
		cfg.MemoryMiB = need
		if err := checkFit(cfg, initrd); err != nil {
			t.Fatalf("at the -m it asked for (%d): %v", need, err)
		}
		l, err := qemu.ReadLayout(kernel, initrd)
		if err != nil || !l.Fits(need) {
			t.Fatalf("asked for %d MiB, where QEMU cannot place the image (%v)", need, err)
		}
		return need
	}
	prog, arch := smallest(app), smallest(archive)
	t.Logf("a %d-byte program: -m %d; an archive of its size: -m %d", len(b), prog, arch)
	if prog >= arch {
		t.Errorf("a %d-byte program needs -m %d, an archive of its size %d: want less for the program", len(b), prog, arch)
	}
}

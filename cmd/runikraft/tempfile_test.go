package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A runikraft run --rootfs killed outright (SIGKILL: no chance to clean
// up) leaves its archive only until the next run, which removes it.
func TestKilledRunLeavesNoArchive(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	kernel := image(t, spin())
	marker := filepath.Join(tmp, "qemu-started")
	fakeQEMU(t, "touch "+marker+"; sleep 5\n")
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := cliCommand("run", "--kernel", kernel, "--rootfs", root, appImage(t))
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	archives := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "runikraft-*.cpio"))
		return m
	}
	if len(archives()) == 0 {
		t.Fatal("no archive while running: the test sees nothing")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(archives()) == 0 {
		t.Fatal("archive gone already: the test cannot tell the sweep works")
	}
	fakeQEMU(t, "exit 0\n")
	if code, _, errs := runCLI(t, "run", "--kernel", kernel, appImage(t)); code != 0 {
		t.Fatalf("next run: exit %d, %s", code, errs)
	}
	if left := archives(); len(left) != 0 {
		t.Errorf("left behind: %s", strings.Join(left, " "))
	}
}

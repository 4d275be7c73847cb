package qemucpu

import (
	"os"
	"os/exec"
	"testing"
)

func TestParseStat(t *testing.T) {
	name, ticks, err := parseStat("123 (CPU 0/TCG) S 1 2 3 4 5 6 7 8 9 10 250 17 0 0")
	if err != nil || name != "CPU 0/TCG" || ticks != 267 {
		t.Fatalf("parseStat: %q %d %v", name, ticks, err)
	}
	if _, _, err := parseStat("123 (x) S 1"); err == nil {
		t.Error("a short line parsed")
	}
}

// This process's own threads: the main thread is counted as Main.
func TestReadSelf(t *testing.T) {
	for i := 0; i < 2e7; i++ { // some CPU time to count
		_ = i * i
	}
	if _, err := Read(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

// A child started from any thread is found; one that is not QEMU is not.
func TestChildQEMU(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if pid, err := ChildQEMU(os.Getpid()); err == nil {
		t.Errorf("sleep taken for QEMU: %d", pid)
	}
}

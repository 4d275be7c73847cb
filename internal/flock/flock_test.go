package flock

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A second Lock waits until the first holder unlocks.
func TestLockExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := Lock(p)
		if err != nil {
			t.Error(err)
		} else {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("second Lock did not wait for the first")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock still waiting after unlock")
	}
	if _, err := Lock(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("Lock in a missing directory succeeded")
	}
}

// LockDir makes the directory it locks.
func TestLockDirMakesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	unlock, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, ".lock")); err != nil {
		t.Errorf("no lock file: %v", err)
	}
}

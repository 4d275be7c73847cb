// Package flock serialises work on a shared directory (a cache, a store)
// between processes with an exclusive lock on a file in it.
package flock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock creates path if needed and takes an exclusive lock on it, waiting
// for any other holder; unlock releases it (closing the file drops the
// lock, also when the process dies).
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// LockDir makes dir if needed and locks it for this process (through
// its .lock file), for a cache that one process at a time fills.
func LockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return Lock(filepath.Join(dir, ".lock"))
}

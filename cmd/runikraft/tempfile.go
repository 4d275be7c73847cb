package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Temporary files of a run (the --rootfs archives) must
// not outlive it. Their names carry the pid of the runikraft that made
// them: a signal that ends the run while it prepares them removes them
// (catchSignals), and files of a runikraft that was killed outright
// (SIGKILL) are removed by the next run (sweepStale).

const tempPrefix = "runikraft-"

var (
	tempMu    sync.Mutex
	tempFiles []string
)

// createTemp is os.CreateTemp in the temporary directory, named
// runikraft-<kind>-<pid>-*.cpio and registered for removal.
func createTemp(kind string) (*os.File, error) {
	f, err := os.CreateTemp("", fmt.Sprintf("%s%s-%d-*.cpio", tempPrefix, kind, os.Getpid()))
	if err != nil {
		return nil, err
	}
	tempMu.Lock()
	tempFiles = append(tempFiles, f.Name())
	tempMu.Unlock()
	return f, nil
}

func removeTemps() {
	tempMu.Lock()
	defer tempMu.Unlock()
	for _, p := range tempFiles {
		os.Remove(p)
	}
	tempFiles = nil
}

// catchSignals removes the temporary files and exits 128+N if SIGINT,
// SIGTERM or SIGHUP arrives before the returned stop is called (once
// QEMU runs, qemu.Run forwards those signals and the run ends normally).
func catchSignals() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			removeTemps()
			os.Exit(128 + int(s.(syscall.Signal)))
		case <-done:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
		})
	}
}

// sweepStale removes the temporary archives of runikraft processes that
// no longer exist.
func sweepStale() {
	names, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*-*-*.cpio"))
	for _, name := range names {
		parts := strings.Split(filepath.Base(name), "-")
		if len(parts) < 4 {
			continue
		}
		pid, err := strconv.Atoi(parts[2])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.Remove(name)
		}
	}
}

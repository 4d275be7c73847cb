package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// QEMU's system calls over the measured window, by thread, from perf
// trace -s. Under TCG each wake-up of the main loop is a return of its
// ppoll, and what wakes it from the vCPU thread is a write to an event
// notifier (a bottom half scheduled, such as a transmit kick, or a QEMU
// timer moved earlier): counting them per request shows how much of the
// main loop's work a guest causes, independently of the host's load.

type syscallTrace struct {
	cmd *exec.Cmd
	out string
}

// threadSyscalls is one thread's summary: its name and calls by system call.
type threadSyscalls struct {
	name  string
	calls map[string]uint64
}

func startSyscallTrace(dir string, pid int) (*syscallTrace, error) {
	out := filepath.Join(dir, "perf-trace.txt")
	cmd := exec.Command("perf", "trace", "-s", "-p", strconv.Itoa(pid), "-o", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf trace: %w", err)
	}
	// perf attaches to every thread before it counts; give it a moment
	// so that the window's first calls are not lost.
	time.Sleep(500 * time.Millisecond)
	return &syscallTrace{cmd: cmd, out: out}, nil
}

// stop ends the trace (perf prints its summary on SIGINT) and parses it.
func (t *syscallTrace) stop() ([]threadSyscalls, error) {
	_ = t.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- t.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = t.cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("perf trace did not stop")
	}
	f, err := os.Open(t.out)
	if err != nil {
		return nil, fmt.Errorf("perf trace's summary: %w", err)
	}
	defer f.Close()
	return parseTraceSummary(f)
}

// parseTraceSummary reads perf trace -s's summary: a line "NAME (TID),
// N events, P%" per thread, then a table whose rows start with a system
// call's name and its count.
func parseTraceSummary(r io.Reader) ([]threadSyscalls, error) {
	var threads []threadSyscalls
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, "%") && strings.Contains(line, " events, ") {
			name := line
			if i := strings.LastIndex(line, " ("); i >= 0 {
				name = line[:i]
			}
			threads = append(threads, threadSyscalls{name: name, calls: map[string]uint64{}})
			continue
		}
		f := strings.Fields(line)
		if len(threads) == 0 || len(f) < 3 || f[0] == "syscall" || strings.HasPrefix(f[0], "-") {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		threads[len(threads)-1].calls[f[0]] += n
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(threads) == 0 {
		return nil, fmt.Errorf("perf trace's summary names no thread")
	}
	return threads, nil
}

// printSyscalls prints each thread's calls per request (of n), busiest
// first, leaving out calls rarer than one in 100 requests.
func printSyscalls(w io.Writer, threads []threadSyscalls, n float64) {
	fmt.Fprintln(w, "QEMU's system calls per request, by thread (perf trace -s):")
	for _, t := range threads {
		type kv struct {
			name string
			n    uint64
		}
		var all []kv
		for k, v := range t.calls {
			if float64(v)/n >= 0.01 {
				all = append(all, kv{k, v})
			}
		}
		if len(all) == 0 {
			continue
		}
		sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].name < all[j].name })
		fmt.Fprintf(w, "  %s:", t.name)
		for _, c := range all {
			fmt.Fprintf(w, " %s %.2f", c.name, float64(c.n)/n)
		}
		fmt.Fprintln(w)
	}
}

// Command fuzz runs a longer campaign of the seeded system-call fuzzer
// (tests/fuzz/testdata/sysfuzz.c) than CI does, and prints a table:
//
//	go run ./bench/fuzz [-seeds 50] [-first 1000] [-calls 20000] [-timeout 3m]
//
// Each seed boots the stock kernel once with runikraft run. A kernel
// failure (exit 70 or 71), a hang (the timeout) or a panic message on
// the kernel log is a finding: the row says so with the last call, and
// the command exits 1. It needs bin/runikraft, bin/runikraft-kernel.img
// (./install.sh) and the riscv64 cross gcc.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	seeds := flag.Int("seeds", 50, "number of seeds")
	first := flag.Int("first", 1000, "first seed")
	calls := flag.Int("calls", 20000, "calls per seed")
	timeout := flag.Duration("timeout", 3*time.Minute, "runikraft run --timeout per seed")
	flag.Parse()
	found, err := campaign(*seeds, *first, *calls, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/fuzz:", err)
		os.Exit(2)
	}
	if found > 0 {
		os.Exit(1)
	}
}

func campaign(seeds, first, calls int, timeout time.Duration) (int, error) {
	cli, err := filepath.Abs(filepath.Join("bin", "runikraft"))
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(cli); err != nil {
		return 0, fmt.Errorf("%s: %w (run ./install.sh)", cli, err)
	}
	dir, err := os.MkdirTemp("", "runikraft-fuzz-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	prog := filepath.Join(dir, "sysfuzz")
	if out, err := exec.Command("riscv64-linux-gnu-gcc", "-O2", "-static", "-o", prog, filepath.Join("tests", "fuzz", "testdata", "sysfuzz.c")).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build sysfuzz: %v\n%s", err, out)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "seed\tcalls\texit\ttime\tverdict\tlast call")
	found, total := 0, 0
	start := time.Now()
	for seed := first; seed < first+seeds; seed++ {
		t0 := time.Now()
		cmd := exec.Command(cli, "run", "--timeout", timeout.String(), prog, strconv.Itoa(seed), strconv.Itoa(calls))
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			return found, err
		}
		stdout, log := out.String(), errb.String()
		made, last := progress(stdout)
		verdict := "ok"
		switch {
		case code == 70 || code == 71:
			verdict = fmt.Sprintf("KERNEL FAILURE (exit %d)", code)
		case code == 124:
			verdict = "HANG"
		case strings.Contains(log, "kernel bug") || strings.Contains(log, "panic:") || strings.Contains(log, "fatal error:"):
			verdict = "PANIC MESSAGE"
		case !strings.Contains(stdout, "FZ done"):
			verdict = "app died of its own calls"
		default:
			last = ""
		}
		if strings.HasPrefix(verdict, "KERNEL") || verdict == "HANG" || verdict == "PANIC MESSAGE" {
			found++
		}
		total += made
		fmt.Fprintf(w, "%d\t%d\t%d\t%v\t%s\t%s\n", seed, made, code, time.Since(t0).Round(time.Millisecond), verdict, last)
		w.Flush()
	}
	fmt.Fprintf(w, "total\t%d\t\t%v\t%d finding(s)\t\n", total, time.Since(start).Round(time.Second), found)
	return found, w.Flush()
}

// progress returns how many calls a run made and its last call line.
func progress(out string) (int, string) {
	last, n := "", 0
	for _, l := range strings.Split(out, "\n") {
		i := strings.Index(l, "FZ ")
		if i < 0 {
			continue
		}
		l = l[i:]
		f := strings.Fields(l)
		if len(f) >= 3 && f[1] == "done" {
			n, _ = strconv.Atoi(f[2])
			continue
		}
		if len(f) >= 2 {
			if v, err := strconv.Atoi(f[1]); err == nil {
				n, last = v, l
			}
		}
	}
	return n, last
}

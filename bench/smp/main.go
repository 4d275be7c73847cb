// Command smp measures how CPU-bound parallel programs speed up with
// more harts: 4 goroutines hashing (Go) and 4 pthreads doing integer
// work (C), each at 1, 2 and 4 harts, plus the same programs with one
// goroutine or thread, which must be no slower with more harts. Times
// are measured inside the guest (boot excluded); the best of -reps runs
// is kept.
//
//	go run ./bench/smp [-reps 3] [-harts 1,2,4] [-go-mib 8] [-c-mrounds 200]
//
// It needs bin/runikraft and bin/runikraft-kernel.img (./install.sh)
// and Debian's riscv64 cross gcc. The Linux column is filled by a Linux
// guest runner when one is registered (see linuxGuest); until then it
// reads "-".
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// linuxGuest, when set, runs program with args on a Linux guest with the
// given number of vCPUs on the same QEMU and returns the program's
// "elapsed_ms" value. It is the hook for the Linux baseline (issue #15's
// Linux guest); nil leaves the Linux column empty.
var linuxGuest func(harts int, program string, args ...string) (ms float64, err error)

type workload struct {
	name    string
	program string
	args    []string
}

func main() {
	reps := flag.Int("reps", 3, "runs per cell (the fastest is kept)")
	hartList := flag.String("harts", "1,2,4", "hart counts")
	goMiB := flag.Int("go-mib", 8, "MiB each goroutine hashes")
	cRounds := flag.Int("c-mrounds", 200, "million rounds each C thread runs")
	flag.Parse()
	if err := run(*reps, *hartList, *goMiB, *cRounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(reps int, hartList string, goMiB, cRounds int) error {
	var harts []int
	for _, f := range strings.Split(hartList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 8 {
			return fmt.Errorf("-harts: %q is not a count from 1 to 8", f)
		}
		harts = append(harts, n)
	}
	if reps < 1 || reps > 20 {
		return errors.New("-reps: 1 to 20")
	}
	runikraft, err := exec.LookPath("runikraft")
	if err != nil {
		runikraft = filepath.Join("bin", "runikraft")
		if _, err := os.Stat(runikraft); err != nil {
			return errors.New("no runikraft in PATH or bin/: run ./install.sh")
		}
	}
	dir, err := os.MkdirTemp("", "runikraft-bench-smp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gohash, spin := filepath.Join(dir, "gohash"), filepath.Join(dir, "spin")
	build := exec.Command("go", "build", "-o", gohash, "./bench/smp/gohash")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build gohash: %v\n%s", err, out)
	}
	if out, err := exec.Command("riscv64-linux-gnu-gcc", "-O2", "-static", "-pthread", "-o", spin, "bench/smp/csrc/spin.c").CombinedOutput(); err != nil {
		return fmt.Errorf("build spin.c: %v\n%s", err, out)
	}
	g, c := strconv.Itoa(goMiB), strconv.Itoa(cRounds)
	loads := []workload{
		{"Go, 4 goroutines hashing", gohash, []string{"4", g}},
		{"C, 4 pthreads", spin, []string{"4", c}},
		{"Go, 1 goroutine", gohash, []string{"1", g}},
		{"C, 1 thread", spin, []string{"1", c}},
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workload\tharts\tms (best)\tspeed-up vs 1 hart\tLinux ms\tLinux speed-up\t")
	for _, l := range loads {
		var base, linuxBase float64
		for _, n := range harts {
			ms, err := best(reps, func() (float64, error) { return guest(runikraft, n, l.program, l.args...) })
			if err != nil {
				return fmt.Errorf("%s on %d harts: %w", l.name, n, err)
			}
			if base == 0 {
				base = ms
			}
			lms, lsp := "-", "-"
			if linuxGuest != nil {
				v, err := best(reps, func() (float64, error) { return linuxGuest(n, l.program, l.args...) })
				if err != nil {
					return fmt.Errorf("%s on Linux with %d harts: %w", l.name, n, err)
				}
				if linuxBase == 0 {
					linuxBase = v
				}
				lms, lsp = fmt.Sprintf("%.0f", v), fmt.Sprintf("%.2fx", linuxBase/v)
			}
			fmt.Fprintf(w, "%s\t%d\t%.0f\t%.2fx\t%s\t%s\t\n", l.name, n, ms, base/ms, lms, lsp)
		}
	}
	w.Flush()
	fmt.Printf("(host: %d CPUs for QEMU's one thread per hart; best of %d runs; guest-measured, boot excluded)\n", numCPU(), reps)
	return nil
}

func best(reps int, f func() (float64, error)) (float64, error) {
	b := 0.0
	for i := 0; i < reps; i++ {
		v, err := f()
		if err != nil {
			return 0, err
		}
		if b == 0 || v < b {
			b = v
		}
	}
	return b, nil
}

// guest runs program on Runikraft with n harts and returns its
// elapsed_ms.
func guest(runikraft string, n int, program string, args ...string) (float64, error) {
	argv := append([]string{"run", "--cpus", strconv.Itoa(n), "--timeout", "5m", program}, args...)
	out, err := exec.Command(runikraft, argv...).Output()
	if err != nil {
		return 0, fmt.Errorf("runikraft %s: %w (output %q)", strings.Join(argv, " "), err, out)
	}
	return elapsed(string(out))
}

func elapsed(out string) (float64, error) {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "elapsed_ms "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no elapsed_ms line in %q", out)
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

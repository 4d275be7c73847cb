// Command smp measures how CPU-bound parallel programs speed up with
// more harts: 4 goroutines hashing (Go) and 4 pthreads doing integer
// work (C), each at 1, 2 and 4 harts, plus the same programs with one
// goroutine (hashing as much as the four) or thread, which must be no
// slower with more harts. Times
// are measured inside the guest (boot excluded); the best of -reps runs
// is kept. Next to each it prints the same static binary's time and
// speed-up in the Linux guest (bench/internal/linuxguest) with the same
// number of vCPUs on the same QEMU, runs interleaved with Runikraft's so
// both see the same load on the (shared) host.
//
//	go run ./bench/smp [-reps 3] [-harts 1,2,4] [-go-mib 8] [-c-mrounds 200] [-linux=false] [-workloads go4,c4,go1,c1]
//
// It needs bin/runikraft and bin/runikraft-kernel.img (./install.sh)
// and Debian's riscv64 cross gcc; the first run with -linux builds the
// Linux guest (about 10-15 minutes, cached).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/appbuild"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
)

// linuxGuest, when set, runs program with args on a Linux guest with the
// given number of vCPUs on the same QEMU and returns the program's
// "elapsed_ms" value; nil (-linux=false) leaves the Linux column empty.
var linuxGuest func(harts int, program string, args ...string) (ms float64, err error)

// useLinuxGuest points linuxGuest at the Linux guest, building it first
// if the cache has none.
func useLinuxGuest(ctx context.Context) error {
	g, err := linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	linuxGuest = func(harts int, program string, args ...string) (float64, error) {
		res, err := g.Run(ctx, program, args, nil, linuxguest.RunOptions{CPUs: harts, Timeout: 5 * time.Minute})
		if err != nil {
			return 0, err
		}
		if res.Status != 0 {
			return 0, fmt.Errorf("%s exited %d in the Linux guest:\n%s", filepath.Base(program), res.Status, res.Output)
		}
		return elapsed(string(res.Output))
	}
	return nil
}

type workload struct {
	key     string // -workloads name
	name    string
	program string
	args    []string
}

func main() {
	reps := flag.Int("reps", 3, "runs per cell (the fastest is kept)")
	hartList := flag.String("harts", "1,2,4", "hart counts")
	goMiB := flag.Int("go-mib", 8, "MiB each goroutine hashes")
	cRounds := flag.Int("c-mrounds", 200, "million rounds each C thread runs")
	linux := flag.Bool("linux", true, "add the Linux guest's columns (builds the guest once, about 10-15 minutes)")
	only := flag.String("workloads", "go4,c4,go1,c1", "rows to run: go4 (4 goroutines), c4 (4 pthreads), go1, c1 (one of each)")
	flag.Parse()
	if *linux {
		if err := useLinuxGuest(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if err := run(*reps, *hartList, *goMiB, *cRounds, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(reps int, hartList string, goMiB, cRounds int, only string) error {
	var harts []int
	for _, f := range strings.Split(hartList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 32 { // the kernel uses up to 32 harts (fdt.MaxHarts)
			return fmt.Errorf("-harts: %q is not a count from 1 to 32", f)
		}
		harts = append(harts, n)
	}
	if reps < 1 || reps > 20 {
		return errors.New("-reps: 1 to 20")
	}
	runikraft, err := appbuild.Runikraft()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "runikraft-bench-smp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gohash, spin := filepath.Join(dir, "gohash"), filepath.Join(dir, "spin")
	if err := appbuild.GoProgram(gohash, "./bench/smp/gohash"); err != nil {
		return err
	}
	if out, err := exec.Command("riscv64-linux-gnu-gcc", "-O2", "-static", "-pthread", "-o", spin, "bench/smp/csrc/spin.c").CombinedOutput(); err != nil {
		return fmt.Errorf("build spin.c: %v\n%s", err, out)
	}
	g, c := strconv.Itoa(goMiB), strconv.Itoa(cRounds)
	// The one-goroutine program hashes as much as the four together: at
	// -go-mib alone it ends in about 150 ms, where boot-time noise of the
	// host swamped what an extra hart costs.
	g1 := strconv.Itoa(4 * goMiB)
	all := []workload{
		{"go4", "Go, 4 goroutines hashing", gohash, []string{"4", g}},
		{"c4", "C, 4 pthreads", spin, []string{"4", c}},
		{"go1", "Go, 1 goroutine (4x data)", gohash, []string{"1", g1}},
		{"c1", "C, 1 thread", spin, []string{"1", c}},
	}
	var loads []workload
	for _, k := range strings.Split(only, ",") {
		found := false
		for _, l := range all {
			if l.key == strings.TrimSpace(k) {
				loads, found = append(loads, l), true
			}
		}
		if !found {
			return fmt.Errorf("-workloads: %q is none of go4, c4, go1, c1", k)
		}
	}
	// Every cell gets one run per round, in the same order, so a change in
	// the host's load (it is shared) hits all cells alike rather than
	// whichever happened to run then; the fastest of the rounds is kept.
	type cell struct{ rk, lx float64 }
	cells := make([][]cell, len(loads))
	for i := range cells {
		cells[i] = make([]cell, len(harts))
	}
	for r := 0; r < reps; r++ {
		for i, l := range loads {
			for j, n := range harts {
				ms, err := guest(runikraft, n, l.program, l.args...)
				if err != nil {
					// Reported, and the cell gets one more try, so one
					// failure does not throw away the rest of the table.
					fmt.Fprintf(os.Stderr, "bench: %s on %d harts failed (retrying once): %v\n", l.name, n, err)
					ms, err = guest(runikraft, n, l.program, l.args...)
				}
				if err != nil {
					return fmt.Errorf("%s on %d harts: %w", l.name, n, err)
				}
				cells[i][j].rk = keepBest(cells[i][j].rk, ms)
				if linuxGuest == nil {
					continue
				}
				ms, err = linuxGuest(n, l.program, l.args...)
				if err != nil {
					return fmt.Errorf("%s on Linux with %d harts: %w", l.name, n, err)
				}
				cells[i][j].lx = keepBest(cells[i][j].lx, ms)
			}
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workload\tharts\tms (best)\tspeed-up vs 1 hart\tLinux ms\tLinux speed-up\tRunikraft/Linux time\t")
	for i, l := range loads {
		base, lbase := cells[i][0].rk, cells[i][0].lx
		for j, n := range harts {
			c := cells[i][j]
			lms, lsp, ratio := "-", "-", "-"
			if c.lx > 0 {
				lms, lsp, ratio = fmt.Sprintf("%.0f", c.lx), fmt.Sprintf("%.2fx", lbase/c.lx), fmt.Sprintf("%.2f", c.rk/c.lx)
			}
			fmt.Fprintf(w, "%s\t%d\t%.0f\t%.2fx\t%s\t%s\t%s\t\n", l.name, n, c.rk, base/c.rk, lms, lsp, ratio)
		}
	}
	w.Flush()
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:1], "")
	}
	fmt.Printf("(host: %d CPUs for QEMU's one thread per hart, load %s at the end; best of %d interleaved rounds; guest-measured, boot excluded)\n", numCPU(), load, reps)
	return nil
}

// keepBest is the smaller of the best so far (0: none yet) and v.
func keepBest(best, v float64) float64 {
	if best == 0 || v < best {
		return v
	}
	return best
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

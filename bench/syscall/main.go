// Command syscall measures the cost of system calls inside the unikernel
// next to the same static binary in a Linux 6.1 guest on the same QEMU
// (bench/internal/linuxguest) and under qemu-riscv64 (user-mode QEMU,
// which translates system calls to the host's), then times a
// malloc/mmap/futex-heavy program from boot to exit in the unikernel and
// the Linux guest next to the bare OpenSBI payload, and its own run (boot
// excluded, as the program times itself); all in one run. Two rows are
// not costs per call but how long usleep(100) and usleep(1000) really
// last (with -icount: in the guest's virtual time, where an idle guest's
// clock jumps to its next timer):
//
//	go run ./bench/syscall [-n CALLS] [-pairs N] [-linux=false] [-icount]
//
// Figures are medians over N interleaved runs of each (so load changes on
// this shared machine hit all columns alike); ratios are between medians
// of the same run. With -icount both guests run under QEMU's
// -icount shift=0,sleep=off, where the guest's clock advances one
// nanosecond per instruction: the per-call figures are then guest
// instructions per call, the same on a loaded machine as on an idle one
// (a guide to the kernel's own code paths; TCG's cost per instruction
// differs between the two guests, so wall time stays the measure to
// compare them by). The qemu-riscv64 column and the boot-to-exit part are
// left out then; the churn program's own run is given in guest
// instructions. It needs bin/runikraft and bin/runikraft-kernel.img
// (./install.sh); the first use with -linux builds the Linux guest (about
// 10-15 minutes, cached).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/floor"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/results"
)

func main() {
	n := flag.Int("n", 20000, "calls per measurement")
	pairs := flag.Int("pairs", 3, "interleaved runs of each column; medians are printed")
	linux := flag.Bool("linux", true, "add the Linux guest column (builds it once, about 10-15 minutes)")
	rounds := flag.Int("churn", 1000, "rounds of the malloc/mmap/futex program")
	mem := flag.String("m", "256M", "guest RAM for the unikernel and the Linux guest")
	icount := flag.Bool("icount", false, "count guest instructions instead of time (QEMU -icount shift=0,sleep=off)")
	flag.Parse()
	if *pairs < 1 || *n < 10 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -pairs, -n and -churn must be positive (-n at least 10)")
		os.Exit(2)
	}
	if err := run(context.Background(), *n, *pairs, *rounds, *mem, *linux, *icount); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// timed runs argv and returns its stdout and wall time; a non-zero exit
// is an error.
func timed(ctx context.Context, env []string, argv ...string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		return out, wall, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	return out, wall, nil
}

func medianF(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func compile(dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	cc := exec.Command("riscv64-linux-gnu-gcc", "-static", "-O2", "-pthread", "-o", bin, "bench/syscall/csrc/"+name+".c")
	if out, err := cc.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cc %s: %v\n%s", name, err, out)
	}
	return bin, nil
}

// column is one way of running the programs.
type column struct {
	name  string
	calls map[string][]float64
	churn []time.Duration
	own   []float64 // the churn program's own run (its "own run" line), boot excluded
}

// ownRun takes the churn program's "own run N ns" line out of its output
// and returns the rest (which every run must agree on) and N.
func ownRun(out []byte) (string, float64, error) {
	var rest []string
	n := -1.0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "own run "); ok {
			f, err := strconv.ParseFloat(strings.TrimSuffix(v, " ns"), 64)
			if err != nil || f < 0 {
				return "", 0, fmt.Errorf("churn: bad own-run line %q", l)
			}
			n = f
			continue
		}
		rest = append(rest, l)
	}
	if n < 0 {
		return "", 0, fmt.Errorf("churn printed no own-run line:\n%s", out)
	}
	return strings.Join(rest, "\n"), n, nil
}

// icountArgs make QEMU's clock count guest instructions (-icount).
var icountArgs = []string{"-icount", "shift=0,sleep=off"}

// icountQEMU writes a wrapper that runs qemu-system-riscv64 with
// icountArgs, for runikraft run (RUNIKRAFT_QEMU), and returns its path.
func icountQEMU(dir string) (string, error) {
	q, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		return "", err
	}
	w := filepath.Join(dir, "qemu-icount")
	script := fmt.Sprintf("#!/bin/sh\nexec %q %s \"$@\"\n", q, strings.Join(icountArgs, " "))
	return w, os.WriteFile(w, []byte(script), 0o755)
}

func run(ctx context.Context, n, pairs, rounds int, mem string, linux, icount bool) error {
	dir, err := os.MkdirTemp("", "runikraft-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	calls, err := compile(dir, "calls")
	if err != nil {
		return err
	}
	churn, err := compile(dir, "churn")
	if err != nil {
		return err
	}
	bare, err := floor.Write(dir)
	if err != nil {
		return err
	}
	var rkEnv, qemuArgs []string
	if icount {
		w, err := icountQEMU(dir)
		if err != nil {
			return err
		}
		rkEnv, qemuArgs = []string{"RUNIKRAFT_QEMU=" + w}, icountArgs
	}
	var g *linuxguest.Guest
	if linux {
		if g, err = linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr}); err != nil {
			return err
		}
	}

	rk := &column{name: "runikraft", calls: map[string][]float64{}}
	lg := &column{name: "linux guest", calls: map[string][]float64{}}
	qu := &column{name: "qemu-riscv64", calls: map[string][]float64{}}
	var floors []time.Duration
	var order []string
	add := func(c *column, out []byte) {
		vals, o := results.Parse(out)
		if order == nil {
			order = o
		}
		for k, v := range vals {
			c.calls[k] = append(c.calls[k], v)
		}
	}
	args := strconv.Itoa(n)
	churnArg := strconv.Itoa(rounds)
	var churnOut []string
	for i := 0; i < pairs; i++ {
		fmt.Fprintf(os.Stderr, "bench: run %d of %d\n", i+1, pairs)
		out, _, err := timed(ctx, rkEnv, "bin/runikraft", "run", "--cpus", "1", "-m", mem, calls, args)
		if err != nil {
			return err
		}
		add(rk, out)
		if !icount {
			out, _, err = timed(ctx, nil, "qemu-riscv64", calls, args)
			if err != nil {
				return err
			}
			add(qu, out)
		}
		if g != nil {
			res, err := g.Run(ctx, calls, []string{args}, nil, linuxguest.RunOptions{Mem: mem, QEMUArgs: qemuArgs})
			if err != nil {
				return err
			}
			if res.Status != 0 {
				return fmt.Errorf("calls exited %d in the Linux guest:\n%s", res.Status, res.Output)
			}
			add(lg, res.Output)
		}
		// The churn program: boot to exit in wall time (not with
		// -icount), and its own run in both modes.
		if !icount {
			f, err := floor.Time(ctx, bare, mem)
			if err != nil {
				return err
			}
			floors = append(floors, f)
		}
		out, wall, err := timed(ctx, rkEnv, "bin/runikraft", "run", "--cpus", "1", "-m", mem, churn, churnArg)
		if err != nil {
			return err
		}
		text, own, err := ownRun(out)
		if err != nil {
			return err
		}
		rk.churn, rk.own = append(rk.churn, wall), append(rk.own, own)
		churnOut = append(churnOut, "runikraft: "+text)
		if g != nil {
			res, err := g.Run(ctx, churn, []string{churnArg}, nil, linuxguest.RunOptions{Mem: mem, QEMUArgs: qemuArgs})
			if err != nil {
				return err
			}
			if res.Status != 0 {
				return fmt.Errorf("churn exited %d in the Linux guest:\n%s", res.Status, res.Output)
			}
			text, own, err := ownRun(res.Output)
			if err != nil {
				return err
			}
			lg.churn, lg.own = append(lg.churn, res.Wall), append(lg.own, own)
			churnOut = append(churnOut, "linux guest: "+text)
		}
	}
	// The programs are deterministic: every run must agree on the checksum.
	for _, o := range churnOut[min(1, len(churnOut)):] {
		if _, a, _ := strings.Cut(o, ": "); a != strings.SplitN(churnOut[0], ": ", 2)[1] {
			return fmt.Errorf("churn runs disagree: %q vs %q", churnOut[0], o)
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	unit := "ns"
	if icount {
		unit = "guest instructions"
	}
	hdr := fmt.Sprintf("call (%s, %d calls, median of %d)\trunikraft\t", unit, n, pairs)
	if g != nil {
		hdr += "linux guest\trunikraft/linux\t"
	}
	if !icount {
		hdr += "qemu-riscv64\trunikraft/qemu-user\t"
	}
	fmt.Fprintln(w, hdr)
	for _, k := range order {
		r := medianF(rk.calls[k])
		line := fmt.Sprintf("%s\t%.0f\t", k, r)
		if g != nil {
			l := medianF(lg.calls[k])
			line += fmt.Sprintf("%.0f\t%s\t", l, ratio(r, l))
		}
		if !icount {
			q := medianF(qu.calls[k])
			line += fmt.Sprintf("%.0f\t%s\t", q, ratio(r, q))
		}
		fmt.Fprintln(w, line)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Println()
	if icount {
		// The churn program's own run in guest instructions.
		w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		r := medianF(rk.own)
		line := fmt.Sprintf("churn %d rounds, own run (guest instructions, boot excluded)\t%.0f\t", rounds, r)
		if g != nil {
			l := medianF(lg.own)
			line += fmt.Sprintf("%.0f\t%s\t", l, ratio(r, l))
		}
		fmt.Fprintln(w, line)
		return w.Flush()
	}

	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fl := floor.Median(floors)
	fmt.Fprintf(w, "boot to exit (median of %d, -m %s)\twall\tx floor\t\n", pairs, mem)
	fmt.Fprintf(w, "bare OpenSBI payload (floor)\t%v\t1.00x\t\n", fl.Round(time.Millisecond))
	r := floor.Median(rk.churn)
	fmt.Fprintf(w, "churn %d rounds, runikraft run\t%v\t%s\t\n", rounds, r.Round(time.Millisecond), ratio(float64(r), float64(fl)))
	if g != nil {
		l := floor.Median(lg.churn)
		fmt.Fprintf(w, "churn %d rounds, linux guest\t%v\t%s\t\n", rounds, l.Round(time.Millisecond), ratio(float64(l), float64(fl)))
		fmt.Fprintf(w, "runikraft / linux guest\t%s\t\t\n", ratio(float64(r), float64(l)))
	}
	// The program's own run, boot excluded: what boot time does not move.
	ro := time.Duration(medianF(rk.own))
	fmt.Fprintf(w, "churn own run (boot excluded), runikraft\t%v\t\t\n", ro.Round(time.Millisecond))
	if g != nil {
		lo := time.Duration(medianF(lg.own))
		fmt.Fprintf(w, "churn own run (boot excluded), linux guest\t%v\t\t\n", lo.Round(time.Millisecond))
		fmt.Fprintf(w, "runikraft / linux guest, own run\t%s\t\t\n", ratio(float64(ro), float64(lo)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if g != nil {
		fmt.Printf("\nlinux guest: %s (tinyconfig-based, bench/internal/linuxguest), 1 vCPU\n", g.Version)
	}
	return nil
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

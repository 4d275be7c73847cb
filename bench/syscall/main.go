// Command syscall measures the cost of system calls inside the unikernel
// next to the same static binary in a Linux 6.1 guest on the same QEMU
// (bench/internal/linuxguest) and under qemu-riscv64 (user-mode QEMU,
// which translates system calls to the host's), then times a
// malloc/mmap/futex-heavy program from boot to exit in the unikernel and
// the Linux guest next to the bare OpenSBI payload; all in one run:
//
//	go run ./bench/syscall [-n CALLS] [-pairs N] [-linux=false]
//
// Figures are medians over N interleaved runs of each (so load changes on
// this shared machine hit all columns alike); ratios are between medians
// of the same run. It needs bin/runikraft and bin/runikraft-kernel.img
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
	flag.Parse()
	if *pairs < 1 || *n < 10 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -pairs, -n and -churn must be positive (-n at least 10)")
		os.Exit(2)
	}
	if err := run(context.Background(), *n, *pairs, *rounds, *mem, *linux); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// timed runs argv and returns its stdout and wall time; a non-zero exit
// is an error.
func timed(ctx context.Context, argv ...string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
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
}

func run(ctx context.Context, n, pairs, rounds int, mem string, linux bool) error {
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
		out, _, err := timed(ctx, "bin/runikraft", "run", "-m", mem, calls, args)
		if err != nil {
			return err
		}
		add(rk, out)
		out, _, err = timed(ctx, "qemu-riscv64", calls, args)
		if err != nil {
			return err
		}
		add(qu, out)
		if g != nil {
			res, err := g.Run(ctx, calls, []string{args}, nil, linuxguest.RunOptions{Mem: mem})
			if err != nil {
				return err
			}
			if res.Status != 0 {
				return fmt.Errorf("calls exited %d in the Linux guest:\n%s", res.Status, res.Output)
			}
			add(lg, res.Output)
		}

		f, err := floor.Time(ctx, bare, mem)
		if err != nil {
			return err
		}
		floors = append(floors, f)
		out, wall, err := timed(ctx, "bin/runikraft", "run", "-m", mem, churn, churnArg)
		if err != nil {
			return err
		}
		rk.churn = append(rk.churn, wall)
		churnOut = append(churnOut, "runikraft: "+strings.TrimSpace(string(out)))
		if g != nil {
			res, err := g.Run(ctx, churn, []string{churnArg}, nil, linuxguest.RunOptions{Mem: mem})
			if err != nil {
				return err
			}
			if res.Status != 0 {
				return fmt.Errorf("churn exited %d in the Linux guest:\n%s", res.Status, res.Output)
			}
			lg.churn = append(lg.churn, res.Wall)
			churnOut = append(churnOut, "linux guest: "+strings.TrimSpace(string(res.Output)))
		}
	}
	// The programs are deterministic: every run must agree on the checksum.
	for _, o := range churnOut[1:] {
		if _, a, _ := strings.Cut(o, ": "); a != strings.SplitN(churnOut[0], ": ", 2)[1] {
			return fmt.Errorf("churn runs disagree: %q vs %q", churnOut[0], o)
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	hdr := fmt.Sprintf("call (ns, %d calls, median of %d)\trunikraft\t", n, pairs)
	if g != nil {
		hdr += "linux guest\trunikraft/linux\t"
	}
	hdr += "qemu-riscv64\trunikraft/qemu-user\t"
	fmt.Fprintln(w, hdr)
	for _, k := range order {
		r, q := medianF(rk.calls[k]), medianF(qu.calls[k])
		line := fmt.Sprintf("%s\t%.0f\t", k, r)
		if g != nil {
			l := medianF(lg.calls[k])
			line += fmt.Sprintf("%.0f\t%s\t", l, ratio(r, l))
		}
		line += fmt.Sprintf("%.0f\t%s\t", q, ratio(r, q))
		fmt.Fprintln(w, line)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Println()

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

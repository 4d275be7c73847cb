// Command memory finds the smallest RAM in which a Go program with
// thousands of goroutines and GC churn completes, on Runikraft and in the
// Linux guest (bench/internal/linuxguest) on the same QEMU, in the same
// run, and prints a table:
//
//	go run ./bench/memory [-goroutines 2000] [-rounds 20] [-live 512] [-garbage 4096] [-linux=false] [-at MIB]
//
// The program (testdata/goroutines, plain Go built GOOS=linux
// GOARCH=riscv64 CGO_ENABLED=0) starts every goroutine, each with -live
// bytes of live data, then runs -rounds rounds in each, allocating up to
// -garbage bytes and replacing a quarter of its live data every round. A
// run passes when it exits 0 and prints the checksum the host computes
// for the same parameters (package churn): memory lost under pressure
// would show as a wrong sum. The search is a bisection in MiB steps, so
// it assumes that a run that passes at some size passes at every larger
// one; each size is tried once.
//
// The table shows, for each system, the program's own peak resident
// memory at the smallest size as that kernel counts it (getrusage's
// ru_maxrss, which the program prints at exit): the same binary's
// figure from both kernels says whether one backs more of it than the
// other. -at MIB skips the search and runs each system once at that size.
//
// Runikraft runs the same static binary with runikraft run -m; the kernel's
// own resident memory (runikraft run --debug) is reported from a run at
// the smallest size found. It needs bin/runikraft and
// bin/runikraft-kernel.img (./install.sh); the first run with -linux
// builds the Linux guest (about 10-15 minutes, cached).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/appbuild"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/memory/churn"
)

func main() {
	p := churn.Params{}
	flag.IntVar(&p.Goroutines, "goroutines", 2000, "goroutines alive at once")
	flag.IntVar(&p.Rounds, "rounds", 20, "allocation rounds in each goroutine")
	flag.IntVar(&p.Live, "live", 512, "bytes of live data each goroutine keeps")
	flag.IntVar(&p.Garbage, "garbage", 4096, "most bytes of garbage a goroutine allocates in a round")
	low := flag.Int("min", 8, "smallest -m to try, MiB")
	high := flag.Int("max", 128, "largest -m to try, MiB (must pass)")
	linux := flag.Bool("linux", true, "search in the Linux guest too (builds it once, about 10-15 minutes)")
	at := flag.Int("at", 0, "no search: run once in each system at this -m (MiB) and print what the program says")
	flag.Parse()
	if *at != 0 {
		*low, *high = *at, *at
	}
	if err := run(p, *low, *high, *linux); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// system runs the program once in mib MiB of RAM and says whether it
// completed with the right output, and why not (or, when it did, the
// program's line about its runtime's memory).
type system struct {
	name string
	try  func(mib int) (ok bool, why string, err error)
}

func run(p churn.Params, low, high int, linux bool) error {
	if !p.Valid() {
		return errors.New("parameters out of range")
	}
	if low < 4 || high > 4096 || low > high {
		return errors.New("-min and -max: 4 <= min <= max <= 4096")
	}
	runikraft, err := appbuild.Runikraft()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "runikraft-bench-memory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	prog := filepath.Join(dir, "goroutines")
	if err := appbuild.GoProgram(prog, "./bench/memory/testdata/goroutines"); err != nil {
		return err
	}
	args := []string{strconv.Itoa(p.Goroutines), strconv.Itoa(p.Rounds), strconv.Itoa(p.Live), strconv.Itoa(p.Garbage)}
	want := fmt.Sprintf("sum %016x\n", churn.Expected(p))

	systems := []system{{"Runikraft (runikraft run -m)", func(mib int) (bool, string, error) {
		argv := append([]string{"run", "-m", fmt.Sprintf("%dM", mib), "--timeout", "5m", prog}, args...)
		cmd := exec.Command(runikraft, argv...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			return false, "", err
		}
		return verdict(string(out), code, want, stderr.String())
	}}}
	if linux {
		ctx := context.Background()
		g, err := linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr})
		if err != nil {
			return err
		}
		systems = append(systems, system{"Linux " + g.Version + " guest", func(mib int) (bool, string, error) {
			res, err := g.Run(ctx, prog, args, nil, linuxguest.RunOptions{Mem: fmt.Sprintf("%dM", mib), Timeout: 3 * time.Minute})
			if err != nil {
				// No result at all: the guest did not boot or hung, which
				// too little RAM does to Linux.
				return false, firstLine(err.Error()), nil
			}
			return verdict(string(res.Output), res.Status, want, "")
		}})
	}

	fmt.Printf("program: %d goroutines alive at once, %d B live each, %d rounds of up to %d B garbage each (%s)\n",
		p.Goroutines, p.Live, p.Rounds, p.Garbage, strings.TrimSpace(want))
	smallest := make([]int, len(systems))
	stats := make([]string, len(systems))
	peaks := make([]string, len(systems))
	for i, s := range systems {
		ok, why, err := s.try(high)
		if err != nil {
			return fmt.Errorf("%s at %d MiB: %w", s.name, high, err)
		}
		if !ok {
			return fmt.Errorf("%s fails even at -max %d MiB: %s", s.name, high, why)
		}
		stats[i], peaks[i] = splitPeak(why)
		fmt.Fprintf(os.Stderr, "bench: %s at %d MiB passed: %s\n", s.name, high, why)
		lo, hi := low, high
		for lo < hi {
			mid := (lo + hi) / 2
			ok, why, err := s.try(mid)
			if err != nil {
				return fmt.Errorf("%s at %d MiB: %w", s.name, mid, err)
			}
			verdictText := "passed"
			if !ok {
				verdictText = "failed: " + why
			}
			fmt.Fprintf(os.Stderr, "bench: %s at %d MiB %s\n", s.name, mid, verdictText)
			if ok {
				hi = mid
				stats[i], peaks[i] = splitPeak(why)
			} else {
				lo = mid + 1
			}
		}
		smallest[i] = lo
	}
	resident, account := kernelResident(runikraft, smallest[0], prog, args)

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "system\tsmallest -m that completes\tthe program's peak resident there (ru_maxrss)\tthe program's runtime there\t")
	for i, s := range systems {
		fmt.Fprintf(w, "%s\t%d MiB\t%s\t%s\t\n", s.name, smallest[i], peaks[i], stats[i])
	}
	w.Flush()
	fmt.Printf("Runikraft at %d MiB, runikraft run --debug: %s\n", smallest[0], resident)
	if account != "" {
		fmt.Printf("and its memory account when the program exits (KiB; \"most so far\" is the program's peak):\n%s", account)
	}
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	fmt.Printf("(host load average %s at the end; bisection in 1 MiB steps from %d to %d MiB, one run per size)\n", load, low, high)
	return nil
}

// verdict checks one run's output and exit status.
func verdict(out string, code int, want, stderr string) (bool, string, error) {
	if code == 0 && strings.HasPrefix(out, want) {
		// What the program's runtime says it took from the OS, and its
		// peak resident memory as its OS counts it.
		return true, strings.TrimSpace(strings.TrimPrefix(out, want)), nil
	}
	why := fmt.Sprintf("exit %d", code)
	if code == 0 {
		why += ", wrong output " + strconv.Quote(firstLine(out))
	}
	if l := lastLine(stderr); l != "" {
		why += ": " + l
	} else if code != 0 {
		// The Linux guest's console holds both streams; a Go runtime
		// that could not get memory says so first and exits 2.
		why += ": " + firstLine(out)
	}
	return false, why, nil
}

// kernelResident runs the program once more with --debug and returns the
// kernel's line about memory at the application's first instruction,
// and the lines of its memory account at the application's exit (empty
// if there is none).
func kernelResident(runikraft string, mib int, prog string, args []string) (line, account string) {
	argv := append([]string{"run", "--debug", "-m", fmt.Sprintf("%dM", mib), "--timeout", "5m", prog}, args...)
	out, _ := exec.Command(runikraft, argv...).CombinedOutput()
	line = "no memory line in --debug's output"
	if m := residentLine.FindSubmatch(out); m != nil {
		line = string(m[1])
	}
	var b strings.Builder
	for _, m := range accountLine.FindAllSubmatch(exitAccount(out), -1) {
		fmt.Fprintf(&b, "  %s\n", m[1])
	}
	return line, b.String()
}

var (
	residentLine = regexp.MustCompile(`memory at the first user instruction: (.*)`)
	accountLine  = regexp.MustCompile(`(?m)^runikraft:   (.*\S)\s*$`)
)

// exitAccount returns the lines after the account's heading at exit, up
// to the first line that is not one of its parts.
func exitAccount(out []byte) []byte {
	const head = "memory account at the application's exit"
	i := strings.Index(string(out), head)
	if i < 0 {
		return nil
	}
	rest := out[i:]
	if j := strings.IndexByte(string(rest), '\n'); j >= 0 {
		rest = rest[j+1:]
	}
	end := 0
	for end < len(rest) && strings.HasPrefix(string(rest[end:]), "runikraft:   ") {
		if k := strings.IndexByte(string(rest[end:]), '\n'); k >= 0 {
			end += k + 1
		} else {
			end = len(rest)
		}
	}
	return rest[:end]
}

// splitPeak separates the program's peak line ("peak resident N KiB")
// from its runtime's line; the peak comes back in MiB.
func splitPeak(out string) (runtimeLine, peak string) {
	peak = "?"
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if m := peakLine.FindStringSubmatch(l); m != nil {
			if kib, err := strconv.ParseInt(m[1], 10, 64); err == nil && kib > 0 {
				peak = fmt.Sprintf("%.1f MiB", float64(kib)/1024)
			}
		} else if strings.HasPrefix(l, "runtime:") {
			runtimeLine = l
		}
	}
	return runtimeLine, peak
}

var peakLine = regexp.MustCompile(`^peak resident (-?[0-9]+) KiB$`)

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

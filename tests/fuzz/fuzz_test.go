// Package fuzz runs the seeded system-call fuzzer (testdata/sysfuzz.c)
// on the stock kernel in QEMU: a bounded campaign in CI, longer ones with
// RUNIKRAFT_FUZZ_SEEDS/RUNIKRAFT_FUZZ_CALLS or `go run ./bench/fuzz`.
package fuzz

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/tests/harness"
)

var runikraft, sysfuzz string

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, func(dir string) (err error) {
		if runikraft, err = harness.Tools(dir); err != nil {
			return err
		}
		sysfuzz = filepath.Join(dir, "sysfuzz")
		return harness.BuildC(sysfuzz, filepath.Join("testdata", "sysfuzz.c"), "-static")
	}))
}

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Verdict says why a fuzzing run counts as a kernel failure, or "".
func Verdict(r harness.Result) string {
	out := r.Stdout + r.Stderr
	switch {
	case r.Code == 70 || r.Code == 71:
		return fmt.Sprintf("kernel failure, exit %d", r.Code)
	case r.Code == 124:
		return "hang (runikraft run timed out)"
	case strings.Contains(out, "kernel bug") || strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:"):
		return "kernel panic message"
	case r.Code == 0 && !strings.Contains(r.Stdout, "FZ done"):
		return "exit 0 without finishing"
	}
	return ""
}

// LastCall is the last "FZ <i> <nr> <args>" line of a run: the call in
// progress when it ended.
func LastCall(out string) string {
	last := ""
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "FZ "); i >= 0 && !strings.HasPrefix(l[i:], "FZ done") {
			last = l[i:]
		}
	}
	return last
}

// TestSyscallFuzz: several seeds × thousands of calls, each in one boot.
// The application may die of what it did (a signal it sent itself); the
// kernel may not: exit 70 or 71, a hang, or a panic message fails the
// test with the seed and the last call.
func TestSyscallFuzz(t *testing.T) {
	seeds := envInt("RUNIKRAFT_FUZZ_SEEDS", 8)
	calls := envInt("RUNIKRAFT_FUZZ_CALLS", 8000)
	first := envInt("RUNIKRAFT_FUZZ_FIRST", 1)
	total := 0
	for seed := first; seed < first+seeds; seed++ {
		r := harness.Run(t, runikraft, nil, sysfuzz, strconv.Itoa(seed), strconv.Itoa(calls))
		done := strings.Contains(r.Stdout, "FZ done")
		if v := Verdict(r); v != "" {
			t.Errorf("seed %d: %s; last call: %s\nstderr: %s", seed, v, LastCall(r.Stdout), r.Stderr)
			continue
		}
		if !done {
			t.Logf("seed %d: the fuzzer died of its own calls (exit %d) after: %s", seed, r.Code, LastCall(r.Stdout))
		}
		n := calls
		if !done {
			n, _ = strconv.Atoi(strings.Fields(LastCall(r.Stdout) + " 0 0")[1])
		}
		total += n
	}
	t.Logf("fuzzing: %d seeds from %d, %d calls each asked, %d calls made", seeds, first, calls, total)
	fmt.Printf("sysfuzz: seeds %d..%d, %d calls made\n", first, first+seeds-1, total)
}

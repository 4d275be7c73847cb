// Package smp boots programs and the kernel's self-test on several harts
// (QEMU -smp N: one host thread per hart under MTTCG) and checks that
// kernel goroutines and application threads run in parallel correctly:
// the goroutine ring and GC stress of the self-test kernel, futex-based
// mutexes and condition variables from 8 pthreads, Go's sync and
// sync/atomic under GOMAXPROCS = harts, mmap/munmap/mprotect churn with
// no stale TLB entry left on any hart, a signal to a thread spinning on
// another hart, and what the application is told about its CPUs.
//
// The machine running CI has two cores, so 8 harts run 4 to a core: the
// 8-hart runs are the short ones.
package smp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string
	programs  = map[string]string{}
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	if runikraft, err = harness.Tools(dir); err != nil {
		return err
	}
	programs["gosmp"] = filepath.Join(dir, "gosmp")
	if err := harness.BuildGo(programs["gosmp"], "./testdata/gosmp"); err != nil {
		return err
	}
	programs["smpc"] = filepath.Join(dir, "smpc")
	if err := harness.BuildC(programs["smpc"], filepath.Join("testdata", "smp.c"), "-static", "-pthread"); err != nil {
		return err
	}
	programs["selftest"] = filepath.Join(dir, "selftest.img")
	_, err = kbuild.Build(context.Background(), kbuild.Options{
		Dir: ".", Pkg: "github.com/runikraft/runikraft/tests/boot/kernels/selftest",
		Out: programs["selftest"], Stderr: os.Stderr,
	})
	return err
}

func run(t *testing.T, harts int, program string, args ...string) harness.Result {
	t.Helper()
	// 128 MiB: the self-test's GC stress allocates ten times the RAM.
	flags := []string{"--cpus", strconv.Itoa(harts), "-m", "128M"}
	return harness.Run(t, runikraft, flags, programs[program], args...)
}

var hartCounts = []int{1, 2, 4, 8}

// TestSelftest boots the self-test kernel (goroutine ring, timers, GC
// stress, maps, mutexes) with GOMAXPROCS = harts, on plain QEMU so its
// command line can shorten the GC stress for the runs with more harts
// than the host has cores (the 8-hart run gets more RAM: eight Ps keep
// more heap in flight).
func TestSelftest(t *testing.T) {
	for _, c := range []struct {
		harts int
		mem   string
		gc    int // GC stress: allocate gc times the RAM
	}{{1, "128M", 3}, {2, "128M", 3}, {4, "128M", 3}, {8, "192M", 2}} {
		t.Run(fmt.Sprint(c.harts), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			start := time.Now()
			cmd := exec.CommandContext(ctx, "qemu-system-riscv64", "-M", "virt", "-smp", strconv.Itoa(c.harts),
				"-m", c.mem, "-nographic", "-bios", "default", "-kernel", programs["selftest"],
				"-append", fmt.Sprintf("selftest.gc=%d", c.gc))
			out, err := cmd.CombinedOutput()
			t.Logf("%d harts: %v in %v", c.harts, err, time.Since(start).Round(time.Millisecond))
			if err != nil || !strings.Contains(string(out), "selftest: all passed") {
				t.Fatalf("%d harts: %v (ctx %v)\n%s", c.harts, err, ctx.Err(), out)
			}
			for _, name := range []string{"ring", "gc", "mutex"} {
				if !strings.Contains(string(out), "ok "+name+" (") {
					t.Errorf("no ok %s line:\n%s", name, out)
				}
			}
		})
	}
}

// TestFutex runs 8 pthreads on mutexes and condition variables for a
// bounded time; the program checks the final counts.
func TestFutex(t *testing.T) {
	for _, n := range hartCounts {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ms := "3000"
			if n == 8 {
				ms = "1500"
			}
			r := run(t, n, "smpc", "futex", ms)
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, "futex: ok ") {
				t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}

// TestGo runs parallel goroutines with channels, sync and sync/atomic;
// with 4 harts the runtime must see 4 CPUs and run 4 goroutines at once.
func TestGo(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := run(t, n, "gosmp")
			if r.Code != 0 || !strings.HasSuffix(r.Stdout, "\nok\n") {
				t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
			want := fmt.Sprintf("cpus=%d gomaxprocs=%d\n", n, n)
			if !strings.HasPrefix(r.Stdout, want) {
				t.Errorf("stdout %q, want it to start with %q", r.Stdout, want)
			}
			m := regexp.MustCompile(`peak=(\d+)`).FindStringSubmatch(r.Stdout)
			if m == nil {
				t.Fatalf("no peak in %q", r.Stdout)
			}
			// More than one goroutine hashing at the same moment is
			// only possible with several harts (GOMAXPROCS = harts).
			if p, _ := strconv.Atoi(m[1]); (n == 1) != (p == 1) {
				t.Errorf("%d goroutines ran at once with %d harts", p, n)
			}
		})
	}
}

// TestMmapChurn maps, protects and unmaps from 4 threads while 4 others
// write their own memory; then several threads write one page while it
// is unmapped, and every one must fault.
func TestMmapChurn(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := run(t, n, "smpc", "mmap", "1000")
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, "mmap: ok ") {
				t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}

// TestSignalToSpinningThread sends SIGUSR1 to a thread in a loop with no
// system calls, on another hart when there is one.
func TestSignalToSpinningThread(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			start := time.Now()
			r := run(t, n, "smpc", "signal")
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, "signal: ok ") {
				t.Fatalf("exit %d stdout %q stderr %q after %v", r.Code, r.Stdout, r.Stderr, time.Since(start))
			}
		})
	}
}

// TestCPUs checks what the application is told: sysconf, the affinity
// mask, and getcpu from threads spinning on every hart; 16 harts (more
// than the 8 the kernel once stopped at) must all come online.
func TestCPUs(t *testing.T) {
	for _, n := range []int{1, 2, 4, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := run(t, n, "smpc", "cpus")
			m := regexp.MustCompile(`cpus: online=(\d+) affinity=(\d+) getcpu-seen=(\d+) cpuinfo=(\d+)`).FindStringSubmatch(r.Stdout)
			if r.Code != 0 || m == nil {
				t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
			for i, what := range []string{"sysconf(_SC_NPROCESSORS_ONLN)", "sched_getaffinity", "", "/proc/cpuinfo"} {
				if what != "" && m[i+1] != strconv.Itoa(n) {
					t.Errorf("%s gives %s CPUs, want %d", what, m[i+1], n)
				}
			}
			if seen, _ := strconv.Atoi(m[3]); seen < 1 || seen > n || (n > 1 && seen < 2) {
				t.Errorf("getcpu saw %d distinct CPUs with %d harts", seen, n)
			}
		})
	}
}

// TestAffinity pins two threads to each CPU with sched_setaffinity: getcpu
// must always name the thread's CPU (more threads than harts, so without
// pinning the run queue would move them), and sched_getaffinity must give
// the mask back.
func TestAffinity(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := run(t, n, "smpc", "pin", "1500")
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, "pin: ok cpus="+strconv.Itoa(n)+" ") {
				t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}

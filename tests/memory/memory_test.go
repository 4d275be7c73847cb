// Package memory runs programs that exhaust memory, each way an
// application can (malloc, brk, one huge mmap, touching more than RAM,
// filling /tmp), on the stock kernel in QEMU at small and large -m, and
// checks that the application, never the kernel, pays: ENOMEM or ENOSPC
// seen by the program, or SIGKILL (137) with one log line, never the
// kernel's failure status 70. It also checks ASLR across runs, and that
// Go programs, whose runtime maps a 32 MiB heap index at start, run in
// 16 MiB, and that a program's file, once loaded, is its read-only pages
// or back with the allocator.
package memory

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string
	memhog    string // runikraft-cc (musl, static-pie, baked with the stock kernel)
	memhogExe string // Debian's gcc -static (glibc, a non-PIE ET_EXEC)
	goHello   string // examples/hello, a Go program
	threads   string // testdata/threads.c: many threads alive at once
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	if runikraft, err = harness.Tools(dir); err != nil {
		return err
	}
	if err := harness.CTools(dir); err != nil {
		return err
	}
	sysroot, err := harness.Sysroot()
	if err != nil {
		return err
	}
	src := filepath.Join("testdata", "memhog.c")
	memhog = filepath.Join(dir, "memhog")
	cmd := exec.Command(filepath.Join(dir, "runikraft-cc"), "-O2", "-pthread", "-o", memhog, src)
	cmd.Env = append(os.Environ(), "RUNIKRAFT_SYSROOT="+sysroot, "RUNIKRAFT_KERNEL="+filepath.Join(dir, "runikraft-kernel.img"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft-cc %s: %v\n%s", src, err, out)
	}
	threads = filepath.Join(dir, "threads")
	cmd = exec.Command(filepath.Join(dir, "runikraft-cc"), "-O2", "-pthread", "-o", threads, filepath.Join("testdata", "threads.c"))
	cmd.Env = append(os.Environ(), "RUNIKRAFT_SYSROOT="+sysroot, "RUNIKRAFT_KERNEL="+filepath.Join(dir, "runikraft-kernel.img"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runikraft-cc threads.c: %v\n%s", err, out)
	}
	goHello = filepath.Join(dir, "gohello")
	if err := harness.BuildGo(goHello, "github.com/runikraft/runikraft/examples/hello"); err != nil {
		return err
	}
	memhogExe = filepath.Join(dir, "memhog-glibc")
	return harness.BuildC(memhogExe, src, "-static", "-pthread")
}

// oomLine is the one line the kernel logs when it kills the application.
var oomLine = regexp.MustCompile(`(?m)^runikraft: out of memory: killed the application with SIGKILL \(RAM (\d+\.\d) MiB, application resident (\d+\.\d) MiB, kernel (\d+\.\d) MiB\); give it more RAM with runikraft run -m$`)

func TestExhaustion(t *testing.T) {
	cases := []struct {
		mode string
		code int
		out  *regexp.Regexp // stdout
	}{
		// Every 1 MiB block is granted (the overcommit rule refuses only
		// single anonymous mappings larger than 4 times RAM), so the
		// loops end when a touch finds no RAM left: killed, as on Linux.
		{"malloc", 137, regexp.MustCompile(`^$`)},
		{"brk", 137, regexp.MustCompile(`^$`)},
		{"mmap-huge", 0, regexp.MustCompile(`^mmap of 4 x RAM \+ 1 page: Out of memory\n$`)},
		{"mmap-ram", 137, regexp.MustCompile(`^mapped RAM \+ 1 page; touching\n$`)},
		{"touch", 137, regexp.MustCompile(`^mapped 2 x RAM in 8 blocks; touching\n$`)},
		{"fill", 0, regexp.MustCompile(`^write: No space left on device after \d+ MiB\n$`)},
	}
	for _, mem := range []string{"32M", "256M"} {
		for _, c := range cases {
			t.Run(mem+"/"+c.mode, func(t *testing.T) {
				r := harness.Run(t, runikraft, []string{"-m", mem}, memhog, c.mode)
				if r.Code == 70 || strings.Contains(r.Stderr, "cannot back kernel page") {
					t.Fatalf("the kernel failed: exit %d, stderr %q", r.Code, r.Stderr)
				}
				if r.Code != c.code || !c.out.MatchString(r.Stdout) {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and stdout matching %s", r.Code, r.Stdout, r.Stderr, c.code, c.out)
				}
				m := oomLine.FindAllStringSubmatch(r.Stderr, -1)
				if c.code == 137 {
					if len(m) != 1 || m[0][1] != strings.TrimSuffix(mem, "M")+".0" {
						t.Fatalf("stderr %q: want one out-of-memory line with RAM %s", r.Stderr, mem)
					}
				} else if len(m) != 0 {
					t.Fatalf("killed although the program saw the error: %q", r.Stderr)
				}
			})
		}
	}
}

// TestAfterOOMKill: files the program wrote to the host's working
// directory (the host view) before it was killed are there, and the
// next program runs.
func TestAfterOOMKill(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) harness.Result {
		cmd := exec.Command(runikraft, append([]string{"run", "--timeout", "3m", "-m", "32M", "--host-view", memhog}, args...)...)
		cmd.Dir = dir
		var r harness.Result
		out, err := cmd.Output()
		r.Stdout = string(out)
		if ee, ok := err.(*exec.ExitError); ok {
			r.Code, r.Stderr = ee.ExitCode(), string(ee.Stderr)
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("memhog %v: exit %d stdout %q stderr %q", args, r.Code, r.Stdout, r.Stderr)
		return r
	}
	r := run("touch", "before-oom.txt")
	if r.Code != 137 || len(oomLine.FindAllString(r.Stderr, -1)) != 1 {
		t.Fatalf("exit %d, stderr %q; want 137 and the out-of-memory line", r.Code, r.Stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "before-oom.txt"))
	if err != nil || string(got) != "written before the OOM\n" {
		t.Errorf("before-oom.txt after the kill: %q, %v", got, err)
	}
	if r := run("hello"); r.Code != 0 || r.Stdout != "hello\n" {
		t.Errorf("the program after the kill: exit %d, stdout %q", r.Code, r.Stdout)
	}
}

// TestASLR: 20 runs of one non-PIE program see 20 different mmap bases,
// thread stacks and program breaks; MAP_FIXED below 64 KiB is EPERM.
func TestASLR(t *testing.T) {
	line := regexp.MustCompile(`^mmap=(0x[0-9a-f]+) thread-stack=(0x[0-9a-f]+) brk=(0x[0-9a-f]+) fixed-below-64k=Operation not permitted\n$`)
	seen := [3]map[string]bool{{}, {}, {}}
	const runs = 20
	for i := 0; i < runs; i++ {
		r := harness.Run(t, runikraft, []string{"-m", "64M"}, memhogExe, "aslr")
		m := line.FindStringSubmatch(r.Stdout)
		if r.Code != 0 || m == nil {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, r.Code, r.Stdout, r.Stderr)
		}
		for k := range seen {
			seen[k][m[k+1]] = true
		}
	}
	for k, name := range []string{"mmap bases", "thread stacks", "brks"} {
		if len(seen[k]) != runs {
			t.Errorf("%d distinct %s in %d runs: %v", len(seen[k]), name, runs, seen[k])
		}
	}
}

// TestResidentSet: /proc/self/stat's resident set (field 24) follows
// the application's pages: it grows by the 4 MiB a program touches,
// shrinks by them when it unmaps them, and getrusage's ru_maxrss keeps
// the most (Redis and others read their memory use there).
func TestResidentSet(t *testing.T) {
	line := regexp.MustCompile(`^rss KiB: before (\d+), touched (\d+), unmapped (\d+); maxrss (\d+)\n$`)
	r := harness.Run(t, runikraft, []string{"-m", "64M"}, memhog, "rss")
	m := line.FindStringSubmatch(r.Stdout)
	if r.Code != 0 || m == nil {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	var before, touched, unmapped, maxrss int
	for i, p := range []*int{&before, &touched, &unmapped, &maxrss} {
		fmt.Sscan(m[i+1], p)
	}
	t.Logf("%s", strings.TrimSpace(r.Stdout))
	if before <= 0 || touched-before < 4096 || touched-unmapped < 4096 || maxrss < touched {
		t.Errorf("want the resident set to grow and shrink by 4096 KiB and ru_maxrss to keep its most: %s", r.Stdout)
	}
}

// TestGoIn16M: the overcommit rule leaves room for Go's runtime, which
// maps a 32 MiB heap index at start and relies on demand paging, so the
// example Go program (8 goroutines, crypto/rand, fmt) runs in 16 MiB.
func TestGoIn16M(t *testing.T) {
	r := harness.Run(t, runikraft, []string{"-m", "16M"}, goHello)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Hello, world!") || !strings.Contains(r.Stdout, "8 goroutines computed") {
		t.Fatalf("examples/hello: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

// fileLine is runikraft run --debug's memory line at the application's
// first instruction.
var fileLine = regexp.MustCompile(`memory at the first user instruction: kernel resident (\d+\.\d) MiB, application (\d+\.\d) MiB, of RAM 16\.0 MiB; of the application's (\d+\.\d) MiB file, (\d+\.\d) MiB went back to the allocator`)

// TestProgramFileGivenBack: once a program (not an archive) is loaded,
// its file's pages are the application's read-only pages or go back to
// the allocator, and the program runs as before.
func TestProgramFileGivenBack(t *testing.T) {
	r := harness.Run(t, runikraft, []string{"--debug", "-m", "16M"}, goHello)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Hello, world!") {
		t.Fatalf("examples/hello: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	m := fileLine.FindStringSubmatch(r.Stderr)
	if m == nil {
		t.Fatalf("no memory line in --debug's output: %q", r.Stderr)
	}
	var v [5]float64
	for i := 1; i < len(m); i++ {
		if _, err := fmt.Sscan(m[i], &v[i]); err != nil {
			t.Fatal(err)
		}
	}
	kernel, file, back := v[1], v[3], v[4]
	t.Logf("kernel resident %.1f MiB; of the %.1f MiB file, %.1f MiB given back", kernel, file, back)
	// A Go program's text and rodata are more than 1 MiB of whole
	// pages (adopted, not given back); its symbol tables and data
	// segment's file bytes are some hundreds of KiB more (given back).
	if file < 2 || back < 0.2 || file-back < 1 {
		t.Errorf("of a %.1f MiB program file, %.1f MiB went back: want at least 0.2 MiB back and 1 MiB kept as its read-only pages", file, back)
	}
	if kernel <= 0 || kernel > 4 {
		t.Errorf("kernel resident %.1f MiB at the first user instruction", kernel)
	}
}

// accountLine is one line of runikraft run --debug's memory account: a
// part's name and its KiB.
var accountLine = regexp.MustCompile(`(?m)^runikraft:   ([a-z][^0-9]*[a-z)]) +(\d+)(?:  \(.*\))?$`)

// TestMemoryAccount: the memory account --debug prints at the first user
// instruction names where every page of a 16 MiB machine is, and its
// parts add up to the RAM; the hart layer's thread table and area maps
// take a few pages, not the 512 KiB of .bss they once did, and the main
// thread's stack is not the 256 KiB it once was.
func TestMemoryAccount(t *testing.T) {
	r := harness.Run(t, runikraft, []string{"--debug", "-m", "16M"}, goHello)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Hello, world!") {
		t.Fatalf("examples/hello: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	const head = "runikraft: memory account at the first user instruction, KiB of RAM 16384:\n"
	i := strings.Index(r.Stderr, head)
	if i < 0 {
		t.Fatalf("no memory account in --debug's output: %q", r.Stderr)
	}
	block := r.Stderr[i+len(head):]
	if j := strings.Index(block, "runikraft: memory account"); j >= 0 {
		block = block[:j] // the account at exit follows
	}
	parts := map[string]int{}
	sum := 0
	for _, m := range accountLine.FindAllStringSubmatch(block, -1) {
		var kib int
		fmt.Sscan(m[2], &kib)
		parts[strings.TrimSpace(m[1])] = kib
		sum += kib
	}
	t.Logf("account: %v", parts)
	for _, name := range []string{"kernel image", "page tables", "hart tables (threads, area maps)", "hart stacks (main thread, trap, emergency)",
		"kernel runtime's pages", "application", "free: the kernel's reserve", "free: the application's room"} {
		if _, ok := parts[name]; !ok {
			t.Errorf("no %q in the account %q", name, block)
		}
	}
	if sum != 16384 {
		t.Errorf("the account's parts add up to %d KiB, want the RAM's 16384", sum)
	}
	if v := parts["hart tables (threads, area maps)"]; v == 0 || v > 64 {
		t.Errorf("hart tables %d KiB: want a few pages, backed as they fill", v)
	}
	if v := parts["hart stacks (main thread, trap, emergency)"]; v > 160 {
		t.Errorf("hart stacks %d KiB at one hart: want the 72 KiB main stack and 48 KiB of trap stacks", v)
	}
}

// tablesLine is the account's line for the hart layer's growing tables.
var tablesLine = regexp.MustCompile(`(?m)^runikraft:   hart tables \(threads, area maps\) +(\d+)$`)

// TestManyThreads: 24 application threads spinning in user mode at once
// each hold a kernel thread slot (640 bytes), so the thread table,
// backed page by page as it fills, grows over several pages at 16M, and
// every thread's result comes back. (Threads blocked in futex waits do
// not hold slots: 200 of them took none more than a hello. Spinning
// threads share one hart by time slices, so more would be slow.)
func TestManyThreads(t *testing.T) {
	const n = 24
	r := harness.Run(t, runikraft, []string{"--debug", "-m", "16M"}, threads, fmt.Sprint(n))
	want := fmt.Sprintf("%d threads joined, sum %d\n", n, 3*n*(n-1)/2+n)
	if r.Code != 0 || r.Stdout != want {
		t.Fatalf("threads %d: exit %d, stdout %q (want %q), stderr %q", n, r.Code, r.Stdout, want, r.Stderr)
	}
	m := tablesLine.FindAllStringSubmatch(r.Stderr, -1)
	if len(m) != 2 {
		t.Fatalf("want the hart tables line at the first user instruction and at exit: %q", r.Stderr)
	}
	var first, exit int
	fmt.Sscan(m[0][1], &first)
	fmt.Sscan(m[1][1], &exit)
	t.Logf("hart tables: %d KiB at the first user instruction, %d KiB at exit", first, exit)
	if min := n * 640 >> 10; exit < min {
		t.Errorf("hart tables %d KiB at exit (%d at start): want at least %d KiB for %d threads", exit, first, min, n)
	}
}

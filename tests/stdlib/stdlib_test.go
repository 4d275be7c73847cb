// Package stdlib runs Go's own standard-library tests inside the unikernel:
// each package's test binary is built for linux/riscv64 and run with
// runikraft run on the stock kernel, as `go test -exec 'runikraft run
// --host-view'` does: the test sees the host's files live (its package
// directory, ../testdata, sibling packages, $GOROOT), nothing is packed.
// Skips are listed with their reasons (and in the README).
package stdlib

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/tests/harness"
)

// pkg is one package to run, with the tests that cannot pass yet.
type pkg struct {
	path    string
	tags    string
	skip    map[string]string // test name → why it is skipped
	timeout string            // the test binary's -timeout, if not 9m
	// long are tests that pass but take long under TCG: they run only
	// with RUNIKRAFT_LONG=1 (the longer target, ./install.sh long), to keep the
	// default CI short.
	long map[string]string
	cpus int // harts (runikraft run --cpus); 0: stdlibHarts()
	// full runs the package without -short, in the longer target only
	// (its tests at full size: the runtime's multi-core hammering).
	full bool
}

var pkgs = []pkg{
	{path: "sort"},
	{path: "strings"},
	{path: "strconv"},
	{path: "bytes"},
	{path: "unicode/utf8"},
	{path: "math"},
	{path: "container/heap"},
	{path: "sync/atomic"},
	{path: "sync", skip: map[string]string{
		"TestMutexMisuse": "re-executes the test binary: no fork/exec, one application per image",
		"TestIssue76126":  "re-executes the test binary: no fork/exec, one application per image",
	}},
	{path: "time", tags: "timetzdata", long: map[string]string{
		// Skipped by the test itself in -short mode on one CPU.
		"TestLongAdjustTimers": "on 2 harts: a million scheduler round trips within 60 s, about 50 s here on its own under TCG and more beside the package's parallel tests (the Linux guest with 2 vCPUs ran out of the 60 s too)",
	}},
	{path: "encoding/json"},
	{path: "regexp"},
	{path: "math/big"},
	// The filesystem issue's packages.
	// os's Root tests (TestRootMulti*, TestRootConsistency*) take half a
	// minute each on a loaded machine (the whole package took 17 minutes
	// next to two other QEMU workloads): its test binary gets longer.
	{path: "os", timeout: "25m", skip: map[string]string{
		"TestStartProcess":           noExec,
		"TestExecutable":             noExec,
		"TestFileChdirTestlog":       noExec,
		"TestStdPipe":                noExec,
		"TestReadNonblockingFd":      noExec,
		"TestProcessWithHandleLinux": noExec,
		"TestKillStartProcess":       noExec,
		"TestKillFindProcess":        noExec,
		"TestGetppid":                noExec,
		"TestStatStdin":              noExec,
		"TestHostname":               "runs the host's /usr/bin/hostname, which the host view shows: " + noExec,
	}},
	{path: "io"},
	{path: "io/fs"},
	{path: "path/filepath"},
	{path: "bufio"},
	{path: "archive/tar"},
	{path: "archive/zip"},
	{path: "compress/gzip"},
	// The host-share issue's packages: their tests read ../testdata.
	{path: "compress/zlib"},
	{path: "compress/flate"},
	{path: "go/parser"},
	// The networking issue's packages (sockets on the kernel's TCP/IP
	// stack, loopback).
	{path: "net/netip"},
	{path: "net/textproto"},
	{path: "net/rpc"},
	{path: "net/http/httputil"},
	{path: "net", skip: map[string]string{
		"TestSplice": "its splice client is a child process (the test binary run again): no fork/exec",
	}},
	{path: "net/http"},
	{path: "crypto/tls", skip: map[string]string{
		"TestFIPSServerProtocolVersion":  fipsExec,
		"TestFIPSServerCipherSuites":     fipsExec,
		"TestFIPSServerCurves":           fipsExec,
		"TestFIPSServerSignatureAndHash": fipsExec,
	}, long: map[string]string{
		"TestFIPSCertAlgs":                   "about 70 s of RSA key generation under TCG",
		"TestHandshakeChainExpiryResumption": "about 30 s of handshakes under TCG",
	}},
	// Again on two harts: the runtime's parallel paths (GOMAXPROCS 2).
	{path: "sync/atomic", cpus: 2},
	{path: "sync", cpus: 2, skip: map[string]string{
		"TestMutexMisuse": noExec,
		"TestIssue76126":  noExec,
	}},
	// And at full size (no -short), longer target only: under a minute or two each
	// on 2 harts here, the longest test sync/atomic's
	// TestValueSwapConcurrent (about 70 s).
	{path: "sync/atomic", cpus: 2, full: true, skip: map[string]string{
		"TestValueCompareAndSwapConcurrent": "10⁸ Gosched calls at full size: far beyond minutes under TCG (it ran over 3 minutes before it was stopped)",
	}},
	{path: "sync", cpus: 2, full: true, skip: map[string]string{
		"TestMutexMisuse": noExec,
		"TestIssue76126":  noExec,
	}},
}

// Reasons shared by many skips.
const (
	noExec   = "starts a process (the test binary again, or a command): no fork/exec, one application per image"
	fipsExec = "runs the test binary again with GODEBUG=fips140=only: no fork/exec"
)

// stdlibHarts is the hart count for the packages that name none: 1, or
// RUNIKRAFT_STDLIB_CPUS (the whole list again on 2 harts:
// RUNIKRAFT_STDLIB_CPUS=2 go test ./tests/stdlib). It is always passed
// to runikraft run, so its default (the host's CPUs) does not decide
// what a run covers.
func stdlibHarts(t *testing.T) int {
	v := os.Getenv("RUNIKRAFT_STDLIB_CPUS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 32 {
		t.Fatalf("RUNIKRAFT_STDLIB_CPUS=%q: want a number of harts from 1 to 32", v)
	}
	return n
}

// longTests says whether the tests in the pkgs' long lists run too.
func longTests() bool { return os.Getenv("RUNIKRAFT_LONG") == "1" }

var runikraft string

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, func(dir string) (err error) {
		runikraft, err = harness.Tools(dir)
		return err
	}))
}

func TestStdlib(t *testing.T) {
	harts := stdlibHarts(t)
	for _, p := range pkgs {
		switch {
		case p.cpus == 0:
			p.cpus = harts
		case p.cpus == harts && !p.full:
			continue // the whole list runs on these harts already
		}
		name, run := p.path, runikraft+fmt.Sprintf(" run --timeout 30m --host-view --cpus %d", p.cpus)
		if p.cpus > 1 {
			name += fmt.Sprintf(" on %d harts", p.cpus)
		}
		short := "-short"
		if p.full {
			name += " without -short"
			short = "-short=false"
		}
		t.Run(name, func(t *testing.T) {
			// Exactly what a user types: go test -exec 'runikraft run
			// --host-view'. go test runs the command in the package's
			// directory, which is where the test starts in the guest,
			// with the host's files at their own paths around it.
			if p.full && !longTests() {
				t.Skip("at full size: the longer target only (RUNIKRAFT_LONG=1, ./install.sh long)")
			}
			args := []string{"test", "-count=1", short, "-exec", run}
			if p.tags != "" {
				args = append(args, "-tags", p.tags)
			}
			skip := maps.Clone(p.skip)
			if !longTests() {
				if skip == nil {
					skip = map[string]string{}
				}
				maps.Copy(skip, p.long)
			}
			if len(skip) > 0 {
				var names []string
				for name := range skip {
					names = append(names, "^"+name+"$")
				}
				sort.Strings(names)
				args = append(args, "-skip", strings.Join(names, "|"))
			}
			// A test binary's own -timeout catches a hang well before ours;
			// time, the slowest (200,000 timers), takes 3-5 minutes on 2 cores.
			timeout := "9m"
			if p.timeout != "" {
				timeout = p.timeout
			}
			args = append(args, "-timeout", timeout, p.path)
			// A failed first attempt is run once more, so the log says
			// whether the failure repeats. A hang fails the test either
			// way: it is a kernel bug (the one seen, a goroutine never
			// woken in examples, was epoll_pwait not watching files added
			// while it slept), not noise to retry away. Other failures
			// that pass on the second attempt are reported loudly.
			var firstHang string
			for try := 1; try <= 2; try++ {
				cmd := exec.Command("go", args...)
				cmd.Env = kbuild.Env()
				start := time.Now()
				out, err := cmd.CombinedOutput()
				t.Logf("%s: %v in %v (attempt %d)", p.path, err, time.Since(start).Round(time.Second), try)
				ok := err == nil && passed.Match(out)
				hang, hung := hangReport(out)
				switch {
				case ok && firstHang != "":
					t.Errorf("%s HUNG on the first attempt and passed on the second: a hang is a bug, see the first attempt's report above", p.path)
				case ok && try == 2:
					t.Logf("%s: INTERMITTENT FAILURE: failed on the first attempt (not a hang), passed on the second", p.path)
				case ok:
				case hung && try == 1:
					firstHang = hang
					t.Errorf("%s HUNG (attempt 1 of 2; running it again to see whether it repeats):\n%s", p.path, hang)
					continue
				case hung:
					t.Fatalf("%s HUNG again (attempt 2 of 2):\n%s", p.path, hang)
				case try == 1:
					t.Logf("%s failed (attempt 1 of 2, not a hang), running it again:\n%s", p.path, tail(string(out), 40))
					continue
				default:
					t.Fatalf("%s failed inside the unikernel (attempt 2 of 2): %v\n%s", p.path, err, tail(string(out), 60))
				}
				break
			}
		})
	}
}

// hangMarks match what each layer prints when a test binary never
// finishes: the test binary's own -timeout panic, the go command killing
// it after that, and runikraft run's --timeout.
var hangMarks = regexp.MustCompile(`(?m)^panic: test timed out after|^\*\*\* Test killed|^runikraft: timeout after`)

// hangReport returns the part of out that shows a hang, from the first
// mark on (the timeout panic lists the running tests and then the
// goroutines), bounded; ok is false if out shows no hang.
func hangReport(out []byte) (report string, ok bool) {
	loc := hangMarks.FindIndex(out)
	if loc == nil {
		return "", false
	}
	l := strings.Split(string(out[loc[0]:]), "\n")
	if len(l) > 120 {
		l = append(l[:120], fmt.Sprintf("[... %d more lines]", len(l)-120))
	}
	return strings.Join(l, "\n"), true
}

// passed matches go test's line for a package whose tests all passed.
var passed = regexp.MustCompile(`(?m)^ok\s`)

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// TestHangReport checks that each layer's timeout message counts as a
// hang and that other failures do not.
func TestHangReport(t *testing.T) {
	for _, tt := range []struct {
		out  string
		hang bool
	}{
		{"=== RUN   TestSort\npanic: test timed out after 9m0s\n\trunning tests:\n\t\tTestSort (9m0s)\n\ngoroutine 7 [running]:\n", true},
		{"*** Test killed with quit: ran too long (10m0s).\nFAIL\tsort\t600.1s\n", true},
		{"runikraft: timeout after 20m0s\nFAIL\tsort\t1200.3s\n", true},
		{"--- FAIL: TestSort (0.01s)\n    sort_test.go:12: timed out waiting for x\nFAIL\nFAIL\tsort\t3.2s\n", false},
		{"ok  \tsort\t3.2s\n", false},
	} {
		report, hang := hangReport([]byte(tt.out))
		if hang != tt.hang {
			t.Errorf("hangReport(%q) = %v, want %v", tt.out, hang, tt.hang)
		}
		if hang && !strings.Contains(tt.out, report) {
			t.Errorf("report %q is not the end of the output", report)
		}
	}
}

package toolchain

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// Whole test suites of C projects, unchanged from Debian's source
// archive, run with CC=runikraft-cc ./configure && make && make check:
// configure's test programs, make check's test binaries and the shell
// scripts that start them all run through binfmt_misc in the host view
// (the build tree, its subdirectories and $srcdir live, the scripts'
// environment passed on). They take long (configure alone runs hundreds
// of programs, each one a boot), so they run with RUNIKRAFT_LONG=1
// (./install.sh long), not in the default suite.

// long skips t unless the long tests were asked for.
func long(t *testing.T) {
	t.Helper()
	if os.Getenv("RUNIKRAFT_LONG") != "1" {
		t.Skip("a whole test suite: set RUNIKRAFT_LONG=1 (./install.sh long)")
	}
}

// hostViewBinfmt fails t unless binfmt_misc runs application images
// with a runikraft that has the host view (install.sh registers it).
func hostViewBinfmt(t *testing.T) {
	t.Helper()
	interp, ok := harness.Binfmt(harness.ImageHeader)
	if !ok {
		t.Fatal("no runikraft binfmt_misc entry takes application images: run ./install.sh (make check runs the built programs directly)")
	}
	cli, err := filepath.EvalSymlinks(interp)
	if err != nil {
		t.Fatalf("the registered interpreter %s: %v", interp, err)
	}
	if help, _ := exec.Command(cli, "help", "run").CombinedOutput(); !bytes.Contains(help, []byte("--host-view")) {
		t.Fatalf("the registered interpreter %s predates the host view: rerun ./install.sh", interp)
	}
}

// suiteResult is what an automake test suite reported: its counts and
// its failing tests (FAIL and ERROR lines).
type suiteResult struct {
	counts map[string]int // TOTAL, PASS, SKIP, XFAIL, FAIL, XPASS, ERROR
	failed []string
}

var (
	countLine  = regexp.MustCompile(`(?m)^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR): +(\d+)$`)
	failedLine = regexp.MustCompile(`(?m)^(?:FAIL|ERROR): (\S+)$`)
)

// parseSuite reads an automake test-suite.log.
func parseSuite(log string) suiteResult {
	r := suiteResult{counts: map[string]int{}}
	for _, m := range countLine.FindAllStringSubmatch(log, -1) {
		r.counts[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, m := range failedLine.FindAllStringSubmatch(log, -1) {
		r.failed = append(r.failed, m[1])
	}
	sort.Strings(r.failed)
	return r
}

// makeCheck runs make -k check in dir (its status is not the verdict:
// the suites' logs are) with every program bounded by RUNIKRAFT_TIMEOUT,
// and returns the end of its output.
func makeCheck(t *testing.T, dir string, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-k", "-j2", "check"}, args...)...)
	cmd.Dir = dir
	// A program that waits for something the guest cannot have (a FIFO
	// the host writes) would hang the suite: 3 minutes each at most.
	cmd.Env = append(buildEnv(), "RUNIKRAFT_TIMEOUT=3m")
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("make -k check in %s: %v after %v", dir, err, time.Since(start).Round(time.Second))
	if ctx.Err() != nil {
		t.Fatalf("make check did not finish in %v; end of its output:\n%s", timeout, tail(string(out), 60))
	}
	return string(out)
}

// checkSuite logs a suite's counts and each failure, with its cause if
// it is a known one, and fails t for any other failure or for too few
// tests run.
func checkSuite(t *testing.T, name, logPath string, minTotal int, known map[string]string) {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("%s: no test-suite log: %v", name, err)
	}
	r := parseSuite(string(b))
	t.Logf("%s: %d tests: %d pass, %d skip, %d xfail, %d fail, %d xpass, %d error", name,
		r.counts["TOTAL"], r.counts["PASS"], r.counts["SKIP"], r.counts["XFAIL"], r.counts["FAIL"], r.counts["XPASS"], r.counts["ERROR"])
	if r.counts["TOTAL"] < minTotal {
		t.Errorf("%s: %d tests ran, want at least %d", name, r.counts["TOTAL"], minTotal)
	}
	for _, f := range r.failed {
		if cause, ok := known[f]; ok {
			t.Logf("%s: %s fails, known: %s", name, f, cause)
			continue
		}
		t.Errorf("%s: %s fails; its log:\n%s", name, f, tail(readLog(logPath, f), 40))
	}
}

// readLog is the log of one test of a suite (name.log next to the
// suite's log, for a test named name.sh or name).
func readLog(suiteLog, test string) string {
	base := strings.TrimSuffix(test, filepath.Ext(test))
	b, err := os.ReadFile(filepath.Join(filepath.Dir(suiteLog), base+".log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// valgrindCause is why sed's scripts that use valgrind fail on a host
// that has it.
const valgrindCause = "runs sed under the host's valgrind when there is one, which cannot run a riscv64 program (as under qemu-user; a host without valgrind skips it)"

// noExecCause is why sed's scripts that use its e command fail.
const noExecCause = "sed's e command or s///e flag runs a shell (popen): no fork/exec in the unikernel, \"sed: error in subprocess\""

// stdinCause is why gnulib's tests of a seekable stdin fail.
const stdinCause = "stdin redirected from a file (< file) is a stream in the guest (a virtio-console port), so its position cannot be sought or shared"

// gnulibKnown are the failures of sed's gnulib-tests, with their causes.
var gnulibKnown = map[string]string{
	"test-fcntl":            "execs itself (execve): no fork/exec in the unikernel",
	"test-pthread_sigmask1": "system(): no fork/exec in the unikernel",
	"test-sigprocmask":      "system(): no fork/exec in the unikernel",
	"test-fflush2.sh":       stdinCause,
	"test-fseek.sh":         stdinCause,
	"test-fseek2.sh":        stdinCause,
	"test-fseeko.sh":        stdinCause,
	"test-fseeko2.sh":       stdinCause,
	"test-ftell.sh":         stdinCause,
	"test-ftell2.sh":        stdinCause,
	"test-ftello.sh":        stdinCause,
	"test-ftello2.sh":       stdinCause,
	"test-lseek.sh":         stdinCause,
	"test-select-in.sh":     "select on stdin redirected from a file or /dev/null: stdin is a virtio-console stream in the guest",
}

// sedKnown are the failures of sed's suite in the unikernel, with their
// causes (see the README's C test suites).
var sedKnown = map[string]string{
	"testsuite/execute-tests.sh":      noExecCause,
	"testsuite/eval.sh":               noExecCause,
	"testsuite/sandbox.sh":            noExecCause,
	"testsuite/posix-mode-s.sh":       noExecCause,
	"testsuite/unbuffered.sh":         "sed -u 1q leaves the rest of a shared stdin to the next command; runikraft run passes stdin to a virtio-console port and reads ahead of what the guest took, so the rest is gone",
	"testsuite/bug32082.sh":           valgrindCause,
	"testsuite/bug32271-2.sh":         valgrindCause,
	"testsuite/newline-dfa-bug.sh":    valgrindCause,
	"testsuite/invalid-mb-seq-UMR.sh": valgrindCause,
	"testsuite/panic-tests.sh":        "mkfifo on the host, then sed -i on it while the host writes into it: over 9p a FIFO is the guest's own (as with Linux's v9fs), so the host's writer is never seen and sed waits until RUNIKRAFT_TIMEOUT",
}

// TestSedSuite builds GNU sed 4.9 and runs its whole make check: sed's
// own shell-script tests (testsuite/, which run the built sed on data
// files of the source tree) and gnulib's C tests (gnulib-tests/).
func TestSedSuite(t *testing.T) {
	long(t)
	timed(t)
	need(t, "make", "make")
	hostViewBinfmt(t)
	src := harness.DebianSource(t, "sed")
	step(t, src, 40*time.Minute, nil, "./configure", "CC=runikraft-cc")
	step(t, src, 30*time.Minute, nil, "make", "-j2")
	out := makeCheck(t, src, 120*time.Minute)
	t.Logf("end of make check's output:\n%s", tail(out, 30))
	checkSuite(t, "sed testsuite", filepath.Join(src, "test-suite.log"), 60, sedKnown)
	checkSuite(t, "sed gnulib-tests", filepath.Join(src, "gnulib-tests", "test-suite.log"), 150, gnulibKnown)
}

// TestLibarchiveSuite builds libarchive 3.6 and runs its library tests:
// libarchive_test, one program of several hundred tests that read their
// fixtures (uuencoded archives) from libarchive/test in the source tree
// and write scratch files under $TMPDIR, all through the host view. The
// sysroot has none of the optional compression or crypto libraries, so
// the tests of those formats report skips, as on a host without them.
func TestLibarchiveSuite(t *testing.T) {
	long(t)
	timed(t)
	need(t, "make", "make")
	hostViewBinfmt(t)
	src := harness.DebianSource(t, "libarchive")
	step(t, src, 40*time.Minute, nil, "./configure", "CC=runikraft-cc", "--without-xml2", "--without-expat", "--without-openssl")
	step(t, src, 60*time.Minute, nil, "make", "-j2", "libarchive_test")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	// The reference directory must be absolute: each test runs in a
	// scratch directory of its own.
	cmd := exec.CommandContext(ctx, "./libarchive_test", "-r", filepath.Join(src, "libarchive", "test"))
	cmd.Dir = src
	cmd.Env = append(buildEnv(), "RUNIKRAFT_TIMEOUT=80m")
	out, err := cmd.CombinedOutput()
	t.Logf("libarchive_test: %v; end of its output:\n%s", err, tail(string(out), 40))
	r, ok := parseLibarchive(string(out))
	if !ok {
		t.Fatalf("libarchive_test printed no totals")
	}
	t.Logf("libarchive_test: %d tests run, %d failed, %d skips reported", r.run, len(r.failed), r.skips)
	if r.run < 500 {
		t.Errorf("libarchive_test ran %d tests, want at least 500", r.run)
	}
	for _, f := range r.failed {
		if cause, ok := libarchiveKnown[f]; ok {
			t.Logf("%s fails, known: %s", f, cause)
			continue
		}
		t.Errorf("%s fails (details under the scratch directory libarchive_test names)", f)
	}
}

// libarchiveResult is what libarchive_test's summary says.
type libarchiveResult struct {
	run, skips int
	failed     []string
}

var (
	laTotal  = regexp.MustCompile(`(?m)^  Tests run: +(\d+)$`)
	laSkips  = regexp.MustCompile(`(?m)^  Skips reported: +(\d+)$`)
	laFailed = regexp.MustCompile(`(?m)^  \d+: (\S+) \(\d+ failures\)$`)
)

// parseLibarchive reads libarchive_test's totals and its failing tests.
func parseLibarchive(out string) (libarchiveResult, bool) {
	var r libarchiveResult
	m := laTotal.FindStringSubmatch(out)
	if m == nil {
		return r, false
	}
	r.run, _ = strconv.Atoi(m[1])
	if m := laSkips.FindStringSubmatch(out); m != nil {
		r.skips, _ = strconv.Atoi(m[1])
	}
	for _, m := range laFailed.FindAllStringSubmatch(out, -1) {
		r.failed = append(r.failed, m[1])
	}
	return r, true
}

// charsetCause is why libarchive's tests of filenames in legacy
// charsets fail: the C library's locale model, not the kernel.
const charsetCause = "sets a locale such as ru_RU.CP866, ru_RU.KOI8-R, ja_JP.eucJP or ja_JP.SJIS and expects libarchive to convert names into its charset; musl accepts any locale name but keeps UTF-8 as the only multibyte charset, so the names come out in UTF-8 (with glibc, a machine without those locales skips these tests)"

// holeCause is why libarchive's sparse-file tests fail on a 9p share:
// 9P2000.L has no message that reports holes, so the kernel (as Linux's
// own 9p client does) answers SEEK_HOLE with the end of the file, and
// the test takes any lseek(SEEK_HOLE) that succeeds as a filesystem that
// reports holes.
const holeCause = "expects the holes of the sparse files it wrote to be reported; over 9p SEEK_HOLE answers the end of the file (one data extent), as Linux's own 9p client does, and the test takes a successful lseek(SEEK_HOLE) as hole reporting"

// libarchiveKnown are libarchive_test's failures in the unikernel, with
// their causes (see the README's C test suites).
var libarchiveKnown = map[string]string{
	"test_sparse_basic":                               holeCause,
	"test_fully_sparse_files":                         holeCause,
	"test_gnutar_filename_encoding_KOI8R_UTF8":        charsetCause,
	"test_gnutar_filename_encoding_KOI8R_CP866":       charsetCause,
	"test_gnutar_filename_encoding_CP1251_UTF8":       charsetCause,
	"test_gnutar_filename_encoding_Russian_Russia":    charsetCause,
	"test_gnutar_filename_encoding_EUCJP_UTF8":        charsetCause,
	"test_gnutar_filename_encoding_CP932_UTF8":        charsetCause,
	"test_pax_filename_encoding_KOI8R":                charsetCause,
	"test_pax_filename_encoding_CP1251":               charsetCause,
	"test_pax_filename_encoding_EUCJP":                charsetCause,
	"test_pax_filename_encoding_CP932":                charsetCause,
	"test_read_format_cpio_filename_UTF8_eucJP":       charsetCause,
	"test_read_format_cpio_filename_CP866_KOI8R":      charsetCause,
	"test_read_format_cpio_filename_KOI8R_CP866":      charsetCause,
	"test_read_format_cpio_filename_UTF8_KOI8R":       charsetCause,
	"test_read_format_cpio_filename_UTF8_CP866":       charsetCause,
	"test_read_format_cpio_filename_eucJP_CP932":      charsetCause,
	"test_read_format_cpio_filename_UTF8_CP932":       charsetCause,
	"test_read_format_cpio_filename_CP866_CP1251":     charsetCause,
	"test_read_format_cpio_filename_CP866_CP1251_win": charsetCause,
	"test_read_format_cpio_filename_KOI8R_CP1251":     charsetCause,
	"test_read_format_cpio_filename_UTF8_CP1251":      charsetCause,
	"test_read_format_gtar_filename_CP866_KOI8R":      charsetCause,
	"test_read_format_gtar_filename_KOI8R_CP866":      charsetCause,
	"test_read_format_gtar_filename_eucJP_CP932":      charsetCause,
	"test_read_format_gtar_filename_CP866_CP1251":     charsetCause,
	"test_read_format_gtar_filename_CP866_CP1251_win": charsetCause,
	"test_read_format_gtar_filename_KOI8R_CP1251":     charsetCause,
	"test_read_format_rar_unicode_CP932":              charsetCause,
	"test_read_format_tar_filename":                   charsetCause,
	"test_read_format_ustar_filename":                 charsetCause,
	"test_read_format_zip_filename_UTF8_eucJP":        charsetCause,
	"test_read_format_zip_filename_CP866_KOI8R":       charsetCause,
	"test_read_format_zip_filename_KOI8R_CP866":       charsetCause,
	"test_read_format_zip_filename_UTF8_KOI8R":        charsetCause,
	"test_read_format_zip_filename_UTF8_CP866":        charsetCause,
	"test_read_format_zip_filename_UTF8_CP932":        charsetCause,
	"test_read_format_zip_filename_CP866_CP1251":      charsetCause,
	"test_read_format_zip_filename_CP866_CP1251_win":  charsetCause,
	"test_read_format_zip_filename_KOI8R_CP1251":      charsetCause,
	"test_read_format_zip_filename_UTF8_CP1251":       charsetCause,
	"test_ustar_filename_encoding_KOI8R_UTF8":         charsetCause,
	"test_ustar_filename_encoding_KOI8R_CP866":        charsetCause,
	"test_ustar_filename_encoding_CP1251_UTF8":        charsetCause,
	"test_ustar_filename_encoding_Russian_Russia":     charsetCause,
	"test_ustar_filename_encoding_EUCJP_UTF8":         charsetCause,
	"test_ustar_filename_encoding_CP932_UTF8":         charsetCause,
	"test_zip_filename_encoding_KOI8R":                charsetCause,
	"test_zip_filename_encoding_ru_RU_CP1251":         charsetCause,
	"test_zip_filename_encoding_Russian_Russia":       charsetCause,
	"test_zip_filename_encoding_EUCJP":                charsetCause,
	"test_zip_filename_encoding_CP932":                charsetCause,
}

// The summary parser, on libarchive_test's two endings (runs without QEMU).
func TestParseLibarchive(t *testing.T) {
	failing := "Totals:\n  Tests run:              612\n  Tests failed:             2\n  Assertions checked: 1234\n  Assertions failed:        3\n  Skips reported:          40\n\nFailing tests:\n  149: test_fuzz_rar (1 failures)\n  300: test_read_x (2 failures)\n\n"
	r, ok := parseLibarchive(failing)
	if !ok || r.run != 612 || r.skips != 40 || strings.Join(r.failed, ",") != "test_fuzz_rar,test_read_x" {
		t.Errorf("parseLibarchive(failing) = %+v, %v", r, ok)
	}
	r, ok = parseLibarchive("Totals:\n  Tests run:              612\n  Tests failed:             0\n  Skips reported:           0\n612 tests passed, no failures\n")
	if !ok || r.run != 612 || len(r.failed) != 0 {
		t.Errorf("parseLibarchive(passing) = %+v, %v", r, ok)
	}
	if _, ok := parseLibarchive("runikraft: timeout after 80m\n"); ok {
		t.Error("parseLibarchive found totals in output without any")
	}
}

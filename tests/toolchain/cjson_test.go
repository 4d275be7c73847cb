package toolchain

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// What cJSON 1.7.15's CMake build registers with ENABLE_CJSON_TEST and
// ENABLE_CJSON_UTILS: 22 test programs (cJSON_test, 18 unity programs for
// the library, 3 for cJSON_Utils), whose unity summaries add up to 155
// test cases. (Debian's updates of the package change only its patches,
// which are not applied: the upstream tarball stays the same.)
const (
	cjsonTests = 22
	cjsonCases = 155
)

// cJSON from Debian's source package `cjson`, built with CMake and the
// toolchain file from `runikraft toolchain cmake`; its own test programs
// must pass inside the unikernel.
//
// The options are cJSON's own: its tests (ENABLE_CJSON_TEST) and those of
// cJSON_Utils (ENABLE_CJSON_UTILS), and a static library
// (BUILD_SHARED_LIBS=Off; cJSON defaults to a shared one, which a static
// application cannot use). parse_examples and json_patch_tests read their
// data from tests/inputs and tests/json-patch-tests, relative to the
// working directory: there is no host filesystem inside the unikernel,
// so every program is linked with those directories baked in as its root
// filesystem (runikraft-cc --rootfs DIR, through CMAKE_EXE_LINKER_FLAGS;
// the guest's working directory is its root).
//
// ctest runs the tests: cJSON registers them as ./NAME, not as targets, so
// CMake's CMAKE_CROSSCOMPILING_EMULATOR is not used and they run through
// binfmt_misc as on a riscv64 machine. Without binfmt_misc each test
// program ctest lists is booted with runikraft run instead.
func TestCJSON(t *testing.T) {
	timed(t)
	need(t, "cmake", "cmake")
	need(t, "ctest", "cmake")
	need(t, "make", "make")
	src := harness.DebianSource(t, "cjson")

	rootfs := t.TempDir()
	for _, d := range []string{"inputs", "json-patch-tests"} {
		if err := os.CopyFS(filepath.Join(rootfs, d), os.DirFS(filepath.Join(src, "tests", d))); err != nil {
			t.Fatal(err)
		}
	}
	build := filepath.Join(t.TempDir(), "build")
	step(t, src, 5*time.Minute, nil, "cmake", "-S", src, "-B", build,
		"-DCMAKE_TOOLCHAIN_FILE="+cmakeToolchain(t),
		"-DENABLE_CJSON_TEST=On", "-DENABLE_CJSON_UTILS=On", "-DBUILD_SHARED_LIBS=Off",
		"-DCMAKE_EXE_LINKER_FLAGS=--rootfs="+rootfs)
	step(t, build, 10*time.Minute, nil, "cmake", "--build", build, "-j2")

	var passed, failed, cases int
	if binfmt() {
		t.Log("binfmt_misc runs riscv64 programs with runikraft: ctest runs the tests")
		out, err := ctest(t, build)
		t.Logf("ctest:\n%s", tail(out, 40))
		m := regexp.MustCompile(`(?m)^\d+% tests passed, (\d+) tests? failed out of (\d+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ctest: %v, no summary line in its output:\n%s", err, tail(out, 200))
		}
		failed, _ = strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		passed = total - failed
		if err != nil && failed == 0 {
			t.Fatalf("ctest: %v", err)
		}
		cases = unityCases(t, out)
	} else {
		t.Log("binfmt_misc has no runikraft entry: booting each test program ctest lists with runikraft run")
		for _, prog := range ctestPrograms(t, build) {
			r := run(t, nil, nil, prog)
			if r.Code == 0 {
				passed++
			} else {
				failed++
				t.Errorf("%s: exit %d\n%s%s", filepath.Base(prog), r.Code, r.Stdout, r.Stderr)
			}
			cases += unityCases(t, r.Stdout)
		}
	}
	t.Logf("cJSON: %d test programs passed, %d failed; %d unity test cases", passed, failed, cases)
	if failed != 0 || passed != cjsonTests {
		t.Errorf("%d of cJSON's test programs passed, %d failed; want all %d to pass", passed, failed, cjsonTests)
	}
	if cases != cjsonCases {
		t.Errorf("the unity test programs report %d test cases in all; want %d", cases, cjsonCases)
	}

	// A test program is an image that boots with QEMU alone, its root
	// filesystem (the test inputs) baked in.
	keep(t, "cjson-parse_examples", filepath.Join(build, "tests", "parse_examples"))
	out, code := bootPlain(t, filepath.Join(build, "tests", "parse_examples"))
	if code != 0 || !strings.Contains(out, "14 Tests 0 Failures 0 Ignored \nOK") {
		t.Errorf("qemu-system-riscv64 -kernel parse_examples: exit %d; want exit 0 and unity's \"14 Tests 0 Failures 0 Ignored\", \"OK\"", code)
	}
}

// cmakeToolchain returns a copy of the file `runikraft toolchain cmake`
// names, checked to run the tests with runikraft run.
func cmakeToolchain(t *testing.T) string {
	out, err := exec.Command(runikraft, "toolchain", "cmake").Output()
	if err != nil {
		t.Fatalf("runikraft toolchain cmake: %v", err)
	}
	b, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("runikraft toolchain cmake: %v", err)
	}
	if !strings.Contains(string(b), "CMAKE_CROSSCOMPILING_EMULATOR") || !strings.Contains(string(b), "runikraft-cc") {
		t.Errorf("runikraft toolchain cmake: %s sets no emulator or compiler:\n%s", out, b)
	}
	// A private copy: the sysroot's file names whichever tools last wrote it.
	path := filepath.Join(t.TempDir(), "runikraft.cmake")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ctest runs the build's tests, two at a time, each test's output in the
// log (-V), and returns the output.
func ctest(t *testing.T, build string) (string, error) {
	cmd := exec.Command("ctest", "-V", "-j2", "--timeout", "180")
	cmd.Dir = build
	cmd.Env = buildEnv()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ctest -V -j2 --timeout 180 (%v)", time.Since(start).Round(time.Millisecond))
	return string(out), err
}

// unityCases adds up unity's "N Tests F Failures I Ignored" summaries.
func unityCases(t *testing.T, out string) int {
	n := 0
	for _, m := range regexp.MustCompile(`(?m)(?:^|: )(\d+) Tests (\d+) Failures (\d+) Ignored`).FindAllStringSubmatch(out, -1) {
		c, _ := strconv.Atoi(m[1])
		if m[2] != "0" {
			t.Errorf("unity: %s", m[0])
		}
		n += c
	}
	return n
}

// ctestPrograms lists the test programs ctest would run, as paths.
func ctestPrograms(t *testing.T, build string) []string {
	cmd := exec.Command("ctest", "--show-only=json-v1")
	cmd.Dir = build
	cmd.Env = buildEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ctest --show-only=json-v1: %v", err)
	}
	var list struct {
		Tests []struct {
			Name       string   `json:"name"`
			Command    []string `json:"command"`
			Properties []struct {
				Name  string `json:"name"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("ctest --show-only=json-v1: %v", err)
	}
	var progs []string
	for _, tc := range list.Tests {
		if len(tc.Command) != 1 {
			t.Fatalf("test %s: command %q: want a program without arguments", tc.Name, tc.Command)
		}
		prog := tc.Command[0]
		for _, p := range tc.Properties {
			if dir, ok := p.Value.(string); ok && p.Name == "WORKING_DIRECTORY" && !filepath.IsAbs(prog) {
				prog = filepath.Join(dir, prog)
			}
		}
		progs = append(progs, prog)
	}
	return progs
}

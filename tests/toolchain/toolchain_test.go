// Package toolchain builds real third-party C code, unmodified, from
// Debian's source archive with runikraft-cc (configure && make, plain
// Makefiles, CMake) during the test run, and checks what the programs do
// inside the unikernel: GNU hello, Lua 5.4, cJSON's own test suite, the
// SQLite shell; and what the unikernel does to programs that go wrong
// (stack canaries, W^X).
//
// The tools are built fresh into a temporary directory laid out like the
// repository (bin/ with runikraft, runikraft-kernel.img, runikraft-cc,
// runikraft-ld; sysroot/ pointing at the repository's musl sysroot), so
// the wrappers find the sysroot and the kernel as installed ones do.
// Programs that the builds themselves start (configure's test programs,
// ctest's tests) go through binfmt_misc, whose entry is the runikraft that
// install.sh registered (bin/runikraft-binfmt); the tests boot the results
// with the fresh runikraft, or with qemu-system-riscv64 alone.
//
// The sources come from Debian's archive with apt-get source (the upstream
// tarballs, cached in ~/.cache/runikraft/src; see harness.DebianSource).
package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/tests/harness"
)

var (
	binDir    string // runikraft, runikraft-kernel.img, runikraft-cc, runikraft-ld
	runikraft string // the CLI in binDir
	cc        string // runikraft-cc in binDir
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	start := time.Now()
	binDir = filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return err
	}
	if runikraft, err = harness.Tools(binDir); err != nil {
		return err
	}
	if err := harness.CTools(binDir); err != nil {
		return err
	}
	cc = filepath.Join(binDir, "runikraft-cc")
	// The wrappers look for the sysroot at bin/../sysroot. A directory of
	// links to the repository's keeps the CMake toolchain file, which
	// `runikraft toolchain cmake` writes into the sysroot and which names
	// this temporary bin/, out of the repository's sysroot.
	sysroot, err := harness.Sysroot()
	if err != nil {
		return err
	}
	view := filepath.Join(dir, "sysroot")
	if err := os.Mkdir(view, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"include", "lib", ".stamp"} {
		if err := os.Symlink(filepath.Join(sysroot, name), filepath.Join(view, name)); err != nil {
			return err
		}
	}
	if _, err := exec.LookPath("riscv64-linux-gnu-gcc"); err != nil {
		return errors.New("riscv64-linux-gnu-gcc (which runikraft-cc drives) missing: run ./install.sh (Debian package gcc-riscv64-linux-gnu)")
	}
	fmt.Printf("toolchain: tools built in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// buildEnv is the environment of every build step: the tools first in
// PATH, and nothing from the caller's environment that would change how
// the projects build or which sysroot and kernel the wrappers take.
func buildEnv() []string {
	drop := map[string]bool{
		"CC": true, "CXX": true, "CPP": true, "LD": true, "AR": true, "RANLIB": true,
		"CFLAGS": true, "CPPFLAGS": true, "LDFLAGS": true, "LIBS": true,
		"MAKEFLAGS": true, "MFLAGS": true, "MAKELEVEL": true, "CONFIG_SITE": true,
		"CMAKE_TOOLCHAIN_FILE": true, "CMAKE_GENERATOR": true, "CTEST_PARALLEL_LEVEL": true,
		"RUNIKRAFT_SYSROOT": true, "RUNIKRAFT_KERNEL": true, "RUNIKRAFT_CROSS": true,
		"RUNIKRAFT_CFLAGS": true, "RUNIKRAFT_LDFLAGS": true, "RUNIKRAFT_APP_ONLY": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case drop[k]:
		case k == "PATH":
			env = append(env, "PATH="+binDir+string(os.PathListSeparator)+v)
		default:
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// binfmt reports whether binfmt_misc runs the images runikraft-cc
// writes with runikraft (install.sh registers it where it can): then
// configure scripts run their test programs as on a native machine and
// need no --host.
func binfmt() bool {
	_, ok := harness.Binfmt(harness.ImageHeader)
	return ok
}

// configureHost is the --host argument configure needs, if any.
func configureHost(t *testing.T) []string {
	if binfmt() {
		t.Log("binfmt_misc runs riscv64 programs with runikraft: configure without --host")
		return nil
	}
	t.Log("binfmt_misc has no runikraft entry for application images: configure --host=riscv64-linux-musl (cross compiling)")
	return []string{"--host=riscv64-linux-musl"}
}

// step runs one build step in dir with buildEnv (plus env), its output in
// a log file, and fails t with the log's end if it fails or outlasts
// timeout.
func step(t *testing.T, dir string, timeout time.Duration, env []string, name string, args ...string) {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "step-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(buildEnv(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	line := strings.Join(append(env, cmd.Args...), " ")
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v", timeout)
		}
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("in %s: %s: %v after %v; end of its output:\n%s", dir, line, err, took, tail(string(log), 60))
	}
	t.Logf("%s (%v)", line, took)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// run boots program with `runikraft run --timeout 3m FLAGS... PROGRAM
// ARGS...`, stdin given (nil: none), and returns how it ended.
func run(t *testing.T, stdin []byte, flags []string, program string, args ...string) harness.Result {
	t.Helper()
	argv := append(append(append([]string{"run", "--timeout", "3m"}, flags...), program), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runikraft, argv...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := harness.Result{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		res.Code = exit.ExitCode()
	default:
		t.Fatalf("runikraft run %s: %v", filepath.Base(program), err)
	}
	t.Logf("%s %q: exit %d in %v\nstdout: %q\nstderr: %q", filepath.Base(program), args, res.Code,
		time.Since(start).Round(time.Millisecond), clip(res.Stdout), clip(res.Stderr))
	return res
}

// clip shortens long output for the log.
func clip(s string) string {
	if len(s) > 2000 {
		return s[:1000] + "\n[...]\n" + s[len(s)-1000:]
	}
	return s
}

// bootPlain boots image the way any riscv64 boot loader would, with no
// runikraft in between: qemu-system-riscv64 -M virt -nographic -kernel
// IMAGE. QEMU's exit status is the guest's (the kernel powers off through
// the SiFive test finisher); the output is the UART's, OpenSBI's banner
// first. Arguments, if any, go on QEMU's -append in the kernel's
// command-line format, as any boot loader can pass them.
func bootPlain(t *testing.T, image string, args ...string) (string, int) {
	t.Helper()
	qemu, err := exec.LookPath("qemu-system-riscv64")
	if err != nil {
		t.Fatal("qemu-system-riscv64 missing: run ./install.sh (Debian package qemu-system-misc)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	qargs := []string{"-M", "virt", "-nographic", "-kernel", image}
	if len(args) > 0 {
		cmdline, err := bootargs.Encode(append([]string{filepath.Base(image)}, args...), nil)
		if err != nil {
			t.Fatal(err)
		}
		qargs = append(qargs, "-append", cmdline)
	}
	cmd := exec.CommandContext(ctx, qemu, qargs...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s: qemu-system-riscv64 -kernel %s did not end within 3m; output:\n%s", filepath.Base(image), image, out.String())
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	// -nographic leaves the terminal's line endings: the UART sends \r\n.
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	t.Logf("qemu-system-riscv64 -M virt -nographic -kernel %s: exit %d in %v\n%s", filepath.Base(image), code, time.Since(start).Round(time.Millisecond), clip(text))
	return text, code
}

// toolchainEnv returns `runikraft toolchain env` as a map.
func toolchainEnv(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(runikraft, "toolchain", "env").Output()
	if err != nil {
		t.Fatalf("runikraft toolchain env: %v", err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		if !ok {
			t.Fatalf("runikraft toolchain env: unexpected line %q", l)
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		}
		env[k] = v
	}
	return env
}

// compile builds a test program from testdata with runikraft-cc.
func compile(t *testing.T, src string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(src), ".c"))
	abs, err := filepath.Abs(filepath.Join("testdata", src))
	if err != nil {
		t.Fatal(err)
	}
	step(t, filepath.Dir(out), 2*time.Minute, nil, cc, append(append([]string{"-o", out}, flags...), abs)...)
	return out
}

// need fails t unless the host has program, naming what installs it.
func need(t *testing.T, program, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(program); err != nil {
		t.Fatalf("%s missing: run ./install.sh (Debian package %s)", program, pkg)
	}
}

// timed logs how long the whole test took (for the CI budget).
func timed(t *testing.T) {
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s took %v", t.Name(), time.Since(start).Round(time.Millisecond)) })
}

// keep copies a built image to $RUNIKRAFT_KEEP_IMAGES/name when that is
// set: go run ./bench/boot -apps builds the apps through these tests and
// measures what they leave there.
func keep(t *testing.T, name, image string) {
	t.Helper()
	dir := os.Getenv("RUNIKRAFT_KEEP_IMAGES")
	if dir == "" {
		return
	}
	b, err := os.ReadFile(image)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), b, 0o755)
	}
	if err != nil {
		t.Fatalf("keeping %s for the benchmark: %v", name, err)
	}
}

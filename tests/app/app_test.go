// Package app runs real static riscv64 Linux programs (Go, and C on
// glibc from Debian's cross gcc) with runikraft run on the stock kernel
// in QEMU, and checks their output and exit status.
package app

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

	"github.com/runikraft/runikraft/internal/kbuild"
)

var (
	runikraft string                // the CLI, next to runikraft-kernel.img
	programs  = map[string]string{} // name → built program
)

func TestMain(m *testing.M) { os.Exit(setup(m)) }

func setup(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runikraft-app-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir); err != nil {
		fmt.Println(err)
		return 1
	}
	return m.Run()
}

func build(dir string) error {
	runikraft = filepath.Join(dir, "runikraft")
	if out, err := exec.Command("go", "build", "-o", runikraft, "github.com/runikraft/runikraft/cmd/runikraft").CombinedOutput(); err != nil {
		return fmt.Errorf("build runikraft: %v\n%s", err, out)
	}
	if _, err := kbuild.Build(context.Background(), kbuild.Options{
		Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel",
		Out: filepath.Join(dir, "runikraft-kernel.img"), Stderr: os.Stderr,
	}); err != nil {
		return err
	}
	goapp := filepath.Join(dir, "goapp")
	cmd := exec.Command("go", "build", "-o", goapp, "./testdata/goapp")
	cmd.Env = kbuild.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build goapp: %v\n%s", err, out)
	}
	programs["goapp"] = goapp
	if _, err := exec.LookPath("riscv64-linux-gnu-gcc"); err != nil {
		return errors.New("riscv64-linux-gnu-gcc missing: run ./install.sh")
	}
	for _, name := range []string{"hello", "threads", "malloc"} {
		out := filepath.Join(dir, "c-"+name)
		cc := exec.Command("riscv64-linux-gnu-gcc", "-static", "-O2", "-pthread", "-o", out, filepath.Join("testdata", "c", name+".c"))
		if b, err := cc.CombinedOutput(); err != nil {
			return fmt.Errorf("cc %s: %v\n%s", name, err, b)
		}
		programs["c-"+name] = out
	}
	return nil
}

type result struct {
	stdout, stderr string
	code           int
}

// run boots program with runikraft run; flags go before the program.
func run(t *testing.T, flags []string, program string, args ...string) result {
	t.Helper()
	path, ok := programs[program]
	if !ok {
		t.Fatalf("no program %q", program)
	}
	argv := append(append(append([]string{"run", "--timeout", "3m"}, flags...), path), args...)
	cmd := exec.Command(runikraft, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	res := result{stdout: out.String(), stderr: errb.String()}
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("runikraft run: %v", err)
	}
	t.Logf("%s %v: exit %d in %v\nstdout: %q\nstderr: %q", program, args, res.code, time.Since(start).Round(time.Millisecond), res.stdout, res.stderr)
	return res
}

func expect(t *testing.T, r result, code int, stdout string) {
	t.Helper()
	if r.code != code || r.stdout != stdout {
		t.Fatalf("exit %d stdout %q; want exit %d stdout %q (stderr %q)", r.code, r.stdout, code, stdout, r.stderr)
	}
}

func TestGoArgsAndEnv(t *testing.T) {
	r := run(t, []string{"-e", "RK_B=two words", "-e", "RK_A=1"}, "goapp", "args", "x y", "", "ü\t")
	expect(t, r, 0, "args=[\"x y\" \"\" \"ü\\t\"] env=[\"RK_A=1\" \"RK_B=two words\"]\n")
}

func TestGoExitStatus(t *testing.T) {
	expect(t, run(t, nil, "goapp", "exit"), 7, "exiting 7\n")
}

func TestGoPanic(t *testing.T) {
	r := run(t, nil, "goapp", "panic")
	if r.code != 2 || !strings.Contains(r.stderr, "panic: assignment to entry in nil map") || !strings.Contains(r.stderr, "main.main()") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// A nil dereference is a page fault, delivered as SIGSEGV to Go's
// handler, which turns it into a panic that recover catches.
func TestGoNilDereferenceRecovered(t *testing.T) {
	expect(t, run(t, nil, "goapp", "nil"), 0, "recovered: runtime error: invalid memory address or nil pointer dereference\n")
}

func TestGoGoroutinesAndTimers(t *testing.T) {
	expect(t, run(t, nil, "goapp", "goroutines"), 0, "sum=328350 ticks>=10:true threads>1:true\n")
}

func TestGoChurnsFourTimesMemory(t *testing.T) {
	r := run(t, []string{"-m", "64M"}, "goapp", "churn")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "churned 256 MiB") {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A goroutine in a tight loop is preempted with SIGURG.
func TestGoSpinDoesNotStarve(t *testing.T) {
	expect(t, run(t, nil, "goapp", "spin"), 0, "not starved\n")
}

func TestCHello(t *testing.T) {
	expect(t, run(t, []string{"-e", "RK_C=yes"}, "c-hello", "x", "5"), 5, "hello from C, argc=3 [x] [5] env=yes\n")
}

func TestCThreads(t *testing.T) {
	expect(t, run(t, nil, "c-threads"), 0, "counter=1600 joined=280\n")
}

func TestCMallocChurn(t *testing.T) {
	expect(t, run(t, nil, "c-malloc"), 0, "malloc churn ok\n")
}

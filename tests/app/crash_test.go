package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/tests/harness"
)

// The kernel survives what an application does wrong, and says what
// happened.

func cc(t *testing.T, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if err := harness.BuildC(out, filepath.Join("testdata", "c", name+".c"), flags...); err != nil {
		t.Fatal(err)
	}
	programs[name+strings.Join(flags, "")] = out
	return name + strings.Join(flags, "")
}

func TestCrashReport(t *testing.T) {
	r := run(t, nil, cc(t, "crash", "-static", "-g"))
	if r.Code != 128+11 {
		t.Fatalf("exit %d, want 139", r.Code)
	}
	out := r.Stdout + r.Stderr
	for _, want := range []string{"about to crash", "SIGSEGV (signal 11)", "(poke+", "fault address 0x0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestHostileCallsRefused(t *testing.T) {
	r := run(t, nil, cc(t, "hostile", "-static"))
	if r.Code != 0 || !strings.Contains(r.Stdout, "hostile: all refused cleanly") {
		t.Fatalf("exit %d\n%s", r.Code, r.Stdout)
	}
}

// A dynamically linked program is refused with a message naming its
// interpreter, not a kernel fault.
func TestDynamicProgramRefused(t *testing.T) {
	r := run(t, nil, cc(t, "hello"))
	if r.Code != 126 || !strings.Contains(r.Stdout+r.Stderr, "dynamically linked (interpreter /lib/ld-linux-riscv64-lp64d.so.1)") {
		t.Fatalf("exit %d, output %q", r.Code, r.Stdout+r.Stderr)
	}
}

// Garbage that still looks like a riscv64 ELF to the host: the kernel's
// loader refuses it.
func TestMalformedProgramRefused(t *testing.T) {
	src, err := os.ReadFile(programs["c-hello"])
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), src[:4096]...) // headers only: segments point past the end
	path := filepath.Join(t.TempDir(), "truncated")
	if err := os.WriteFile(path, bad, 0o755); err != nil {
		t.Fatal(err)
	}
	programs["truncated"] = path
	r := run(t, nil, "truncated")
	if r.Code == 0 || r.Code == 70 || !strings.Contains(r.Stdout+r.Stderr, "runikraft:") {
		t.Fatalf("exit %d, output %q", r.Code, r.Stdout+r.Stderr)
	}
}

// A system call whose handler panics (a kernel bug) ends the application
// with the documented status 71 and a report carrying the call, its
// arguments and the Go stack; the machine still powers off. The kernel is
// the stock one built with the test-only hook (posix/bughook.go).
func TestSyscallPanicContained(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "bughook-kernel.img")
	if _, err := kbuild.Build(context.Background(), kbuild.Options{
		Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel",
		Out: kernel, Tags: "runikraft_bughook", Stderr: os.Stderr,
	}); err != nil {
		t.Fatal(err)
	}
	r := run(t, []string{"--kernel", kernel}, cc(t, "bughook", "-static"))
	if r.Code != abi.ExitSyscallBug {
		t.Fatalf("exit %d, want %d", r.Code, abi.ExitSyscallBug)
	}
	if strings.Contains(r.Stdout, "survived") || !strings.Contains(r.Stdout, "calling the panicking hook") {
		t.Errorf("stdout %q", r.Stdout)
	}
	for _, want := range []string{"kernel bug: system call runikraft_bughook (31499) panicked", "index out of range [-1]", "args 0xffffffffffffffff 0x2 0x3", "posix.sysBugHook("} {
		if !strings.Contains(r.Stdout+r.Stderr, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

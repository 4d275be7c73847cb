// Package kvm boots images under real RISC-V KVM, nested (package
// internal/kvmrig): runikraft run --kvm-nested starts QEMU TCG with the
// hypervisor extension, Debian's riscv64 Linux loads kvm.ko there and runs
// Debian's riscv64 QEMU with -accel kvm, which boots the image. The tests
// check the image's output and that its exit status reaches the host.
//
// The default run boots the two cheapest meaningful images (a C program
// built with runikraft-cc, and one that faults). RUNIKRAFT_KVM_FULL=1 adds
// a Go application (goroutines, timers, GC churn), the kernel's
// self-test image and a device-interrupt check. The first run builds the rig into the user's cache
// (about 150 MB downloaded by apt from the Debian archive, 30-90 s).
package kvm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/internal/kvmrig"
	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string
	images    = map[string]string{}
)

// A nested boot takes 4-20 s here; the bound leaves room for a loaded
// machine without letting a hung guest hold CI.
const nestedTimeout = "4m"

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
	cc := func(name, src string) error {
		out := filepath.Join(dir, name)
		cmd := exec.Command(filepath.Join(dir, "runikraft-cc"), "-O2", "-o", out, src)
		cmd.Env = append(os.Environ(), "RUNIKRAFT_SYSROOT="+sysroot)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("runikraft-cc %s: %v\n%s", src, err, b)
		}
		images[name] = out
		return nil
	}
	if err := cc("c-hello", "../app/testdata/c/hello.c"); err != nil {
		return err
	}
	if err := cc("c-crash", "../app/testdata/c/crash.c"); err != nil {
		return err
	}
	if full() {
		images["goapp"] = filepath.Join(dir, "goapp")
		cmd := exec.Command(runikraft, "go", "build", "-o", images["goapp"], "../app/testdata/goapp")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("runikraft go build goapp: %v\n%s", err, b)
		}
		for _, k := range []string{"selftest", "rng"} {
			images[k] = filepath.Join(dir, k+".img")
			if _, err := kbuild.Build(context.Background(), kbuild.Options{
				Dir: "../boot", Pkg: "./kernels/" + k, Out: images[k], Stderr: os.Stderr,
			}); err != nil {
				return err
			}
		}
	}
	// Build (or find) the rig up front, bounded, so a download problem
	// is reported as such and not as a test's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	rig, err := kvmrig.Ensure(ctx, kvmrig.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("kvm: rig ready in %v: Linux %s (%s), QEMU %s\n", time.Since(start).Round(time.Millisecond),
		rig.Versions.Linux, rig.Versions.KernelPackage, rig.Versions.QEMU)
	return nil
}

func full() bool { return os.Getenv("RUNIKRAFT_KVM_FULL") == "1" }

func needFull(t *testing.T) {
	if !full() {
		t.Skip("set RUNIKRAFT_KVM_FULL=1 for the longer nested-KVM tests")
	}
}

func nested(t *testing.T, image string, args ...string) harness.Result {
	t.Helper()
	return harness.Run(t, runikraft, []string{"--kvm-nested", "--timeout", nestedTimeout, "-e", "RK_C=kvm"}, images[image], args...)
}

// The C program's greeting, arguments and environment reach it, and its
// exit status (the last argument) reaches the host through the nested
// QEMU, the outer Linux and the outer QEMU.
func TestCHello(t *testing.T) {
	r := nested(t, "c-hello", "under kvm", "42")
	harness.Expect(t, r, 42, "hello from C, argc=3 [under kvm] [42] env=kvm\n")
}

// A null-pointer write is a page fault KVM delegates to the guest; the
// kernel kills the app with SIGSEGV, status 128+11.
func TestCrash(t *testing.T) {
	r := nested(t, "c-crash")
	if r.Code != 139 {
		t.Fatalf("exit %d, want 139 (stdout %q, stderr %q)", r.Code, r.Stdout, r.Stderr)
	}
	// On the UART (the nested console) the kernel's report follows the
	// app's output.
	for _, want := range []string{"about to crash\n", "SIGSEGV (signal 11)", "(poke+"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q: %q", want, r.Stdout)
		}
	}
}

func TestGoGoroutinesAndTimers(t *testing.T) {
	needFull(t)
	harness.Expect(t, nested(t, "goapp", "goroutines"), 0, "sum=328350 ticks>=10:true threads>1:true\n")
}

func TestGoGCChurn(t *testing.T) {
	needFull(t)
	r := nested(t, "goapp", "churn")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "churned 256 MiB, ") {
		t.Fatalf("exit %d, stdout %q; want 0 and churned 256 MiB", r.Code, r.Stdout)
	}
}

func TestGoNilPointerRecovered(t *testing.T) {
	needFull(t)
	harness.Expect(t, nested(t, "goapp", "nil"), 0, "recovered: runtime error: invalid memory address or nil pointer dereference\n")
}

// The kernel's own self-test (goroutine ring, select, sleep against the
// clock, GC, maps, recover, mutex) under KVM's timer and SBI.
func TestSelftest(t *testing.T) {
	needFull(t)
	r := nested(t, "selftest")
	for _, name := range []string{"ring", "select", "sleep", "gc", "maps", "recover", "mutex"} {
		if !strings.Contains(r.Stdout, "ok "+name+" (") {
			t.Errorf("check %s did not pass", name)
		}
	}
	if r.Code != 0 || !strings.Contains(r.Stdout, "selftest: all passed") {
		t.Fatalf("exit %d; output:\n%s", r.Code, r.Stdout)
	}
}

// The virtio-rng driver waits for the device's interrupt: under KVM the
// PLIC has S-mode contexts only (hart 0's is context 0, not TCG's 1), so
// this passes only if the kernel takes the context from the device tree.
func TestDeviceInterrupt(t *testing.T) {
	needFull(t)
	r := nested(t, "rng")
	if r.Code != 0 || !strings.Contains(r.Stdout, "rng: ok virtio-rng\n") || !strings.HasSuffix(r.Stdout, "rng: ok\n") {
		t.Fatalf("exit %d; output:\n%s", r.Code, r.Stdout)
	}
}

package app

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/qemu"
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/tests/harness"
)

// bakeGoapp makes an application image of goapp with default args/env.
func bakeGoapp(t *testing.T, args ...string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "goapp.img")
	if _, err := appimage.Write(appimage.Options{
		Kernel: filepath.Join(filepath.Dir(runikraft), "runikraft-kernel.img"),
		App:    programs["goapp"], Args: args, Env: []string{"RK_BAKED=yes"},
	}, img); err != nil {
		t.Fatal(err)
	}
	return img
}

// plainQEMU boots img the way the issue promises it boots: QEMU and the
// file (and extra QEMU arguments), nothing else. It returns what followed
// the firmware's banner, which must be the application's output alone:
// the kernel prints no console marker unless runikraft run asks.
func plainQEMU(t *testing.T, img string, extra ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", append([]string{"-M", "virt", "-nographic", "-kernel", img}, extra...)...)
	cmd.Stdin = nil
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("qemu: %v", err)
	}
	if bytes.Contains(out, []byte(abi.ConsoleMarker)) {
		t.Errorf("the console marker is in a plain boot's output: %q", out)
	}
	after := qemu.StripBanner(out)
	t.Logf("plain QEMU: exit %d, %q", code, after)
	return string(after), code
}

func TestImageBootsOnPlainQEMU(t *testing.T) {
	out, code := plainQEMU(t, bakeGoapp(t, "args", "baked arg"))
	if want := "args=[\"baked arg\"] env=[\"RK_BAKED=yes\"]\n"; code != 0 || out != want {
		t.Fatalf("exit %d, output %q; want 0 and exactly %q", code, out, want)
	}
	// A Linux-style command line: KEY=VALUE words are the environment
	// (over the baked one), the words after -- the arguments.
	img := bakeGoapp(t, "args", "baked arg")
	out, code = plainQEMU(t, img, "-append", `RK_FOO=bar RK_BAKED=no -- args a 'b c'`)
	if want := "args=[\"a\" \"b c\"] env=[\"RK_BAKED=no\" \"RK_FOO=bar\"]\n"; code != 0 || out != want {
		t.Fatalf("-append: exit %d, output %q; want 0 and exactly %q", code, out, want)
	}
	// A word the kernel cannot use: one warning line, then the app.
	out, code = plainQEMU(t, img, "-append", `quiet -- args x`)
	if want := "runikraft: warning: kernel command line: ignoring \"quiet\": not KEY=VALUE (application arguments go after --)\nargs=[\"x\"] env=[\"RK_BAKED=yes\"]\n"; code != 0 || out != want {
		t.Fatalf("-append quiet: exit %d, output %q; want 0 and exactly %q", code, out, want)
	}
	_, code = plainQEMU(t, bakeGoapp(t, "exit"))
	if code != 7 {
		t.Fatalf("exit status %d through plain QEMU, want 7", code)
	}
}

func TestImageDefaultsAndOverrides(t *testing.T) {
	img := bakeGoapp(t, "args", "baked")
	expect(t, harness.Run(t, runikraft, nil, img), 0, "args=[\"baked\"] env=[\"RK_BAKED=yes\"]\n")
	// Arguments replace the baked ones; -e adds to and overrides the
	// baked environment.
	expect(t, harness.Run(t, runikraft, []string{"-e", "RK_BAKED=no", "-e", "RK_MORE=1"}, img, "args", "given"), 0,
		"args=[\"given\"] env=[\"RK_BAKED=no\" \"RK_MORE=1\"]\n")
	// An image baked without a root filesystem takes one from --rootfs.
	expect(t, harness.Run(t, runikraft, []string{"--rootfs", t.TempDir()}, img), 0, "args=[\"baked\"] env=[\"RK_BAKED=yes\"]\n")
}

func TestGoBuildAndInspect(t *testing.T) {
	img := filepath.Join(t.TempDir(), "app.img")
	cmd := exec.Command(runikraft, "go", "build", "-o", img, "./testdata/goapp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runikraft go build: %v\n%s", err, out)
	}
	expect(t, harness.Run(t, runikraft, nil, img, "exit"), 7, "exiting 7\n")
	out, err := exec.Command(runikraft, "inspect", img).CombinedOutput()
	if err != nil {
		t.Fatalf("runikraft inspect: %v\n%s", err, out)
	}
	for _, want := range []string{"kernel:  github.com/runikraft/runikraft/kernel/cmd/kernel", "app:     app.img (static, Go go1.", "rootfs:  none"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}

// With install.sh's binfmt_misc entry, an image runs like a program.
func TestImageRunsThroughBinfmt(t *testing.T) {
	if _, ok := harness.Binfmt(harness.ImageHeader); !ok {
		t.Skip("no runikraft binfmt_misc entry here takes application images (install.sh registers one where binfmt_misc is usable; rerun it after an update)")
	}
	img := bakeGoapp(t, "args")
	out, err := exec.Command(img, "args", "direct").Output()
	if want := "args=[\"direct\"] env=[\"RK_BAKED=yes\"]\n"; err != nil || string(out) != want {
		t.Fatalf("running %s directly: %v, %q; want %q", img, err, out, want)
	}
}

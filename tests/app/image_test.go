package app

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	return plainQEMUInput(t, img, nil, extra...)
}

// plainQEMUInput is plainQEMU with stdin (nil: none) on QEMU's standard
// input, which -nographic gives the UART.
func plainQEMUInput(t *testing.T, img string, stdin []byte, extra ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", append([]string{"-M", "virt", "-nographic", "-kernel", img}, extra...)...)
	cmd.Stdin = nil
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
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

// Input piped to plain QEMU reaches the application through the UART,
// whole, though the kernel starts the UART's receiver only at the
// application's first read of stdin and the input is there long before
// (QEMU holds it back while the UART's FIFO is full). The first byte of
// input that is there when QEMU starts can be lost (seen with the
// kernel before the receiver started late too, and not from a shell
// pipe): the input starts with a newline the program does not count.
func TestImageReadsStdinOnPlainQEMU(t *testing.T) {
	in := append(append([]byte("\n"), bytes.Repeat([]byte("stdin-bytes "), 250)...), '.')
	out, code := plainQEMUInput(t, bakeGoapp(t, "stdin"), in)
	if want := "stdin: 3000 bytes before the dot\n"; code != 0 || out != want {
		t.Fatalf("exit %d, output %q; want 0 and exactly %q", code, out, want)
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

// runikraft go build bakes a program that uses sockets with the kernel
// that has the TCP/IP stack, as runikraft-cc does: with the stock one its
// first socket() fails with EAFNOSUPPORT.
func TestGoBuildNetworkingKernel(t *testing.T) {
	img := filepath.Join(t.TempDir(), "gonet.img")
	out, err := exec.Command(runikraft, "go", "build", "-o", img, "./testdata/gonet").CombinedOutput()
	if err != nil {
		t.Fatalf("runikraft go build: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "baked with the networking kernel") {
		t.Errorf("runikraft go build said %q; want the networking kernel named", out)
	}
	expect(t, harness.Run(t, runikraft, nil, img, "tcp"), 0, "tcp4 echo: 262144 bytes\ntcp6 echo: 262144 bytes\nhttp: 200 hello from /unikernel\nudp: datagram\n")
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

// relink writes a copy of the ELF program src whose segments and entry
// are moved so that the lowest load lands at base: a static program
// linked where the machine's RAM, firmware or kernel are.
func relink(t *testing.T, src string, base uint64) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	phoff, phnum := le.Uint64(b[32:]), uint64(le.Uint16(b[56:]))
	if phoff+phnum*56 > uint64(len(b)) {
		t.Fatalf("%s: program headers out of the file", src)
	}
	low := ^uint64(0)
	for i := uint64(0); i < phnum; i++ {
		p := b[phoff+i*56:]
		if le.Uint32(p) == uint32(elf.PT_LOAD) {
			low = min(low, le.Uint64(p[16:]))
		}
	}
	d := base - low&^0xfff
	for i := uint64(0); i < phnum; i++ {
		p := b[phoff+i*56:]
		if le.Uint64(p[16:]) != 0 {
			le.PutUint64(p[16:], le.Uint64(p[16:])+d) // p_vaddr
			le.PutUint64(p[24:], le.Uint64(p[24:])+d) // p_paddr
		}
	}
	le.PutUint64(b[24:], le.Uint64(b[24:])+d) // e_entry
	out := filepath.Join(t.TempDir(), fmt.Sprintf("hello-at-%#x", base))
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestProgramInKernelSpaceRefused: a static Linux program whose load
// addresses are the firmware's or the kernel's RAM, or in the kernel
// half, used to boot as a machine image and hang until the timeout; it
// is refused at once with 97 and one line.
func TestProgramInKernelSpaceRefused(t *testing.T) {
	for _, c := range []struct {
		base uint64
		why  string
	}{
		{0x8020_0000, "a Linux program linked at 0x80200000"},
		{0x8000_0000, "a Linux program linked at 0x80000000"},
		{0xffff_ffc0_0000_0000, "in the kernel half of the address space"},
	} {
		img := relink(t, programs["c-hello"], c.base)
		start := time.Now()
		r := harness.Run(t, runikraft, []string{"--timeout", "20s"}, img)
		if r.Code != 97 || r.Stdout != "" || !strings.Contains(r.Stderr, c.why) || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%#x: exit %d, stdout %q, stderr %q; want 97 and one line saying %q", c.base, r.Code, r.Stdout, r.Stderr, c.why)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%#x: refused only after %v", c.base, d)
		}
	}
}

// TestRootfsTooLargeForMemory: a root filesystem QEMU cannot place in
// -m is refused with one line naming the -m it needs, and that -m runs.
func TestRootfsTooLargeForMemory(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 24<<20)
	for i := range big {
		big[i] = byte(i * 7) // incompressible enough; the archive is not compressed anyway
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	r := harness.Run(t, runikraft, []string{"-m", "32M", "--rootfs", dir}, programs["c-hello"])
	m := regexp.MustCompile(`^runikraft: \S+: the .* do not fit in -m 32MiB: it needs -m (\d+)M or more\n$`).FindStringSubmatch(r.Stderr)
	if r.Code != 2 || r.Stdout != "" || m == nil {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and one line with the -m needed", r.Code, r.Stdout, r.Stderr)
	}
	r = harness.Run(t, runikraft, []string{"-m", m[1] + "M", "--rootfs", dir}, programs["c-hello"])
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "hello") {
		t.Errorf("with the -m it asked for (%sM): exit %d, stdout %q, stderr %q", m[1], r.Code, r.Stdout, r.Stderr)
	}
}

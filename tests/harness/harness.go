// Package harness is what the QEMU test packages share: building the
// runikraft CLI with the stock kernel next to it, building riscv64 test
// programs, and running them with runikraft run.
package harness

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/kbuild"
)

// Tools builds runikraft and runikraft-kernel.img into dir and returns the
// CLI's path (it finds the kernel next to itself).
func Tools(dir string) (string, error) {
	cli := filepath.Join(dir, "runikraft")
	if out, err := exec.Command("go", "build", "-o", cli, "github.com/runikraft/runikraft/cmd/runikraft").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build runikraft: %v\n%s", err, out)
	}
	// The stock kernel, the one with the TCP/IP stack that runikraft run
	// picks for programs that use sockets, and the one without the zone
	// database that runikraft-cc picks for programs that never read it.
	for name, tags := range map[string]string{"runikraft-kernel.img": "", "runikraft-kernel-net.img": "runikraft_net", "runikraft-kernel-notz.img": "runikraft_notz"} {
		if _, err := kbuild.Build(context.Background(), kbuild.Options{
			Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel",
			Out: filepath.Join(dir, name), Tags: tags, Stderr: os.Stderr,
		}); err != nil {
			return "", err
		}
	}
	return cli, nil
}

// BuildGo builds the Go package pkg as a static linux/riscv64 program.
func BuildGo(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = kbuild.Env()
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// BuildC compiles src with Debian's riscv64 cross gcc.
func BuildC(out, src string, flags ...string) error {
	if _, err := exec.LookPath("riscv64-linux-gnu-gcc"); err != nil {
		return errors.New("riscv64-linux-gnu-gcc missing: run ./install.sh")
	}
	args := append(append([]string{"-O2", "-o", out}, flags...), src)
	if b, err := exec.Command("riscv64-linux-gnu-gcc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("cc %s: %v\n%s", src, err, b)
	}
	return nil
}

// Result is how a run ended.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs `runikraft run --timeout 3m FLAGS... PROGRAM ARGS...`.
func Run(t testing.TB, cli string, flags []string, program string, args ...string) Result {
	t.Helper()
	argv := append(append(append([]string{"run", "--timeout", "3m"}, flags...), program), args...)
	cmd := exec.Command(cli, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
	default:
		t.Fatalf("runikraft run: %v", err)
	}
	t.Logf("%s %v: exit %d in %v\nstdout: %q\nstderr: %q", filepath.Base(program), args, res.Code, time.Since(start).Round(time.Millisecond), res.Stdout, res.Stderr)
	return res
}

// Expect fails t unless r ended with code and printed exactly stdout.
func Expect(t testing.TB, r Result, code int, stdout string) {
	t.Helper()
	if r.Code != code || r.Stdout != stdout {
		t.Fatalf("exit %d stdout %q; want exit %d stdout %q (stderr %q)", r.Code, r.Stdout, code, stdout, r.Stderr)
	}
}

// Main is a QEMU test package's TestMain body: build (the tools and the
// package's programs) into a temporary directory, run the tests, clean up.
func Main(m *testing.M, build func(dir string) error) int {
	dir, err := os.MkdirTemp("", "runikraft-test-")
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

// CTools builds the C toolchain, runikraft-cc and runikraft-ld, into dir,
// next to the CLI and kernel Tools put there (the wrappers bake that
// kernel into the images they link). They look for the musl sysroot at
// dir/../sysroot, or $RUNIKRAFT_SYSROOT; Sysroot returns the repository's.
func CTools(dir string) error {
	for name, pkg := range map[string]string{"runikraft-cc": "cc-wrapper", "runikraft-ld": "ld-wrapper"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "github.com/runikraft/runikraft/"+pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
	}
	return nil
}

// Sysroot returns the repository's musl sysroot (sysroot/, built by
// libc-shim/build.sh, which install.sh runs), checking that it is there.
func Sysroot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "", fmt.Errorf("cannot find the repository root (go env GOMOD): %v", err)
	}
	dir := filepath.Join(filepath.Dir(string(bytes.TrimSpace(out))), "sysroot")
	for _, f := range []string{".stamp", "include/stdio.h", "lib/libc.a"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("the musl sysroot %s is missing or incomplete (no %s): run ./install.sh (or libc-shim/build.sh)", dir, f)
		}
	}
	return dir, nil
}

// Installed lays out dir like an installation, bin/ (runikraft,
// runikraft-kernel.img, runikraft-cc, runikraft-ld, freshly built) next to
// sysroot/ (links to the repository's musl sysroot), so the wrappers find
// the sysroot and the kernel as installed ones do. It returns bin/.
func Installed(dir string) (string, error) {
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return "", err
	}
	if _, err := Tools(bin); err != nil {
		return "", err
	}
	if err := CTools(bin); err != nil {
		return "", err
	}
	sysroot, err := Sysroot()
	if err != nil {
		return "", err
	}
	view := filepath.Join(dir, "sysroot")
	if err := os.Mkdir(view, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"include", "lib", ".stamp"} {
		if err := os.Symlink(filepath.Join(sysroot, name), filepath.Join(view, name)); err != nil {
			return "", err
		}
	}
	if _, err := exec.LookPath("riscv64-linux-gnu-gcc"); err != nil {
		return "", errors.New("riscv64-linux-gnu-gcc (which runikraft-cc drives) missing: run ./install.sh (Debian package gcc-riscv64-linux-gnu)")
	}
	return bin, nil
}

// ImageHeader is the start of an application image's ELF header as
// runikraft-cc writes it (a static-pie: ET_DYN), with appimage's mark.
var ImageHeader = func() []byte {
	h := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\xf3\x00")
	copy(h[appimage.IdentMarkOffset:], appimage.IdentMark)
	return h
}()

// Binfmt returns the interpreter of the enabled runikraft binfmt_misc
// entry (install.sh registers them) that takes a file starting with
// header, and whether there is one: an entry registered by an older
// install.sh may not take marked images.
func Binfmt(header []byte) (interp string, ok bool) {
	for _, name := range []string{"runikraft-riscv64", "runikraft-riscv64-other"} {
		b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/" + name)
		if err != nil || !bytes.HasPrefix(b, []byte("enabled")) {
			continue
		}
		var magic, mask []byte
		offset := 0
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, " ")
			switch k {
			case "interpreter":
				interp = v
			case "offset":
				offset, _ = strconv.Atoi(v)
			case "magic":
				magic, _ = hex.DecodeString(v)
			case "mask":
				mask, _ = hex.DecodeString(v)
			}
		}
		if offset != 0 || len(magic) == 0 || len(magic) > len(header) {
			continue
		}
		match := true
		for i := range magic {
			m := byte(0xff)
			if i < len(mask) {
				m = mask[i]
			}
			if header[i]&m != magic[i]&m {
				match = false
			}
		}
		if match {
			return interp, true
		}
	}
	return "", false
}

package loader

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Real riscv64 binaries, built once per test run by the host toolchains.

const crossCC = "riscv64-linux-gnu-gcc"

// rawSource is the libc-free program the loader boot test runs.
const rawSource = "../../tests/boot/kernels/loader/csrc/hello.c"

const goSource = `package main

import "fmt"

func main() { fmt.Println("hello from Go") }
`

// cSource has a thread-local so that glibc builds carry PT_TLS.
const cSource = `#include <stdio.h>
__thread int tls = 1;
int main(int argc, char **argv) { printf("hello %d\n", argc + tls); return 0; }
`

// errNoStaticPIE marks a toolchain that cannot link a glibc static-pie.
var errNoStaticPIE = errors.New("toolchain cannot link a glibc static-pie")

var built struct {
	sync.Mutex
	dir  string
	bins map[string][]byte
	errs map[string]error
}

// testBinary returns the named test binary, building it on first use. It
// skips the test when a C toolchain or static-pie support is missing.
func testBinary(t testing.TB, name string) []byte {
	t.Helper()
	b, err := build(name)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, errNoStaticPIE) {
			t.Skipf("%s: %v", name, err)
		}
		t.Fatalf("build %s: %v", name, err)
	}
	return b
}

func build(name string) ([]byte, error) {
	built.Lock()
	defer built.Unlock()
	if b, ok := built.bins[name]; ok {
		return b, built.errs[name]
	}
	if built.bins == nil {
		built.bins, built.errs = map[string][]byte{}, map[string]error{}
		dir, err := os.MkdirTemp("", "loader-test-")
		if err != nil {
			return nil, err
		}
		built.dir = dir
	}
	b, err := buildUncached(name, filepath.Join(built.dir, name))
	built.bins[name], built.errs[name] = b, err
	return b, err
}

func buildUncached(name, dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "prog")
	raw, err := filepath.Abs(rawSource)
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	switch name {
	case "go":
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(goSource), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
			return nil, err
		}
		// go test puts its own GOROOT/bin first in PATH.
		cmd = exec.Command("go", "build", "-o", out, ".")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	case "c-static", "c-static-pie", "c-dynamic":
		src := filepath.Join(dir, "hello.c")
		if err := os.WriteFile(src, []byte(cSource), 0o644); err != nil {
			return nil, err
		}
		flag := map[string]string{"c-static": "-static", "c-static-pie": "-static-pie", "c-dynamic": "-O2"}[name]
		cmd = exec.Command(crossCC, flag, "-O2", "-o", out, src)
	case "raw-static":
		cmd = exec.Command(crossCC, "-nostdlib", "-static", "-O2", "-o", out, raw)
	case "raw-static-pie":
		cmd = exec.Command(crossCC, "-nostdlib", "-static-pie", "-fPIE", "-O2", "-Wl,--no-dynamic-linker", "-o", out, raw)
	default:
		return nil, fmt.Errorf("no test binary %q", name)
	}
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%s is not installed: %w", cmd.Path, err)
		}
		msg := strings.TrimSpace(stderr.String())
		if name == "c-static-pie" && strings.Contains(msg, "rcrt1.o") {
			// Debian's glibc 2.36 cross libc for riscv64 ships no
			// rcrt1.o: glibc gained riscv static-pie later.
			return nil, fmt.Errorf("%w (%s)", errNoStaticPIE, msg)
		}
		return nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	return os.ReadFile(out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

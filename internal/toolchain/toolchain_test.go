package toolchain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeHost(exe string, env map[string]string) Host {
	return Host{Getenv: func(k string) string { return env[k] }, Exe: exe}
}

func touch(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestSysroot(t *testing.T) {
	root := t.TempDir()
	h := fakeHost(filepath.Join(root, "bin", "runikraft-cc"), nil)
	want := filepath.Join(root, "sysroot")
	if got := h.SysrootPath(); got != want {
		t.Errorf("SysrootPath = %s, want %s", got, want)
	}
	if _, err := h.Sysroot(); err == nil || err.Error() != "sysroot not found at "+want+": run ./install.sh (or set RUNIKRAFT_SYSROOT)" {
		t.Errorf("missing sysroot: err = %v", err)
	}
	touch(t, filepath.Join(want, "include", "stdio.h"))
	if _, err := h.Sysroot(); err == nil || !strings.Contains(err.Error(), "incomplete (no lib/libc.a): run ./install.sh") {
		t.Errorf("incomplete sysroot: err = %v", err)
	}
	touch(t, filepath.Join(want, "lib", "libc.a"))
	touch(t, filepath.Join(want, "lib", "rcrt1.o"))
	if got, err := h.Sysroot(); err != nil || got != want {
		t.Errorf("Sysroot = %q, %v; want %s", got, err, want)
	}
	h = fakeHost(h.Exe, map[string]string{"RUNIKRAFT_SYSROOT": "/elsewhere/"})
	if got := h.SysrootPath(); got != "/elsewhere" {
		t.Errorf("with RUNIKRAFT_SYSROOT: SysrootPath = %s", got)
	}
}

func TestKernel(t *testing.T) {
	root := t.TempDir()
	exe := filepath.Join(root, "bin", "runikraft-ld")
	stock := filepath.Join(root, "bin", KernelName)
	h := fakeHost(exe, nil)
	if _, err := h.Kernel(""); err == nil || !strings.HasPrefix(err.Error(), "kernel not found at "+stock+": run ./install.sh") {
		t.Errorf("no kernel: err = %v", err)
	}
	touch(t, stock)
	if k, err := h.Kernel(""); err != nil || k != stock {
		t.Errorf("Kernel = %q, %v; want %s", k, err, stock)
	}
	other := filepath.Join(root, "other.img")
	h = fakeHost(exe, map[string]string{"RUNIKRAFT_KERNEL": other})
	if _, err := h.Kernel(""); err == nil || !strings.Contains(err.Error(), "(from RUNIKRAFT_KERNEL)") {
		t.Errorf("missing RUNIKRAFT_KERNEL: err = %v", err)
	}
	touch(t, other)
	if k, err := h.Kernel(""); err != nil || k != other {
		t.Errorf("Kernel with RUNIKRAFT_KERNEL = %q, %v", k, err)
	}
	if k, err := h.Kernel(stock); err != nil || k != stock {
		t.Errorf("Kernel(flag) = %q, %v; the flag wins", k, err)
	}
}

func TestCrossGCC(t *testing.T) {
	dir := t.TempDir()
	gcc := filepath.Join(dir, "my-gcc")
	touch(t, gcc)
	if got, err := fakeHost("", map[string]string{"RUNIKRAFT_CROSS": gcc}).CrossGCC(); err != nil || got != gcc {
		t.Errorf("CrossGCC = %q, %v; want %s", got, err, gcc)
	}
	_, err := fakeHost("", map[string]string{"RUNIKRAFT_CROSS": filepath.Join(dir, "nope")}).CrossGCC()
	if err == nil || !strings.Contains(err.Error(), "(from RUNIKRAFT_CROSS)") {
		t.Errorf("missing RUNIKRAFT_CROSS: err = %v", err)
	}
	t.Setenv("PATH", dir)
	if _, err := fakeHost("", nil).CrossGCC(); err == nil || err.Error() != DefaultCross+" not found in PATH: run ./install.sh (or set RUNIKRAFT_CROSS to a riscv64 gcc)" {
		t.Errorf("no cross gcc: err = %v", err)
	}
}

func TestToolPrefix(t *testing.T) {
	tests := map[string]string{
		"/usr/bin/riscv64-linux-gnu-gcc":             "/usr/bin/riscv64-linux-gnu-",
		"/usr/bin/riscv64-linux-gnu-gcc-12":          "/usr/bin/riscv64-linux-gnu-",
		"/opt/rv/bin/riscv64-unknown-linux-musl-gcc": "/opt/rv/bin/riscv64-unknown-linux-musl-",
		"/opt/cc": "/opt/",
	}
	for gcc, want := range tests {
		if got := ToolPrefix(gcc); got != want {
			t.Errorf("ToolPrefix(%s) = %s, want %s", gcc, got, want)
		}
	}
	if got := CrossTool("/usr/bin/riscv64-linux-gnu-gcc", "ar"); got != "/usr/bin/riscv64-linux-gnu-ar" {
		t.Errorf("CrossTool = %s", got)
	}
}

func TestVersionHasNoSpaces(t *testing.T) {
	if v := Version(); v == "" || strings.ContainsAny(v, " \t\n") {
		t.Errorf("Version() = %q", v)
	}
}

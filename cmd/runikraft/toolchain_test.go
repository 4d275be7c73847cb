package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSysroot points the toolchain command at a minimal sysroot and a
// stand-in cross gcc.
func fakeSysroot(t *testing.T) (sysroot, gcc string) {
	t.Helper()
	dir := t.TempDir()
	sysroot = filepath.Join(dir, "sysroot")
	for _, p := range []string{"include/stdio.h", "lib/libc.a", "lib/rcrt1.o"} {
		os.MkdirAll(filepath.Dir(filepath.Join(sysroot, p)), 0o755)
		os.WriteFile(filepath.Join(sysroot, p), nil, 0o644)
	}
	gcc = filepath.Join(dir, "rv-linux-gcc")
	os.WriteFile(gcc, []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("RUNIKRAFT_SYSROOT", sysroot)
	t.Setenv("RUNIKRAFT_CROSS", gcc)
	return sysroot, gcc
}

func TestToolchainEnv(t *testing.T) {
	sysroot, gcc := fakeSysroot(t)
	code, stdout, stderr := runCLI(t, "toolchain", "env")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	for _, want := range []string{
		"export CC=" + filepath.Join(filepath.Dir(exe), "runikraft-cc") + "\n",
		"export AR=" + strings.TrimSuffix(gcc, "gcc") + "ar\n",
		"export PKG_CONFIG_SYSROOT_DIR=" + sysroot + "\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestToolchainCMake(t *testing.T) {
	sysroot, _ := fakeSysroot(t)
	code, stdout, stderr := runCLI(t, "toolchain", "cmake")
	want := filepath.Join(sysroot, "runikraft.cmake")
	if code != 0 || stdout != want+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want %s", code, stdout, stderr, want)
	}
	if b, err := os.ReadFile(want); err != nil || !strings.Contains(string(b), "set(CMAKE_SYSTEM_PROCESSOR riscv64)") {
		t.Errorf("toolchain file: %v\n%s", err, b)
	}
}

func TestToolchainNoSysroot(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	t.Setenv("RUNIKRAFT_SYSROOT", missing)
	code, _, stderr := runCLI(t, "toolchain", "cmake")
	if want := "runikraft: toolchain: sysroot not found at " + missing + ": run ./install.sh (or set RUNIKRAFT_SYSROOT)\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
}

package main

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/toolchain/toolchaintest"
)

func ld(t *testing.T, f *toolchaintest.Fake, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, f.Host(), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAppOnly(t *testing.T) {
	f := toolchaintest.New(t)
	out := filepath.Join(t.TempDir(), "prog")
	code, _, stderr := ld(t, f, "--app-only", "-o", out, "main.o", "-L", "mylib", "-lfoo", "-lpthread", "-pthread", "-rdynamic")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "runikraft-ld: note: dropping -rdynamic") {
		t.Errorf("no note about -rdynamic: %q", stderr)
	}
	calls := f.Calls(t)
	link := strings.Join(calls[len(calls)-1], " ")
	if !strings.Contains(link, "main.o -L mylib -lfoo -lpthread -L"+f.Sysroot+"/lib -L/fake/gcc -Wl,--start-group") {
		t.Errorf("link: %s", link)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}

func TestRelocatable(t *testing.T) {
	f := toolchaintest.New(t)
	if code, _, stderr := ld(t, f, "-r", "-o", "ab.o", "a.o", "b.o"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	calls := f.Calls(t)
	got := strings.Join(calls[len(calls)-1], " ")
	if !strings.Contains(got, "-r -o ab.o a.o b.o") || strings.Contains(got, "rcrt1.o") {
		t.Errorf("ld -r: %s", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "x.c"}, "runikraft-ld: object stops before linking: compile with runikraft-cc\n"},
		{[]string{"--app-only"}, "runikraft-ld: no input files"},
		{[]string{"--env", "X", "a.o"}, `runikraft-ld: --env "X": want KEY=VALUE` + "\n"},
		{[]string{"-shared", "-o", "libx.so", "x.o"}, "runikraft-ld: -shared: stat x.o: no such file or directory\n"},
		{[]string{"-dumpmachine"}, "runikraft-ld: -dumpmachine is a compiler option: ask runikraft-cc\n"},
		{[]string{"--app-only", "--bake", "prog"}, "runikraft-ld: --bake with --app-only"},
		{[]string{"--bake", "prog", "a.o"}, "runikraft-ld: --bake takes a program that is already linked: drop the other inputs (a.o)\n"},
	}
	for _, tt := range tests {
		f := toolchaintest.New(t)
		code, _, stderr := ld(t, f, tt.args...)
		if code != 1 || !strings.HasPrefix(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1, %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestBakeChecksProgram(t *testing.T) {
	f := toolchaintest.New(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	os.WriteFile(prog, toolchaintest.ELF(t, uint16(elf.EM_X86_64), 2, uint16(elf.ET_EXEC)), 0o755)
	out := filepath.Join(dir, "img")
	code, _, stderr := ld(t, f, "--bake", prog, "-o", out)
	if want := "runikraft-ld: --bake: " + prog + " is for EM_X86_64, not riscv64 (EM_RISCV)\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output written for a rejected program")
	}
}

func TestVersion(t *testing.T) {
	f := toolchaintest.New(t)
	// The fake cross ld answers like GNU ld.
	os.WriteFile(filepath.Join(f.Root, "cross", "rv-ld"), []byte("#!/bin/sh\necho 'GNU ld (GNU Binutils for Debian) 2.40'\n"), 0o755)
	code, stdout, _ := ld(t, f, "-v")
	if code != 0 || !strings.HasPrefix(stdout, "runikraft-ld (Runikraft ") || !strings.HasSuffix(stdout, " over GNU ld (GNU Binutils for Debian) 2.40\n") {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

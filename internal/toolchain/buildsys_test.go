package toolchain

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testTools = ToolPaths{BinDir: "/rk/bin", Sysroot: "/rk/sysroot", Prefix: "/usr/bin/riscv64-linux-gnu-"}

func TestCMakeToolchain(t *testing.T) {
	got := CMakeToolchain(testTools)
	for _, line := range []string{
		"set(CMAKE_SYSTEM_NAME Linux)",
		"set(CMAKE_SYSTEM_PROCESSOR riscv64)",
		`set(CMAKE_C_COMPILER "/rk/bin/runikraft-cc")`,
		`set(CMAKE_AR "/usr/bin/riscv64-linux-gnu-ar" CACHE FILEPATH "Archiver")`,
		`set(CMAKE_RANLIB "/usr/bin/riscv64-linux-gnu-ranlib" CACHE FILEPATH "Ranlib")`,
		`set(CMAKE_FIND_ROOT_PATH "/rk/sysroot")`,
		"set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)",
		"set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)",
		"set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)",
		"set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)",
		`set(CMAKE_CROSSCOMPILING_EMULATOR "/rk/bin/runikraft;run")`,
		"set(CMAKE_POSITION_INDEPENDENT_CODE ON)",
	} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("toolchain file lacks %s:\n%s", line, got)
		}
	}
	if strings.Contains(got, "CMAKE_SYSROOT ") || strings.Contains(got, "set(CMAKE_SYSROOT") {
		t.Error("toolchain file sets CMAKE_SYSROOT")
	}
	if q := cmakeQuote(`a"b\c${d}`); q != `"a\"b\\c\${d}"` {
		t.Errorf("cmakeQuote = %s", q)
	}
}

func TestWriteCMakeToolchain(t *testing.T) {
	tp := testTools
	tp.Sysroot = t.TempDir()
	path, err := WriteCMakeToolchain(tp)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(tp.Sysroot, "runikraft.cmake") {
		t.Errorf("path %s", path)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	if _, err := WriteCMakeToolchain(tp); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(old) {
		t.Error("an up-to-date toolchain file was rewritten (CMake would reconfigure)")
	}
	os.WriteFile(path, []byte("stale"), 0o644)
	if _, err := WriteCMakeToolchain(tp); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != CMakeToolchain(tp) {
		t.Error("a stale toolchain file was not rewritten")
	}
	if m, _ := filepath.Glob(filepath.Join(tp.Sysroot, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %q", m)
	}
}

func TestEnvScript(t *testing.T) {
	tp := testTools
	tp.BinDir = "/my dir/bin"
	got := EnvScript(tp)
	for _, line := range []string{
		"export CC='/my dir/bin/runikraft-cc'",
		"export LD='/my dir/bin/runikraft-ld'",
		"export AR=/usr/bin/riscv64-linux-gnu-ar",
		"export RANLIB=/usr/bin/riscv64-linux-gnu-ranlib",
		"export STRIP=/usr/bin/riscv64-linux-gnu-strip",
		"export NM=/usr/bin/riscv64-linux-gnu-nm",
		"export OBJCOPY=/usr/bin/riscv64-linux-gnu-objcopy",
		"export PKG_CONFIG_LIBDIR=/rk/sysroot/lib/pkgconfig",
		"export PKG_CONFIG_SYSROOT_DIR=/rk/sysroot",
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("env script lacks %s:\n%s", line, got)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := map[string]string{
		"":                 "''",
		"/usr/bin/x":       "/usr/bin/x",
		"a b":              "'a b'",
		"it's":             `'it'\''s'`,
		"$HOME":            "'$HOME'",
		"K=v,w:x@y%z+-_./": "K=v,w:x@y%z+-_./",
	}
	for in, want := range tests {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSplitLinkOptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		args    []string
		env     string
		want    LinkOptions
		rest    []string
		wantErr string
	}{
		{
			args: []string{"-o", "app", "--rootfs", dir, "--arg", "-v", "--arg=x y", "--env", "A=1", "--env=B=2=3", "--kernel=k.img", "a.o"},
			want: LinkOptions{Rootfs: dir, Args: []string{"-v", "x y"}, Env: []string{"A=1", "B=2=3"}, Kernel: "k.img"},
			rest: []string{"-o", "app", "a.o"},
		},
		{args: []string{"--app-only", "a.o"}, want: LinkOptions{AppOnly: true}, rest: []string{"a.o"}},
		{args: []string{"a.o"}, env: "1", want: LinkOptions{AppOnly: true}, rest: []string{"a.o"}},
		{args: []string{"a.o"}, env: "0", rest: []string{"a.o"}},
		{args: []string{"--bake", "prog", "-o", "img"}, want: LinkOptions{Bake: "prog"}, rest: []string{"-o", "img"}},
		{args: []string{"--env", "NOVALUE"}, wantErr: `--env "NOVALUE": want KEY=VALUE`},
		{args: []string{"--arg"}, wantErr: "--arg needs a value"},
		{args: []string{"--rootfs", file}, wantErr: "not a directory"},
		{args: []string{"--rootfs", filepath.Join(dir, "nope")}, wantErr: "no such file"},
		{args: []string{"--app-only", "--arg", "x"}, wantErr: "--app-only makes a plain program"},
	}
	for _, tt := range tests {
		o, rest, err := SplitLinkOptions(tt.args, tt.env)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitLinkOptions(%q): err = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("SplitLinkOptions(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(o, tt.want) || !reflect.DeepEqual(rest, tt.rest) {
			t.Errorf("SplitLinkOptions(%q) = %+v, %q; want %+v, %q", tt.args, o, rest, tt.want, tt.rest)
		}
	}
}

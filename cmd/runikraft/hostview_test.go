package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHostEnv(t *testing.T) {
	environ := []string{"PATH=/usr/bin:/bin", "EMPTY=", "NOEQUALS", "=novalue", "LC_ALL=C", "A=b=c", "TMPDIR=/tmp/build-x"}
	env, dropped := hostEnv(environ, "/", "")
	want := []string{"PATH=/usr/bin:/bin", "EMPTY=", "LC_ALL=C", "A=b=c"}
	if !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	if len(dropped) != 3 || !strings.Contains(dropped[2], "TMPDIR=/tmp/build-x") {
		t.Errorf("dropped = %q; want the two malformed entries and TMPDIR", dropped)
	}
	// With the host's /tmp shown, TMPDIR there stays.
	if env, _ := hostEnv([]string{"TMPDIR=/tmp/build-x"}, "/", "/tmp"); len(env) != 1 {
		t.Errorf("with the host's /tmp: env = %q, want TMPDIR kept", env)
	}
	// With only the program's directory shown, a TMPDIR elsewhere goes.
	if env, _ := hostEnv([]string{"TMPDIR=/tmp/build-x"}, "/", "/tmp/go-build1/b001"); len(env) != 0 {
		t.Errorf("with the program's directory in /tmp shown: env = %q, want TMPDIR dropped", env)
	}
	// /tmp itself is the kernel's /tmp: it exists in the guest.
	if env, _ := hostEnv([]string{"TMPDIR=/tmp"}, "/", ""); len(env) != 1 {
		t.Errorf("TMPDIR=/tmp: env = %q, want it kept", env)
	}
	// A view of one directory: TMPDIR must be inside it.
	if env, _ := hostEnv([]string{"TMPDIR=/var/tmp"}, "/home/me", ""); len(env) != 0 {
		t.Errorf("TMPDIR outside the shared directory: env = %q, want it dropped", env)
	}
	if env, _ := hostEnv([]string{"TMPDIR=/home/me/tmp"}, "/home/me", ""); len(env) != 1 {
		t.Errorf("TMPDIR inside the shared directory: env = %q, want it kept", env)
	}
}

func TestGuestSees(t *testing.T) {
	for _, tt := range []struct {
		root, tmp, path string
		want            bool
	}{
		{"/", "", "/usr/bin", true},
		{"/", "", "/tmp", true},
		{"/", "", "/tmp/x", false},
		{"/", "/tmp", "/tmp/x", true},
		{"/", "/tmp/b", "/tmp/b/x", true},
		{"/", "/tmp/b", "/tmp/c", false},
		{"/", "/tmp", "/proc/1", false},
		{"/", "", "/dev/shm/x", false},
		{"/", "", "/devices", true},
		{"/", "", "relative", false},
		{"/home/me", "", "/home/me", true},
		{"/home/me", "", "/home/me/../other", false},
		{"/home/me", "", "/home/meow", false},
	} {
		if got := guestSees(tt.root, tt.tmp, tt.path); got != tt.want {
			t.Errorf("guestSees(%q, %q, %q) = %v, want %v", tt.root, tt.tmp, tt.path, got, tt.want)
		}
	}
}

func TestHostViewFlag(t *testing.T) {
	var f hostViewFlag
	if err := f.Set("true"); err != nil || f.root != "/" {
		t.Errorf(`Set("true"): root %q, %v; want "/"`, f.root, err)
	}
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := f.Set(link); err != nil || f.root != real {
		t.Errorf("Set(a link to %s): root %q, %v; want the real directory %q", dir, f.root, err, real)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Set(file); err == nil {
		t.Errorf("Set(a file) = nil, want an error")
	}
	if err := f.Set(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("Set(a missing directory) = nil, want an error")
	}
}

func TestNewHostViewCwd(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	v, err := newHostView(dir, "/bin/true")
	if err != nil || v.cwd != sub {
		t.Fatalf("newHostView(%s) in %s: %+v, %v", dir, sub, v, err)
	}
	if _, err := newHostView(filepath.Join(dir, "elsewhere"), "/bin/true"); err == nil || !strings.Contains(err.Error(), "not inside") {
		t.Errorf("a view that does not hold the current directory: %v, want an error saying so", err)
	}
	v, err = newHostView("/", "/bin/true")
	if err != nil || (v.tmp == "/tmp") != strings.HasPrefix(sub, "/tmp/") {
		t.Errorf("newHostView(/) in %s: %+v, %v; want the host's /tmp shown exactly when the directory is in it", sub, v, err)
	}
	// Outside /tmp, a program in /tmp brings its own directory.
	t.Chdir("/")
	prog := filepath.Join(sub, "prog")
	if err := os.WriteFile(prog, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	v, err = newHostView("/", prog)
	if want := map[bool]string{true: sub, false: ""}[strings.HasPrefix(sub, "/tmp/")]; err != nil || v.tmp != want {
		t.Errorf("newHostView(/, %s) in /: %+v, %v; want tmp %q", prog, v, err, want)
	}
}

func TestEnvHint(t *testing.T) {
	h := envHint([]string{"SMALL=1", "BIG=" + strings.Repeat("x", 1000), "MID=" + strings.Repeat("y", 100)})
	if !strings.Contains(h, "3 variables") || !strings.Contains(h, "largest BIG (1004 bytes), MID") {
		t.Errorf("envHint: %q", h)
	}
}

func TestBinfmtArgs(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		preserved bool
		want      []string
	}{
		{[]string{"/x/runikraft-binfmt", "/b/sed/sed", "-n", "p"}, false, []string{"runikraft", "run", "--binfmt", "/b/sed/sed", "-n", "p"}},
		{[]string{"/x/runikraft-binfmt", "/b/sed/sed", "sed", "-n", "p"}, true, []string{"runikraft", "run", "--binfmt", "--argv0", "sed", "/b/sed/sed", "-n", "p"}},
		{[]string{"/x/runikraft-binfmt", "/b/prog"}, true, []string{"runikraft", "run", "--binfmt", "/b/prog"}},
	} {
		if got := binfmtArgs(tt.args, tt.preserved); !slices.Equal(got, tt.want) {
			t.Errorf("binfmtArgs(%q, %v) = %q, want %q", tt.args, tt.preserved, got, tt.want)
		}
	}
}

func TestAuxvFlag(t *testing.T) {
	auxv := func(pairs ...uint64) []byte {
		var b []byte
		for _, p := range pairs {
			b = binary.NativeEndian.AppendUint64(b, p)
		}
		return b
	}
	if !auxvFlag(auxv(6, 4096, atFlags, 1, 0, 0), atFlags, atFlagsPreserveArgv0) {
		t.Error("AT_FLAGS 1: not seen")
	}
	if auxvFlag(auxv(6, 4096, atFlags, 0, 0, 0), atFlags, atFlagsPreserveArgv0) {
		t.Error("AT_FLAGS 0: seen")
	}
	if auxvFlag(auxv(6, 4096, 0, 0, atFlags, 1), atFlags, atFlagsPreserveArgv0) {
		t.Error("AT_FLAGS after AT_NULL: seen")
	}
	if auxvFlag(auxv(6)[:5], atFlags, atFlagsPreserveArgv0) {
		t.Error("a cut vector: seen")
	}
}

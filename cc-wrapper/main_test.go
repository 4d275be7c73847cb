package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/toolchain/toolchaintest"
)

// cc runs runikraft-cc on the fake installation.
func cc(t *testing.T, f *toolchaintest.Fake, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, f.Host(), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCompileOnly(t *testing.T) {
	f := toolchaintest.New(t)
	code, _, stderr := cc(t, f, "-O2", "-march=native", "-fPIC", "-DX", "-c", "x.c", "-o", "x.o")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "runikraft-cc: note: dropping -march=native (host-only)\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	calls := f.Calls(t)
	want := []string{"-fstack-protector-strong", "-O2", "-DX", "-c", "x.c", "-o", "x.o",
		"-fPIE", "-nostdinc", "-isystem", filepath.Join(f.Sysroot, "include"), "-isystem", "/fake/gcc/include"}
	if len(calls) != 2 || !reflect.DeepEqual(calls[1], want) {
		t.Errorf("gcc calls %q\nwant [-print-file-name=include] then %q", calls, want)
	}
}

func TestExtraCFLAGS(t *testing.T) {
	f := toolchaintest.New(t)
	f.Env["RUNIKRAFT_CFLAGS"] = `-DMSG="hello world" -g`
	if code, _, stderr := cc(t, f, "-c", "x.c"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	calls := f.Calls(t)
	got := strings.Join(calls[len(calls)-1], "|")
	if !strings.Contains(got, "|x.c|-DMSG=hello world|-g|-fPIE|") {
		t.Errorf("RUNIKRAFT_CFLAGS not split with shell rules: %s", got)
	}
}

func TestResponseFile(t *testing.T) {
	f := toolchaintest.New(t)
	rsp := filepath.Join(t.TempDir(), "args.rsp")
	os.WriteFile(rsp, []byte(`-c "my file.c" -o 'my file.o'`), 0o644)
	if code, _, stderr := cc(t, f, "@"+rsp); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	calls := f.Calls(t)
	got := strings.Join(calls[len(calls)-1], "|")
	if !strings.Contains(got, "|-c|my file.c|-o|my file.o|") {
		t.Errorf("response file not expanded: %s", got)
	}
}

func TestCompileAndLink(t *testing.T) {
	f := toolchaintest.New(t)
	out := filepath.Join(t.TempDir(), "hello")
	code, _, stderr := cc(t, f, "--app-only", "-O2", "-o", out, "hello.c", "util.o", "-lm", "-Wl,--gc-sections")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	calls := f.Calls(t)
	if len(calls) != 3 {
		t.Fatalf("gcc calls %q, want include query, compile, link", calls)
	}
	compile := strings.Join(calls[1], " ")
	if !strings.HasPrefix(compile, "-fstack-protector-strong -O2 -fPIE -nostdinc") || !strings.Contains(compile, " -c hello.c -o ") {
		t.Errorf("compile step: %s", compile)
	}
	obj := calls[1][len(calls[1])-1]
	link := strings.Join(calls[2], " ")
	for _, want := range []string{"-static-pie -nostdlib -nostartfiles", "/lib/rcrt1.o", " -O2 " + obj + " util.o -lm -Wl,--gc-sections -L" + f.Sysroot + "/lib ", "/lib/libc.a"} {
		if !strings.Contains(link, want) {
			t.Errorf("link step lacks %q: %s", want, link)
		}
	}
	got, _ := os.ReadFile(out)
	app, _ := os.ReadFile(f.App)
	// The linked program, marked in its ELF identification's padding
	// (binfmt_misc tells it from other riscv64 programs by the mark).
	want := append([]byte(nil), app...)
	copy(want[appimage.IdentMarkOffset:], appimage.IdentMark)
	if !bytes.Equal(got, want) {
		t.Error("output is not the linked program with runikraft's mark")
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("output mode: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(obj); !os.IsNotExist(err) {
		t.Errorf("temporary object %s left behind", obj)
	}
}

func TestLinkFailureLeavesNoOutput(t *testing.T) {
	f := toolchaintest.New(t)
	t.Setenv("FAKE_FAIL", "1")
	out := filepath.Join(t.TempDir(), "app")
	code, _, stderr := cc(t, f, "--app-only", "-o", out, "a.o")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if stderr != "undefined reference to 'missing'\n" {
		t.Errorf("linker's message not passed through unchanged: %q", stderr)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Errorf("files left at the output: %v", ents)
	}
}

func TestLinkNeedsKernel(t *testing.T) {
	f := toolchaintest.New(t)
	os.Remove(f.Kernel)
	code, _, stderr := cc(t, f, "-o", filepath.Join(t.TempDir(), "app"), "a.o")
	if code != 1 || !strings.Contains(stderr, "runikraft-cc: kernel not found at "+f.Kernel+": run ./install.sh") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if len(f.Calls(t)) != 0 {
		t.Error("linked although there is no kernel to bake with")
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "x.cpp"}, "runikraft-cc: x.cpp: C++ is not supported yet"},
		{[]string{"-x", "c++", "-c", "x.c"}, "runikraft-cc: -x c++: C++ is not supported yet"},
		{[]string{"-c", "x.c", "-o"}, "runikraft-cc: missing argument to '-o'\n"},
	}
	for _, tt := range tests {
		f := toolchaintest.New(t)
		code, _, stderr := cc(t, f, append([]string{"--app-only"}, tt.args...)...)
		if code != 1 || !strings.HasPrefix(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1, %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestSysrootMissing(t *testing.T) {
	f := toolchaintest.New(t)
	os.RemoveAll(f.Sysroot)
	code, _, stderr := cc(t, f, "-c", "x.c")
	if want := "runikraft-cc: sysroot not found at " + f.Sysroot + ": run ./install.sh (or set RUNIKRAFT_SYSROOT)\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
}

func TestQueries(t *testing.T) {
	f := toolchaintest.New(t)
	tests := []struct {
		arg  string
		want string
	}{
		{"-dumpmachine", "riscv64-linux-musl\n"},
		{"-print-sysroot", f.Sysroot + "\n"},
		{"-print-file-name=libc.a", filepath.Join(f.Sysroot, "lib", "libc.a") + "\n"},
		{"--print-file-name=rcrt1.o", filepath.Join(f.Sysroot, "lib", "rcrt1.o") + "\n"},
		{"-print-libgcc-file-name", filepath.Join(f.Sysroot, "lib", "libgcc.a") + "\n"},
		{"-print-prog-name=ar", filepath.Join(f.Root, "cross", "rv-ar") + "\n"},
		{"-print-multiarch", "\n"},
		{"-print-search-dirs", "install: /fake/gcc/\nprograms: =/fake/gcc/\nlibraries: =" + f.Sysroot + "/lib/:/fake/gcc/\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := cc(t, f, tt.arg)
		if code != 0 || stdout != tt.want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", tt.arg, code, stdout, stderr, tt.want)
		}
	}
	// Not in the sysroot: gcc answers.
	cc(t, f, "-print-file-name=include")
	calls := f.Calls(t)
	if last := calls[len(calls)-1]; !reflect.DeepEqual(last, []string{"-print-file-name=include"}) {
		t.Errorf("-print-file-name=include went to gcc as %q", last)
	}
}

func TestVersion(t *testing.T) {
	f := toolchaintest.New(t)
	code, stdout, _ := cc(t, f, "--version")
	first, rest, _ := strings.Cut(stdout, "\n")
	if code != 0 || !strings.HasPrefix(first, "runikraft-cc (Runikraft ") || !strings.HasSuffix(first, ") 12.2.0") {
		t.Errorf("exit %d, first line %q", code, first)
	}
	if !strings.Contains(rest, "Free Software Foundation") {
		t.Errorf("gcc's copyright lines dropped: %q", rest)
	}
}

func TestNoInputs(t *testing.T) {
	f := toolchaintest.New(t)
	os.RemoveAll(f.Sysroot) // gcc -v needs no sysroot
	if code, _, stderr := cc(t, f, "-v"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if calls := f.Calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], []string{"-v"}) {
		t.Errorf("gcc calls %q, want [[-v]]", calls)
	}
}

func TestVersionText(t *testing.T) {
	in := "riscv64-linux-gnu-gcc (Debian 12.2.0-13) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.\n\nwarranty"
	want := "runikraft-cc (Runikraft v1.0) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.\n\nwarranty\n"
	if got := versionText(in, "v1.0"); got != want {
		t.Errorf("versionText:\n got %q\nwant %q", got, want)
	}
}

func TestLinkToDevNull(t *testing.T) {
	f := toolchaintest.New(t)
	before, err := os.Stat(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	if code, _, stderr := cc(t, f, "--app-only", "-o", os.DevNull, "a.o"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	after, err := os.Stat(os.DevNull)
	if err != nil || after.Mode() != before.Mode() || after.Mode().IsRegular() {
		t.Fatalf("%s replaced: mode %v, was %v (%v)", os.DevNull, after.Mode(), before.Mode(), err)
	}
}

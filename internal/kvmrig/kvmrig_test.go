package kvmrig

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/qemu"
)

const testNonce = "00112233"

// feed writes s to a fresh filter in chunks of n bytes.
func feed(s string, n int) (*frameFilter, string, string) {
	var out, errw bytes.Buffer
	f := newFrameFilter(&out, &errw, testNonce)
	for len(s) > 0 {
		k := min(n, len(s))
		f.Write([]byte(s[:k]))
		s = s[k:]
	}
	f.end()
	return f, out.String(), errw.String()
}

func TestFrameFilter(t *testing.T) {
	const fr = "\nrkvm-" + testNonce + " "
	for _, tc := range []struct {
		name, in, out, errw string
		done                bool
		status              int
		failure             string
	}{
		{"exit", "hello\n" + fr + "exit 3 12345\n[ 1.0] reboot: Power down\n", "hello\n", "", true, 3, ""},
		{"no newline before", "partial" + fr + "exit 0\n", "partial", "", true, 0, ""},
		{"stderr then exit", "out\n" + fr + "stderr 6\nwarn!\n" + fr + "exit 1\n", "out\n", "warn!\n", true, 1, ""},
		{"stderr body holds a frame", fr + "stderr 11\n" + fr[:11] + fr + "exit 5\n", "", fr[:11], true, 5, ""},
		{"fail", "x" + fr + "fail load /kvm.ko: no such device\n", "x", "", false, 0, "load /kvm.ko: no such device"},
		{"other nonce is output", "\nrkvm-ffff exit 9\n", "\nrkvm-ffff exit 9\n", "", false, 0, ""},
		{"prefix at the end is released", "abc\nrkvm-" + testNonce, "abc\nrkvm-" + testNonce, "", false, 0, ""},
		{"bad status", fr + "exit 300\n", "", "", false, 0, `bad exit frame "exit 300"`},
		{"unknown", fr + "what\n", "", "", false, 0, `unknown frame "what"`},
	} {
		for _, n := range []int{1, 2, 5, 1 << 20} {
			f, out, errw := feed(tc.in, n)
			if out != tc.out || errw != tc.errw || f.done != tc.done || f.status != tc.status || f.failure != tc.failure {
				t.Errorf("%s (chunks of %d): out %q stderr %q done %v status %d failure %q; want %q %q %v %d %q",
					tc.name, n, out, errw, f.done, f.status, f.failure, tc.out, tc.errw, tc.done, tc.status, tc.failure)
			}
		}
	}
}

func TestFrameExitTime(t *testing.T) {
	f, _, _ := feed("\nrkvm-"+testNonce+" exit 0 2500000000\n", 3)
	if !f.done || f.ran != 2500*time.Millisecond {
		t.Fatalf("done %v ran %v; want 2.5s", f.done, f.ran)
	}
}

func TestFrameHeaderBounded(t *testing.T) {
	f, _, _ := feed("\nrkvm-"+testNonce+" "+strings.Repeat("x", 2*maxFrameHeader), 100)
	if f.failure == "" || f.done {
		t.Fatalf("an endless header line was accepted (failure %q)", f.failure)
	}
}

func TestMirrorIn(t *testing.T) {
	list := "# comment\ndeb-src http://a/debian bookworm main\ndeb [signed-by=/k.gpg arch=amd64] http://b/debian bookworm main\n"
	if got := mirrorIn(list, false, "bookworm"); got != "http://b/debian" {
		t.Errorf("one-line: %q", got)
	}
	if got := mirrorIn("deb https://x/apt cloud-sdk-bookworm main\n", false, "bookworm"); got != "" {
		t.Errorf("a third-party suite was taken: %q", got)
	}
	sources := "Types: deb\nURIs: http://sec/debian-security\nSuites: bookworm-security\n\n" +
		"Types: deb deb-src\nURIs: http://deb/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
	if got := mirrorIn(sources, true, "bookworm"); got != "http://deb/debian" {
		t.Errorf("deb822: %q", got)
	}
	if got := mirrorIn("Types: deb\nURIs: http://off/debian\nSuites: bookworm\nEnabled: no\n", true, "bookworm"); got != "" {
		t.Errorf("a disabled entry was taken: %q", got)
	}
}

func TestNestedArgs(t *testing.T) {
	args, err := NestedArgs(qemu.Config{Kernel: "/host/app.img", Initrd: "/host/x.cpio", MemoryMiB: 256, CPUs: 1, Append: "a b"})
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Join(args, " ")
	for _, want := range []string{"-accel kvm -cpu host ", "-bios none", "-kernel /run/kernel", "-initrd /run/initrd", "-m 256M", "-append runikraft.marker=1 a b"} {
		if !strings.Contains(s, want) {
			t.Errorf("nested argv %q lacks %q", s, want)
		}
	}
	if slices.Contains(args, "/host/app.img") {
		t.Errorf("nested argv names a host path: %q", s)
	}
	if _, err := NestedArgs(qemu.Config{Kernel: "k", AppConsole: true}); err == nil {
		t.Error("AppConsole accepted")
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/lib/multi"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "usr/lib/multi/libz.so.1.3"), []byte("x"), 0o644)
	os.Symlink("libz.so.1.3", filepath.Join(root, "usr/lib/multi/libz.so.1"))
	os.Symlink("usr/lib", filepath.Join(root, "lib"))
	os.Symlink("/usr/lib/multi/libz.so.1", filepath.Join(root, "usr/lib/abs"))
	os.Symlink("../../../../etc/passwd", filepath.Join(root, "usr/lib/escape"))
	keep := map[string]bool{}
	got, err := resolve(root, "lib/abs", keep)
	if err != nil || got != "usr/lib/multi/libz.so.1.3" {
		t.Fatalf("resolve: %q, %v", got, err)
	}
	for _, p := range []string{"lib", "usr/lib/abs", "usr/lib/multi/libz.so.1", "usr/lib/multi/libz.so.1.3"} {
		if !keep[p] {
			t.Errorf("%s not kept (kept %v)", p, keep)
		}
	}
	if _, err := resolve(root, "usr/lib/escape", map[string]bool{}); err == nil {
		t.Error("a symlink out of the tree was followed")
	}
}

package toolchain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// GNU hello from Debian's source package `hello`: the upstream tarball's
// configure script and Makefile, with only CC=runikraft-cc.
func TestGNUHello(t *testing.T) {
	timed(t)
	need(t, "make", "make")
	src := harness.DebianSource(t, "hello")
	step(t, src, 10*time.Minute, nil, "./configure", append([]string{"CC=runikraft-cc"}, configureHost(t)...)...)
	step(t, src, 10*time.Minute, nil, "make", "-j2")
	hello := filepath.Join(src, "hello")
	keep(t, "hello", hello)
	if binfmt() {
		// Its own suite: shell scripts that run ./hello through
		// binfmt_misc (the host view: the build tree, the scripts'
		// LC_ALL) and compare its output.
		hostViewBinfmt(t)
		makeCheck(t, src, 10*time.Minute)
		checkSuite(t, "hello tests", filepath.Join(src, "test-suite.log"), 5, nil)
		// greeting-2 skips itself unless the moon is full (upstream's
		// joke); the other four always run.
		b, _ := os.ReadFile(filepath.Join(src, "test-suite.log"))
		if r := parseSuite(string(b)); r.counts["PASS"]+r.counts["SKIP"] != 5 || r.counts["PASS"] < 4 {
			t.Errorf("hello's make check: %d of its 5 tests pass and %d skip, want all to pass but greeting-2", r.counts["PASS"], r.counts["SKIP"])
		}
	}

	harness.Expect(t, run(t, nil, nil, hello), 0, "Hello, world!\n")
	harness.Expect(t, run(t, nil, nil, hello, "-t"), 0, "hello, world\n")
	harness.Expect(t, run(t, nil, []string{"-e", "LC_ALL=C"}, hello, "--greeting=Grüß dich, Runikraft"), 0, "Grüß dich, Runikraft\n")

	r := run(t, nil, nil, hello, "--version")
	if first, _, _ := strings.Cut(r.Stdout, "\n"); r.Code != 0 || first != "hello (GNU Hello) 2.10" || !strings.Contains(r.Stdout, "License GPLv3+") {
		t.Errorf("hello --version: exit %d, stdout %q; want exit 0, first line %q", r.Code, r.Stdout, "hello (GNU Hello) 2.10")
	}
	// A bad option: getopt's complaint on stderr, the usage on stdout.
	// (hello 2.10 then carries on and exits 0; with musl, whose wprintf
	// also writes to a byte-oriented stdout, the greeting follows.)
	r = run(t, nil, nil, hello, "--no-such-option")
	if !strings.Contains(r.Stderr, "hello: unrecognized option '--no-such-option'\n") || !strings.HasPrefix(r.Stdout, "Usage: "+hello+" [OPTION]...\n") {
		t.Errorf("hello --no-such-option: exit %d, stdout %q, stderr %q; want getopt's complaint and the usage", r.Code, r.Stdout, r.Stderr)
	}

	// The image is a kernel: it boots with QEMU alone.
	out, code := bootPlain(t, hello)
	if code != 0 || !strings.Contains(out, "Hello, world!\n") {
		t.Errorf("qemu-system-riscv64 -kernel hello: exit %d, output %q; want exit 0 and the greeting", code, out)
	}
	if i, j := strings.Index(out, "OpenSBI"), strings.Index(out, "Hello, world!"); i < 0 || j < i {
		t.Errorf("qemu-system-riscv64 -kernel hello: want OpenSBI's banner before the greeting, got %q", out)
	}
}

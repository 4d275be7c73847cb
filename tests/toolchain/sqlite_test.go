package toolchain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// The SQLite shell from Debian's source package `sqlite3`. Its upstream
// tarball is SQLite's canonical source tree, not the amalgamation: the
// build generates sqlite3.c and shell.c with tclsh and with lemon and
// other generators it compiles for the build machine. So:
//
//	./configure CC=runikraft-cc --disable-tcl --disable-readline
//	make -j2 sqlite3 BCC=gcc
//
// No Tcl extension, and no readline: configure looks for readline.h in
// the build machine's /usr/include (AC_CHECK_FILE) and, when the host has
// libreadline-dev, compiles the shell with it even though the link test
// against the sysroot found no libreadline.
//
// BCC is the compiler for those generators. configure sets it to $CC when
// it is not cross compiling, and with binfmt_misc it is not: a generator
// built with runikraft-cc runs in the unikernel, which cannot read
// parse.y from the host. (With --host, configure finds gcc by itself.)
func TestSQLite(t *testing.T) {
	timed(t)
	need(t, "make", "make")
	need(t, "tclsh", "tcl")
	need(t, "gcc", "gcc")
	src := harness.DebianSource(t, "sqlite3")
	step(t, src, 10*time.Minute, nil, "./configure", append([]string{"CC=runikraft-cc", "--disable-tcl", "--disable-readline"}, configureHost(t)...)...)
	step(t, src, 20*time.Minute, nil, "make", "-j2", "sqlite3", "BCC=gcc")
	sqlite := filepath.Join(src, "sqlite3")
	keep(t, "sqlite3", sqlite)

	// The image boots with QEMU alone (arguments on -append).
	if out, code := bootPlain(t, sqlite, ":memory:", "select 6*7, 'plain';"); code != 0 || !strings.HasSuffix(out, "42|plain\n") {
		t.Errorf("qemu-system-riscv64 -kernel sqlite3: exit %d; want exit 0 and the output to end in \"42|plain\"", code)
	}

	r := run(t, nil, nil, sqlite, "-version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "3.40.1 2022-12-28 14:03:47 df5c253c") {
		t.Errorf("sqlite3 -version: exit %d, stdout %q; want SQLite 3.40.1's version line", r.Code, r.Stdout)
	}

	for _, c := range []struct {
		script string
		args   []string
	}{
		{"memory", nil},                         // in-memory database
		{"file", []string{"/tmp/runikraft.db"}}, // a file in the guest's /tmp
	} {
		sql, err := os.ReadFile("testdata/" + c.script + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/" + c.script + ".out")
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, sql, nil, sqlite, c.args...)
		if r.Code != 0 || r.Stdout != string(want) || r.Stderr != "" {
			t.Errorf("sqlite3 %s < %s.sql: exit %d, stderr %q; want exit 0, no stderr; stdout against %s.out:\n%s",
				strings.Join(c.args, " "), c.script, r.Code, r.Stderr, c.script, lineDiff(string(want), r.Stdout))
		}
	}

	sqliteOnVolume(t, sqlite) // sqlite_volume_test.go

	// An error in the script: reported on stderr, the rest still runs,
	// and the exit status says it failed.
	r = run(t, []byte("SELECT 1;\nSELECT * FROM nosuch;\nSELECT 2;\n"), nil, sqlite)
	if r.Code != 1 || r.Stdout != "1\n2\n" || !strings.Contains(r.Stderr, "Parse error near line 2: no such table: nosuch") {
		t.Errorf("sqlite3 with a bad statement: exit %d, stdout %q, stderr %q; want exit 1, \"1\\n2\\n\", the error", r.Code, r.Stdout, r.Stderr)
	}
}

package toolchain

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// Lua 5.4 from Debian's source package `lua5.4`: upstream's own Makefile
// (Debian's patches replace it with a libtool build, so the upstream
// tarball is what is built). The target is `posix`: LUA_USE_POSIX (mkstemp,
// popen, ...) without `linux`'s dlopen and -Wl,-E, which a static
// application has no use for. Everything else is passed on make's command
// line: CC, and the cross binutils for liblua.a (upstream's default AR is
// "ar rcu", RANLIB "ranlib"), as `runikraft toolchain env` names them.
// The script comes on stdin (lua -).
func TestLua(t *testing.T) {
	timed(t)
	need(t, "make", "make")
	src := harness.DebianSource(t, "lua5.4")
	tc := toolchainEnv(t)
	step(t, src, 10*time.Minute, nil, "make", "-j2", "posix", "CC=runikraft-cc", "AR="+tc["AR"]+" rcu", "RANLIB="+tc["RANLIB"])
	lua := filepath.Join(src, "src", "lua")
	keep(t, "lua", lua)

	r := run(t, nil, nil, lua, "-v")
	harness.Expect(t, r, 0, "Lua 5.4.4  Copyright (C) 1994-2022 Lua.org, PUC-Rio\n")

	// The image boots with QEMU alone (arguments on -append).
	if out, code := bootPlain(t, lua, "-e", "print(string.format('%d-%s', 6*7, 'plain'))"); code != 0 || !strings.HasSuffix(out, "42-plain\n") {
		t.Errorf("qemu-system-riscv64 -kernel lua: exit %d; want exit 0 and the output to end in \"42-plain\"", code)
	}

	script, err := os.ReadFile("testdata/coroutines.lua")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/coroutines.out")
	if err != nil {
		t.Fatal(err)
	}
	r = run(t, script, nil, lua, "-")
	if r.Code != 0 || r.Stdout != string(want) {
		t.Errorf("lua - < coroutines.lua: exit %d, stderr %q, stdout differs from testdata/coroutines.out:\n%s", r.Code, r.Stderr, lineDiff(string(want), r.Stdout))
	}

	// -e, arguments in arg[], and os.exit's status.
	r = run(t, nil, nil, lua, "-e", "print(#arg, arg[1], arg[2]) os.exit(tonumber(arg[2]))", "-", "x y", "7")
	harness.Expect(t, r, 7, "2\tx y\t7\n")

	// An uncaught error: the message and traceback on stderr, status 1.
	r = run(t, []byte("local function f() error('boom') end\nf()\n"), nil, lua, "-")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "lua: stdin:1: boom") || !strings.Contains(r.Stderr, "stack traceback:") {
		t.Errorf("lua error: exit %d, stdout %q, stderr %q; want exit 1 and the error with a traceback", r.Code, r.Stdout, r.Stderr)
	}
}

// lineDiff lists the lines where got differs from want.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

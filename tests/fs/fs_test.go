// Package fs runs real static riscv64 Linux programs (C on glibc, and
// Go) that use the filesystem, with runikraft run on the stock kernel in
// QEMU, and checks their output and exit status.
package fs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string                // the CLI, next to runikraft-kernel.img
	programs  = map[string]string{} // name → built program
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	if runikraft, err = harness.Tools(dir); err != nil {
		return err
	}
	programs["goapp"] = filepath.Join(dir, "goapp")
	if err := harness.BuildGo(programs["goapp"], "./testdata/goapp"); err != nil {
		return err
	}
	programs["fsapp"] = filepath.Join(dir, "fsapp")
	return harness.BuildC(programs["fsapp"], filepath.Join("testdata", "fsapp.c"), "-static", "-pthread")
}

type result = harness.Result

func run(t *testing.T, program string, args ...string) result {
	t.Helper()
	return runFlags(t, nil, program, args...)
}

// runFlags is run with runikraft run flags before the program.
func runFlags(t *testing.T, flags []string, program string, args ...string) result {
	t.Helper()
	return harness.Run(t, runikraft, flags, programs[program], args...)
}

var expect = harness.Expect

func TestCStdioDirentsAndPipe(t *testing.T) {
	expect(t, run(t, "fsapp"), 0, "after seek: 1\n"+
		"size: 14\n"+
		"tmp: notes.txt renamed sub\n"+
		"cwd: /tmp\n"+
		"relative: line 1\n"+
		"pipe: through the pipe\n"+
		"fifo: through the fifo\n")
}

func TestGoFiles(t *testing.T) {
	expect(t, run(t, "goapp"), 0, "entries: a.txt b.txt c.txt\n"+
		"c.txt: size=3 mode=-rw-r-----\n"+
		"urandom nonzero: true\n"+
		"passwd: root:x:0:0:root:/root:/bin/sh\n"+
		"wd: /\n"+
		"link: target symlink=true\n"+
		"fd path: /tmp/target\n"+
		"mmap: mapped contents\n"+
		"shared mmap: SHARED contents\n")
}

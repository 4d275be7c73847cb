// Package fs runs real static riscv64 Linux programs (C on glibc, and
// Go) that use the filesystem, with runikraft run on the stock kernel in
// QEMU, and checks their output and exit status.
package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
)

var (
	runikraft string                // the CLI, next to runikraft-kernel.img
	programs  = map[string]string{} // name → built program
)

func TestMain(m *testing.M) { os.Exit(setup(m)) }

func setup(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runikraft-fs-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir); err != nil {
		fmt.Println(err)
		return 1
	}
	return m.Run()
}

func build(dir string) error {
	runikraft = filepath.Join(dir, "runikraft")
	if out, err := exec.Command("go", "build", "-o", runikraft, "github.com/runikraft/runikraft/cmd/runikraft").CombinedOutput(); err != nil {
		return fmt.Errorf("build runikraft: %v\n%s", err, out)
	}
	if _, err := kbuild.Build(context.Background(), kbuild.Options{
		Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel",
		Out: filepath.Join(dir, "runikraft-kernel.img"), Stderr: os.Stderr,
	}); err != nil {
		return err
	}
	goapp := filepath.Join(dir, "goapp")
	cmd := exec.Command("go", "build", "-o", goapp, "./testdata/goapp")
	cmd.Env = kbuild.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build goapp: %v\n%s", err, out)
	}
	programs["goapp"] = goapp
	if _, err := exec.LookPath("riscv64-linux-gnu-gcc"); err != nil {
		return errors.New("riscv64-linux-gnu-gcc missing: run ./install.sh")
	}
	capp := filepath.Join(dir, "fsapp")
	cc := exec.Command("riscv64-linux-gnu-gcc", "-static", "-O2", "-pthread", "-o", capp, filepath.Join("testdata", "fsapp.c"))
	if b, err := cc.CombinedOutput(); err != nil {
		return fmt.Errorf("cc fsapp: %v\n%s", err, b)
	}
	programs["fsapp"] = capp
	return nil
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, program string, args ...string) result {
	t.Helper()
	return runFlags(t, nil, program, args...)
}

// runFlags is run with runikraft run flags before the program.
func runFlags(t *testing.T, flags []string, program string, args ...string) result {
	t.Helper()
	argv := append(append(append([]string{"run", "--timeout", "3m"}, flags...), programs[program]), args...)
	cmd := exec.Command(runikraft, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	res := result{stdout: out.String(), stderr: errb.String()}
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("runikraft run: %v", err)
	}
	t.Logf("%s %v: exit %d in %v\nstdout: %q\nstderr: %q", program, args, res.code, time.Since(start).Round(time.Millisecond), res.stdout, res.stderr)
	return res
}

func expect(t *testing.T, r result, code int, stdout string) {
	t.Helper()
	if r.code != code || r.stdout != stdout {
		t.Fatalf("exit %d stdout %q; want exit %d stdout %q (stderr %q)", r.code, r.stdout, code, stdout, r.stderr)
	}
}

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
		"mmap: mapped contents\n")
}

package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/tests/harness"
)

// hostViewProgram builds testdata/c/hostview.c once: file operations
// named by its arguments, one output line each.
var hostViewProgram = sync.OnceValues(func() (string, error) {
	out := filepath.Join(filepath.Dir(runikraft), "c-hostview")
	return out, harness.BuildC(out, filepath.Join("testdata", "c", "hostview.c"), "-static")
})

// hostTree makes a directory tree as a build leaves it, outside /tmp (the
// kernel keeps its own /tmp unless the application starts in the
// host's): top/data/in.txt, top/gone.txt, top/sub/ (where the program
// starts). It returns top, removed when the test ends.
func hostTree(t *testing.T) string {
	t.Helper()
	cache, err := harness.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	top, err := os.MkdirTemp(cache, "hostview-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if top, err = filepath.EvalSymlinks(top); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(top, "/tmp/") {
		t.Fatalf("%s is in /tmp: set RUNIKRAFT_CACHE elsewhere for this test", top)
	}
	for _, d := range []string{"data", "sub"} {
		if err := os.Mkdir(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"data/in.txt": "from the host\n", "gone.txt": "delete me\n"} {
		if err := os.WriteFile(filepath.Join(top, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return top
}

// runIn runs argv with dir as the working directory and env added to
// this process's environment.
func runIn(t *testing.T, dir string, env []string, argv ...string) harness.Result {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := harness.Result{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", argv[0], err)
	}
	t.Logf("%q in %s: exit %d in %v\nstdout: %q\nstderr: %q", argv, dir, res.Code, time.Since(start).Round(time.Millisecond), res.Stdout, res.Stderr)
	return res
}

// hostViewOps are the operations of a configure or make check program:
// read from a sibling directory, write next to itself and into a new
// subdirectory, delete and rename in the parent, list /usr/bin (the
// host's), use /tmp (the kernel's), read the environment.
func hostViewOps(tmpName string) []string {
	return []string{
		"cwd", "env:RK_HOSTVIEW", "env:TMPDIR",
		"cat:../data/in.txt",
		"write:out.txt", "mkdir:made", "write:made/deep.txt",
		"rm:../gone.txt", "mv:../data/in.txt:../data/moved.txt",
		"write:" + tmpName, "cat:" + tmpName,
		"exe",
	}
}

// checkHostView checks what hostViewOps did, from the host.
func checkHostView(t *testing.T, top string, r harness.Result, tmpName, exe string) {
	t.Helper()
	sub := filepath.Join(top, "sub")
	want := strings.Join([]string{
		"cwd " + sub,
		"env RK_HOSTVIEW=from the host's environment",
		"env TMPDIR=(unset)",
		"cat ../data/in.txt: from the host",
		"wrote out.txt", "made made", "wrote made/deep.txt",
		"removed ../gone.txt", "moved ../data/in.txt to ../data/moved.txt",
		"wrote " + tmpName, "cat " + tmpName + ": guest wrote " + tmpName,
		"exe " + exe,
	}, "\n") + "\n"
	expect(t, r, 0, want)
	for name, body := range map[string]string{
		"sub/out.txt":       "guest wrote out.txt\n",
		"sub/made/deep.txt": "guest wrote made/deep.txt\n",
		"data/moved.txt":    "from the host\n",
	} {
		if got, err := os.ReadFile(filepath.Join(top, name)); err != nil || string(got) != body {
			t.Errorf("%s on the host: %q, %v; want %q", name, got, err, body)
		}
	}
	for _, name := range []string{"gone.txt", "data/in.txt"} {
		if _, err := os.Lstat(filepath.Join(top, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s on the host after the guest removed it: %v", name, err)
		}
	}
	// /tmp was the kernel's: the guest's file is not on the host.
	if _, err := os.Lstat(tmpName); !errors.Is(err, os.ErrNotExist) {
		os.Remove(tmpName)
		t.Errorf("%s reached the host's /tmp (%v); the kernel's own /tmp should have taken it", tmpName, err)
	}
}

// hostViewEnv is what the host's environment carries into the guest:
// a variable, and a TMPDIR the guest does not have (the host's /tmp is
// hidden by the kernel's), which is dropped.
var hostViewEnv = []string{"RK_HOSTVIEW=from the host's environment", "TMPDIR=/tmp/rk-hostview-no-such-dir"}

func TestHostView(t *testing.T) {
	prog, err := hostViewProgram()
	if err != nil {
		t.Fatal(err)
	}
	top := hostTree(t)
	tmpName := fmt.Sprintf("/tmp/rk-hostview-%d.txt", time.Now().UnixNano())
	r := runIn(t, filepath.Join(top, "sub"), hostViewEnv, append([]string{runikraft, "run", "--timeout", "3m", "--host-view", prog}, hostViewOps(tmpName)...)...)
	checkHostView(t, top, r, tmpName, prog)

	// -e wins over the host's environment; /usr/bin is the host's.
	usrBin, err := os.ReadDir("/usr/bin")
	if err != nil {
		t.Fatal(err)
	}
	r = runIn(t, top, hostViewEnv, runikraft, "run", "--timeout", "3m", "--host-view", "-e", "RK_HOSTVIEW=from -e", prog, "env:RK_HOSTVIEW", "count:/usr/bin")
	expect(t, r, 0, fmt.Sprintf("env RK_HOSTVIEW=from -e\ncount /usr/bin: %d\n", len(usrBin)))

	// Without it the guest has neither the files nor the environment.
	r = runIn(t, filepath.Join(top, "sub"), hostViewEnv, runikraft, "run", "--timeout", "3m", prog, "cwd", "env:RK_HOSTVIEW", "cat:../data/moved.txt")
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "cwd /\nenv RK_HOSTVIEW=(unset)\ncat ../data/moved.txt: No such file") {
		t.Errorf("without --host-view: exit %d, %q; want the guest's own root, no environment", r.Code, r.Stdout)
	}
}

// --host-view=DIR shows DIR alone, at its own path: the rest of the
// tree is the kernel's.
func TestHostViewDir(t *testing.T) {
	prog, err := hostViewProgram()
	if err != nil {
		t.Fatal(err)
	}
	top := hostTree(t)
	r := runIn(t, filepath.Join(top, "sub"), nil, runikraft, "run", "--timeout", "3m", "--host-view="+top, prog,
		"cwd", "cat:"+top+"/data/in.txt", "write:../data/new.txt", "count:/usr/bin")
	if want := "cwd " + top + "/sub\ncat " + top + "/data/in.txt: from the host\nwrote ../data/new.txt\ncount /usr/bin: No such file or directory\n"; r.Code != 1 || r.Stdout != want {
		t.Errorf("exit %d, stdout %q; want 1 and %q", r.Code, r.Stdout, want)
	}
	if got, err := os.ReadFile(filepath.Join(top, "data", "new.txt")); err != nil || string(got) != "guest wrote ../data/new.txt\n" {
		t.Errorf("data/new.txt on the host: %q, %v", got, err)
	}
	// The current directory must be inside DIR.
	r = runIn(t, "/", nil, runikraft, "run", "--timeout", "3m", "--host-view="+top, prog, "cwd")
	if r.Code != 2 || !strings.Contains(r.Stderr, "is not inside") {
		t.Errorf("--host-view=%s run in /: exit %d, stderr %q; want 2 and why", top, r.Code, r.Stderr)
	}
}

// A build in a temporary directory (the host's /tmp): the application
// starts there, so the host's /tmp is shown instead of the kernel's.
func TestHostViewInTmp(t *testing.T) {
	prog, err := hostViewProgram()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dir, "/tmp/") {
		t.Skipf("the test directory %s is not in /tmp", dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("in tmp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, runikraft, "run", "--timeout", "3m", "--host-view", prog, "cwd", "cat:in.txt", "write:out.txt")
	expect(t, r, 0, "cwd "+dir+"\ncat in.txt: in tmp\nwrote out.txt\n")
	if got, err := os.ReadFile(filepath.Join(dir, "out.txt")); err != nil || string(got) != "guest wrote out.txt\n" {
		t.Errorf("out.txt on the host: %q, %v", got, err)
	}
}

// binfmt_misc starts runikraft-binfmt PATH ARGS: that name turns the
// host view on, as it does for an application image (configure's and
// make check's programs are ones).
func TestHostViewBinfmtName(t *testing.T) {
	prog, err := hostViewProgram()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "runikraft-binfmt")
	if err := os.Symlink(runikraft, link); err != nil {
		t.Fatal(err)
	}
	top := hostTree(t)
	img := filepath.Join(top, "sub", "conftest")
	if _, err := appimage.Write(appimage.Options{
		Kernel: filepath.Join(filepath.Dir(runikraft), "runikraft-kernel.img"), App: prog,
	}, img); err != nil {
		t.Fatal(err)
	}
	tmpName := fmt.Sprintf("/tmp/rk-hostview-%d.txt", time.Now().UnixNano())
	r := runIn(t, filepath.Join(top, "sub"), hostViewEnv, append([]string{link, "./conftest"}, hostViewOps(tmpName)...)...)
	checkHostView(t, top, r, tmpName, img)
}

// With the binfmt_misc entry registered (install.sh), ./conftest runs
// directly, as configure and make check run their programs. The entry
// names whichever runikraft install.sh was run for, so this only checks
// it if that one has the host view.
func TestHostViewThroughBinfmt(t *testing.T) {
	interp, ok := harness.Binfmt(harness.ImageHeader)
	if !ok {
		t.Skip("no runikraft binfmt_misc entry here takes application images (install.sh registers one; rerun it after an update)")
	}
	// Under its own name (install.sh links runikraft-binfmt to it)
	// runikraft would take "help" for a program to run.
	cli, err := filepath.EvalSymlinks(interp)
	if err != nil {
		t.Fatalf("the registered interpreter: %v", err)
	}
	help, _ := exec.Command(cli, "help", "run").CombinedOutput()
	if !bytes.Contains(help, []byte("--host-view")) {
		t.Skipf("the registered interpreter %s predates --host-view (rerun install.sh)", interp)
	}
	prog, err := hostViewProgram()
	if err != nil {
		t.Fatal(err)
	}
	top := hostTree(t)
	img := filepath.Join(top, "sub", "conftest")
	// The registered runikraft's own kernel, which knows the host view.
	if _, err := appimage.Write(appimage.Options{
		Kernel: filepath.Join(filepath.Dir(interp), "runikraft-kernel.img"), App: prog,
	}, img); err != nil {
		t.Fatal(err)
	}
	tmpName := fmt.Sprintf("/tmp/rk-hostview-%d.txt", time.Now().UnixNano())
	r := runIn(t, filepath.Join(top, "sub"), hostViewEnv, append([]string{"./conftest"}, hostViewOps(tmpName)...)...)
	checkHostView(t, top, r, tmpName, img)
}

package app

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/tests/harness"
)

// shareProgram builds testdata/c/share.c once: it reads input.txt from
// its working directory and writes result.txt there.
var shareProgram = sync.OnceValues(func() (string, error) {
	out := filepath.Join(filepath.Dir(runikraft), "c-share")
	return out, harness.BuildC(out, filepath.Join("testdata", "c", "share.c"), "-static")
})

// shareDir is a working directory as configure leaves it: an input file,
// a file the program does not touch (with an old mtime), a subdirectory.
func shareDir(t *testing.T, input string) (dir string, untouched time.Time) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input.txt"), []byte(input+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "untouched.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	untouched = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, n := range []string{"input.txt", "untouched.txt"} {
		if err := os.Chtimes(filepath.Join(dir, n), untouched, untouched); err != nil {
			t.Fatal(err)
		}
	}
	return dir, untouched
}

// runIn runs argv with dir as the working directory.
func runIn(t *testing.T, dir string, argv ...string) harness.Result {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
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

// checkShared checks what share.c left in dir after reading input.
func checkShared(t *testing.T, dir string, r harness.Result, input, arg string, untouched time.Time) {
	t.Helper()
	expect(t, r, 0, "cwd="+dir+"\n")
	got, err := os.ReadFile(filepath.Join(dir, "result.txt"))
	if want := input + ":" + strconv.Itoa(len(input)) + ":" + arg + "\n"; err != nil || string(got) != want {
		t.Errorf("result.txt: %q, %v; want %q", got, err, want)
	}
	for _, n := range []string{"input.txt", "untouched.txt"} {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || !fi.ModTime().Equal(untouched) {
			t.Errorf("%s: mtime %v, %v; want it untouched (%v)", n, fi.ModTime(), err, untouched)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".runikraft") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// copyProgram puts a copy of prog at path (os.Link may cross devices).
func copyProgram(t *testing.T, prog, path string) {
	t.Helper()
	b, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestShareCwd(t *testing.T) {
	prog, err := shareProgram()
	if err != nil {
		t.Fatal(err)
	}
	dir, old := shareDir(t, "hello share")
	r := runIn(t, dir, runikraft, "run", "--timeout", "3m", "--share-cwd", prog, "arg1")
	checkShared(t, dir, r, "hello share", "arg1", old)

	// Without the flag the directory is not there in the guest.
	dir2, _ := shareDir(t, "x")
	if r := runIn(t, dir2, runikraft, "run", "--timeout", "3m", prog); r.Code != 2 || !strings.Contains(r.Stderr, "input.txt: No such file") {
		t.Errorf("without --share-cwd: exit %d, %q; want the program's failure to open input.txt", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir2, "result.txt")); err == nil {
		t.Error("result.txt written without --share-cwd")
	}
}

// An application image (what runikraft-cc links, and what configure's
// test programs are) shares the directory too, also when it lies in
// that directory and is named by its absolute path.
func TestShareCwdBakedImage(t *testing.T) {
	prog, err := shareProgram()
	if err != nil {
		t.Fatal(err)
	}
	dir, old := shareDir(t, "baked")
	img := filepath.Join(dir, "conftest")
	if _, err := appimage.Write(appimage.Options{
		Kernel: filepath.Join(filepath.Dir(runikraft), "runikraft-kernel.img"), App: prog,
	}, img); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(img, old, old); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, runikraft, "run", "--timeout", "3m", "--share-cwd", img, "abs")
	checkShared(t, dir, r, "baked", "abs", old)

	// An image with its own root filesystem gets the directory merged in.
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "baked.txt"), []byte("from the image"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, old = shareDir(t, "baked rootfs")
	img = filepath.Join(t.TempDir(), "withroot")
	if _, err := appimage.Write(appimage.Options{
		Kernel: filepath.Join(filepath.Dir(runikraft), "runikraft-kernel.img"), App: prog, Rootfs: root,
	}, img); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, dir, runikraft, "run", "--timeout", "3m", "--share-cwd", img, "root")
	checkShared(t, dir, r, "baked rootfs", "root", old)
}

// binfmt_misc starts runikraft-binfmt PATH ARGS; that name turns
// --share-cwd on.
func TestShareCwdBinfmtName(t *testing.T) {
	prog, err := shareProgram()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "runikraft-binfmt")
	if err := os.Symlink(runikraft, link); err != nil {
		t.Fatal(err)
	}
	dir, old := shareDir(t, "by name")
	copyProgram(t, prog, filepath.Join(dir, "conftest"))
	r := runIn(t, dir, link, "./conftest", "bn")
	checkShared(t, dir, r, "by name", "bn", old)
}

// With the binfmt_misc entry registered (install.sh), ./conftest runs
// directly, as configure runs it. The entry names whichever runikraft
// install.sh was run for, so this only checks it if that one knows
// --share-cwd.
func TestShareCwdThroughBinfmt(t *testing.T) {
	interp, ok := harness.Binfmt(harness.ImageHeader)
	if !ok {
		t.Skip("no runikraft binfmt_misc entry here takes application images (install.sh registers one; rerun it after an update)")
	}
	help, _ := exec.Command(interp, "help", "run").CombinedOutput()
	if !bytes.Contains(help, []byte("--share-cwd")) {
		t.Skipf("the registered interpreter %s predates --share-cwd", interp)
	}
	prog, err := shareProgram()
	if err != nil {
		t.Fatal(err)
	}
	dir, old := shareDir(t, "direct")
	copyProgram(t, prog, filepath.Join(dir, "conftest"))
	r := runIn(t, dir, "./conftest", "d")
	checkShared(t, dir, r, "direct", "d", old)
}

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/payload"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

func TestBinfmtArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"/usr/bin/runikraft-binfmt", "./conftest", "a", "--b"}, []string{"runikraft", "run", "--binfmt", "./conftest", "a", "--b"}},
		{[]string{"runikraft-binfmt"}, []string{"runikraft-binfmt"}},
		{[]string{"runikraft", "run", "x"}, []string{"runikraft", "run", "x"}},
	} {
		if got := binfmtArgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("binfmtArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// shareCwdDir makes a working directory with one file and enters it.
func shareCwdDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return cwd
}

func TestShareCwdDryRun(t *testing.T) {
	q := fakeQEMU(t, "exit 99\n")
	kernel, app := image(t, payload.PrintAndExit("", 0)), appImage(t)
	dir := shareCwdDir(t)
	code, out, errs := runCLI(t, "run", "--dry-run", "--share-cwd", "--kernel", kernel, app, "arg")
	key, err := bootargs.EncodeKey(bootargs.CwdKey, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{q + " ", "max_ports=5", " -chardev file,id=rkexp,path=" + os.TempDir(),
		"name=runikraft.export", " -initrd " + filepath.Join(os.TempDir(), "runikraft-share-"), " " + key + "'"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if code != 0 || errs != "" {
		t.Errorf("code %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "run", "--dry-run", "--share-cwd", kernel)
	if code != 2 || !strings.Contains(errs, "--share-cwd: ") || !strings.Contains(errs, "machine image") {
		t.Errorf("machine image: code %d, stderr %q", code, errs)
	}
}

// exportArchive is what the kernel sends back.
func exportArchive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := cpio.NewWriter(&b, nil)
	for name, body := range files {
		if err := w.WriteHeader(&cpio.Header{Name: name, Mode: cpio.TypeReg | 0o640, Nlink: 1, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The fake QEMU saves the root filesystem it is given, writes export
// into the export file, and ends as end says.
func shareQEMU(t *testing.T, export []byte, end string) (saved string) {
	t.Helper()
	exp := writeFile(t, "export", export, 0o644)
	saved = filepath.Join(t.TempDir(), "initrd")
	fakeQEMU(t, `prev=
for a in "$@"; do
	case "$prev" in -initrd) cp "$a" '`+saved+`';; esac
	case "$a" in file,id=rkexp,path=*) cat '`+exp+`' > "${a#file,id=rkexp,path=}";; esac
	prev=$a
done
printf '\033]0;runikraft\007' >&6 # the kernel's console marker: the machine ran
`+end+"\n")
	return saved
}

func TestShareCwdWriteBackFakeQEMU(t *testing.T) {
	kernel, app := image(t, payload.PrintAndExit("", 0)), appImage(t)
	for _, tc := range []struct {
		name, end string
		export    []byte
		code      int
		written   bool
		stderr    string
	}{
		{"written", "exit 7", exportArchive(t, map[string]string{"out.txt": "from guest"}), 7, true, ""},
		{"malformed", "exit 7", []byte("garbage from a broken guest"), 7, false, "runikraft: warning: --share-cwd: changed files not written back: export archive: cpio: "},
		{"nothing", "exit 0", nil, 0, false, ""},
		{"killed", "kill -KILL $$", exportArchive(t, map[string]string{"out.txt": "partial"}), 128 + 9, false, "runikraft: fakeqemu ended by signal 9 (killed)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shareCwdDir(t)
			saved := shareQEMU(t, tc.export, tc.end)
			code, out, errs := runCLI(t, "run", "--share-cwd", "--kernel", kernel, app)
			if code != tc.code || out != "" || !strings.HasPrefix(errs, tc.stderr) || (tc.stderr == "" && errs != "") {
				t.Errorf("code %d, stdout %q, stderr %q; want %d and %q", code, out, errs, tc.code, tc.stderr)
			}
			b, err := os.ReadFile(filepath.Join(dir, "out.txt"))
			if tc.written && (err != nil || string(b) != "from guest") {
				t.Errorf("out.txt: %q, %v", b, err)
			}
			if !tc.written && err == nil {
				t.Errorf("out.txt written: %q", b)
			}
			if fi, err := os.Stat(filepath.Join(dir, "out.txt")); tc.written && (err != nil || fi.Mode().Perm() != 0o640) {
				t.Errorf("out.txt mode: %v %v", fi, err)
			}
			checkSharedInitrd(t, saved, dir)
		})
	}
}

// checkSharedInitrd checks the root filesystem QEMU was given: the
// application as /init and the directory's file at its path.
func checkSharedInitrd(t *testing.T, initrd, dir string) {
	t.Helper()
	f, err := os.Open(initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	r := cpio.NewReader(f, cpio.MaxSize)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		got[h.Name] = string(b)
	}
	if _, ok := got["init"]; !ok {
		t.Errorf("no init in the root filesystem")
	}
	if b := got[strings.TrimPrefix(dir, "/")+"/in.txt"]; b != "host file" {
		t.Errorf("in.txt in the root filesystem: %q", b)
	}
}

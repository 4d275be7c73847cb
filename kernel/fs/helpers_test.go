package fs_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

var root fs.Loc // the zero Loc: relative paths start at the root

func newVFS(t testing.TB) *fs.VFS {
	t.Helper()
	return fs.New(ramfs.New(ramfs.Options{}), fs.Cred{})
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isErr(err error, want syscall.Errno) bool {
	if want == 0 {
		return err == nil
	}
	var e syscall.Errno
	return errors.As(err, &e) && e == want
}

// errName prints an error as its Linux name-ish message or "ok".
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func mkdirs(t testing.TB, v *fs.VFS, paths ...string) {
	t.Helper()
	for _, p := range paths {
		ok(t, v.Mkdir(root, p, 0o755))
	}
}

func writeFile(t testing.TB, v *fs.VFS, path, data string) {
	t.Helper()
	f, err := v.Open(root, path, linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, 0o644)
	ok(t, err)
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	ok(t, f.Close())
}

func readFile(t testing.TB, v *fs.VFS, path string) string {
	t.Helper()
	f, err := v.Open(root, path, linux.O_RDONLY, 0)
	ok(t, err)
	defer f.Close()
	var out []byte
	buf := make([]byte, 1000)
	for {
		n, err := f.Read(buf)
		ok(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func ino(t testing.TB, v *fs.VFS, path string) uint64 {
	t.Helper()
	st, err := v.Stat(root, path, linux.AT_SYMLINK_NOFOLLOW)
	ok(t, err)
	return st.Ino
}

// names lists a directory through File.ReadDir, without . and ..
func names(t testing.TB, v *fs.VFS, path string) []string {
	t.Helper()
	f, err := v.Open(root, path, linux.O_RDONLY|linux.O_DIRECTORY, 0)
	ok(t, err)
	defer f.Close()
	var out []string
	ok(t, f.ReadDir(func(d fs.Dirent) bool {
		if d.Name != "." && d.Name != ".." {
			out = append(out, d.Name)
		}
		return true
	}))
	return out
}

package devfs_test

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/devfs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

var root fs.Loc

func is(err error, want syscall.Errno) bool {
	var e syscall.Errno
	return errors.As(err, &e) && e == want
}

func setup(t *testing.T) *fs.VFS {
	t.Helper()
	v := fs.New(ramfs.New(ramfs.Options{}), fs.Cred{})
	if err := v.Mkdir(root, "/dev", 0o755); err != nil {
		t.Fatal(err)
	}
	rnd := bytes.NewReader(bytes.Repeat([]byte{0xab}, 1<<16))
	if err := v.Mount(root, "/dev", devfs.New(devfs.Config{Random: rnd})); err != nil {
		t.Fatal(err)
	}
	return v
}

func open(t *testing.T, v *fs.VFS, path string, flags int) *fs.File {
	t.Helper()
	f, err := v.Open(root, path, flags, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return f
}

func TestDevices(t *testing.T) {
	v := setup(t)
	for _, c := range []struct {
		name         string
		major, minor uint32
	}{
		{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8},
		{"urandom", 1, 9}, {"tty", 5, 0}, {"console", 5, 1},
	} {
		st, err := v.Stat(root, "/dev/"+c.name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode&linux.S_IFMT != linux.S_IFCHR || st.Rdev != linux.Makedev(c.major, c.minor) {
			t.Errorf("%s: mode %o rdev %#x", c.name, st.Mode, st.Rdev)
		}
	}
	buf := make([]byte, 8)

	null := open(t, v, "/dev/null", linux.O_RDWR)
	if n, err := null.Read(buf); n != 0 || err != nil {
		t.Error("null read", n, err)
	}
	if n, _ := null.Write([]byte("gone")); n != 4 {
		t.Error("null write", n)
	}
	if p, err := null.Seek(100, linux.SEEK_SET); err != nil || p != 100 {
		t.Error("null seek", p, err)
	}

	zero := open(t, v, "/dev/zero", linux.O_RDONLY)
	buf[0] = 1
	if n, _ := zero.Read(buf); n != 8 || buf[0] != 0 {
		t.Error("zero read")
	}

	full := open(t, v, "/dev/full", linux.O_WRONLY)
	if _, err := full.Write([]byte("x")); !is(err, syscall.ENOSPC) {
		t.Error("full write", err)
	}

	rnd := open(t, v, "/dev/urandom", linux.O_RDONLY)
	if n, _ := rnd.Read(buf); n != 8 || buf[7] != 0xab {
		t.Error("urandom read", buf)
	}

	// The terminals are named here and opened by the process layer.
	if _, err := v.Open(root, "/dev/tty", linux.O_RDWR, 0); !is(err, syscall.ENXIO) {
		t.Error("tty open", err)
	}
	// O_TRUNC on a device is harmless.
	open(t, v, "/dev/null", linux.O_WRONLY|linux.O_TRUNC|linux.O_CREAT).Close()
}

func TestNamespace(t *testing.T) {
	v := setup(t)
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		target, err := v.Readlink(root, "/dev/"+name, 0)
		if err != nil || target != "/proc/self/fd/"+string(rune('0'+i)) {
			t.Errorf("%s -> %q, %v", name, target, err)
		}
	}
	// No /proc mounted: following the link finds nothing.
	if _, err := v.Stat(root, "/dev/stdout", 0); !is(err, syscall.ENOENT) {
		t.Error("stat /dev/stdout", err)
	}
	if err := v.Mkdir(root, "/dev/x", 0o755); !is(err, syscall.EPERM) {
		t.Error("mkdir in /dev", err)
	}
	if err := v.Unlink(root, "/dev/null", 0); !is(err, syscall.EPERM) {
		t.Error("unlink /dev/null", err)
	}
	if err := v.Rename(root, "/dev/null", root, "/dev/nul", 0); !is(err, syscall.EPERM) {
		t.Error("rename in /dev", err)
	}
	if err := v.Chmod(root, "/dev/null", 0o600, 0); err != nil {
		t.Error(err)
	}
	if st, _ := v.Stat(root, "/dev/null", 0); st.Mode != linux.S_IFCHR|0o600 {
		t.Errorf("chmod: %o", st.Mode)
	}
	if _, err := v.Open(root, "/dev/nope", linux.O_RDONLY, 0); !is(err, syscall.ENOENT) {
		t.Error(err)
	}
	if p, _ := v.Lookup(root, "/dev/..", true); p.Stat().Ino != 1 || p.Stat().Dev == mustStat(t, v, "/dev").Dev {
		t.Error("/dev/.. is not /")
	}
	d := open(t, v, "/dev", linux.O_RDONLY|linux.O_DIRECTORY)
	var got []string
	d.ReadDir(func(e fs.Dirent) bool { got = append(got, e.Name); return true })
	want := ". .. null zero full random urandom tty console stdin stdout stderr fd"
	if strings.Join(got, " ") != want {
		t.Errorf("listing %v", got)
	}
	if p, err := v.PathOf(d.Loc()); p != "/dev" || err != nil {
		t.Error("PathOf", p, err)
	}
}

func mustStat(t *testing.T, v *fs.VFS, p string) fs.Stat {
	t.Helper()
	st, err := v.Stat(root, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

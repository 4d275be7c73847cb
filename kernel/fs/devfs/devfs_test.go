package devfs_test

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/devfs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

var root fs.Loc

func is(err error, want syscall.Errno) bool {
	var e syscall.Errno
	return errors.As(err, &e) && e == want
}

type console struct {
	in  *strings.Reader
	out bytes.Buffer
}

func (c *console) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *console) Write(p []byte) (int, error) { return c.out.Write(p) }

func setup(t *testing.T) (*fs.VFS, *console) {
	t.Helper()
	con := &console{in: strings.NewReader("typed")}
	v := fs.New(ramfs.New(ramfs.Options{}), fs.Cred{})
	if err := v.Mkdir(root, "/dev", 0o755); err != nil {
		t.Fatal(err)
	}
	rnd := bytes.NewReader(bytes.Repeat([]byte{0xab}, 1<<16))
	if err := v.Mount(root, "/dev", devfs.New(devfs.Config{Random: rnd, Console: con})); err != nil {
		t.Fatal(err)
	}
	return v, con
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
	v, con := setup(t)
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
		if st.Mode&fs.S_IFMT != fs.S_IFCHR || st.Rdev != fs.Dev(c.major, c.minor) {
			t.Errorf("%s: mode %o rdev %#x", c.name, st.Mode, st.Rdev)
		}
	}
	buf := make([]byte, 8)

	null := open(t, v, "/dev/null", fs.O_RDWR)
	if n, err := null.Read(buf); n != 0 || err != nil {
		t.Error("null read", n, err)
	}
	if n, _ := null.Write([]byte("gone")); n != 4 {
		t.Error("null write", n)
	}
	if p, err := null.Seek(100, fs.SEEK_SET); err != nil || p != 100 {
		t.Error("null seek", p, err)
	}

	zero := open(t, v, "/dev/zero", fs.O_RDONLY)
	buf[0] = 1
	if n, _ := zero.Read(buf); n != 8 || buf[0] != 0 {
		t.Error("zero read")
	}

	full := open(t, v, "/dev/full", fs.O_WRONLY)
	if _, err := full.Write([]byte("x")); !is(err, syscall.ENOSPC) {
		t.Error("full write", err)
	}

	rnd := open(t, v, "/dev/urandom", fs.O_RDONLY)
	if n, _ := rnd.Read(buf); n != 8 || buf[7] != 0xab {
		t.Error("urandom read", buf)
	}

	tty := open(t, v, "/dev/tty", fs.O_RDWR)
	if n, _ := tty.Read(buf); string(buf[:n]) != "typed" {
		t.Errorf("tty read %q", buf[:n])
	}
	tty.Write([]byte("shown"))
	if con.out.String() != "shown" {
		t.Errorf("console got %q", con.out.String())
	}
	if _, err := tty.Seek(0, fs.SEEK_SET); !is(err, syscall.ESPIPE) {
		t.Error("tty seek", err)
	}
	if _, err := tty.ReadAt(buf, 0); !is(err, syscall.ESPIPE) {
		t.Error("tty pread", err)
	}
	if tty.Ready() != fs.PollIn|fs.PollOut {
		t.Error("tty ready")
	}
	// O_TRUNC on a device is harmless.
	open(t, v, "/dev/null", fs.O_WRONLY|fs.O_TRUNC|fs.O_CREAT).Close()
}

func TestNamespace(t *testing.T) {
	v, _ := setup(t)
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
	if st, _ := v.Stat(root, "/dev/null", 0); st.Mode != fs.S_IFCHR|0o600 {
		t.Errorf("chmod: %o", st.Mode)
	}
	if _, err := v.Open(root, "/dev/nope", fs.O_RDONLY, 0); !is(err, syscall.ENOENT) {
		t.Error(err)
	}
	if p, _ := v.Lookup(root, "/dev/..", true); p.Stat().Ino != 1 || p.Stat().Dev == mustStat(t, v, "/dev").Dev {
		t.Error("/dev/.. is not /")
	}
	d := open(t, v, "/dev", fs.O_RDONLY|fs.O_DIRECTORY)
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

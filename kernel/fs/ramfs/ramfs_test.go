package ramfs_test

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

var root fs.Loc

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func is(err error, want syscall.Errno) bool {
	var e syscall.Errno
	return errors.As(err, &e) && e == want
}

func TestENOSPC(t *testing.T) {
	r := ramfs.New(ramfs.Options{MaxBytes: 64 << 10})
	v := fs.New(r, fs.Cred{})
	f, err := v.Open(root, "/big", linux.O_RDWR|linux.O_CREAT, 0o644)
	ok(t, err)
	chunk := bytes.Repeat([]byte{7}, 10000)
	total := 0
	for {
		n, err := f.Write(chunk)
		total += n
		if err != nil {
			if !is(err, syscall.ENOSPC) || n != 0 {
				t.Fatalf("got %d, %v", n, err)
			}
			break
		}
		if n < len(chunk) { // the short write before ENOSPC
			continue
		}
	}
	used, limit := r.Usage()
	if used > limit || total < 50000 {
		t.Fatalf("used %d of %d after writing %d", used, limit, total)
	}
	// Full: no new files, dirs or symlinks either; existing data intact.
	if _, err := v.Open(root, "/x", linux.O_WRONLY|linux.O_CREAT, 0o644); !is(err, syscall.ENOSPC) {
		for i := 0; i < 1000 && err == nil; i++ { // a few inodes may still fit
			err = v.Mkdir(root, "/d"+string(rune('a'+i%26))+string(rune('a'+i/26)), 0o755)
		}
		if !is(err, syscall.ENOSPC) {
			t.Fatal("create on a full fs:", err)
		}
	}
	buf := make([]byte, 10)
	f.ReadAt(buf, 12345)
	if buf[0] != 7 {
		t.Fatal("data damaged")
	}
	// Sparse: a size far beyond the limit costs nothing.
	ok(t, f.Truncate(1<<40))
	if n, _ := f.ReadAt(buf, 1<<39); n != 10 || buf[0] != 0 {
		t.Fatal("hole read")
	}
	if _, err := f.WriteAt([]byte("x"), 1<<44); !is(err, syscall.EFBIG) {
		t.Fatal("past max file size:", err)
	}
	// Removing an open file frees its space only on close.
	ok(t, v.Unlink(root, "/big", 0))
	if u, _ := r.Usage(); u < 50000 {
		t.Fatal("freed while open")
	}
	ok(t, f.Close())
	if u, _ := r.Usage(); u > 4096 {
		t.Fatal("not freed after close:", u)
	}
	f2, _ := v.Open(root, "/again", linux.O_RDWR|linux.O_CREAT, 0o644)
	if n, err := f2.Write(chunk); n != len(chunk) || err != nil {
		t.Fatal("space not reusable", n, err)
	}
}

func TestClockAndTimes(t *testing.T) {
	now := time.Unix(1000, 0)
	r := ramfs.New(ramfs.Options{Clock: func() time.Time { return now }})
	v := fs.New(r, fs.Cred{})
	f, _ := v.Open(root, "/f", linux.O_RDWR|linux.O_CREAT, 0o644)
	st, _ := f.Stat()
	if !st.Mtime.Equal(now) || !st.Ctime.Equal(now) || !st.Atime.Equal(now) {
		t.Fatal("create times", st)
	}
	now = time.Unix(2000, 0)
	f.Write([]byte("x"))
	st, _ = f.Stat()
	if !st.Mtime.Equal(now) || !st.Atime.Equal(time.Unix(1000, 0)) {
		t.Fatal("write times", st)
	}
	dst, _ := v.Stat(root, "/", 0)
	if !dst.Mtime.Equal(time.Unix(1000, 0)) {
		t.Fatal("dir mtime", dst.Mtime)
	}
	now = time.Unix(3000, 0)
	ok(t, v.Utimes(root, "/f", fs.Attr{Mask: fs.SetAtimeNow}, 0))
	st, _ = f.Stat()
	if !st.Atime.Equal(now) || !st.Mtime.Equal(time.Unix(2000, 0)) || !st.Ctime.Equal(now) {
		t.Fatal("utimes now", st)
	}
	if st.Blocks != 8 || st.Blksize != 4096 {
		t.Fatal("blocks", st.Blocks)
	}
}

// TestDirectInterface drives the fs.Dir methods without the VFS, for
// the checks ramfs must make itself.
func TestDirectInterface(t *testing.T) {
	r := ramfs.New(ramfs.Options{})
	d := r.Root()
	sub, err := d.Create("sub", fs.CreateAttr{Mode: linux.S_IFDIR | 0o755})
	ok(t, err)
	file, err := d.Create("f", fs.CreateAttr{Mode: linux.S_IFREG | 0o644})
	ok(t, err)
	if _, err := d.Create("f", fs.CreateAttr{Mode: linux.S_IFREG}); !is(err, syscall.EEXIST) {
		t.Fatal(err)
	}
	if err := d.Link("l", sub); !is(err, syscall.EPERM) {
		t.Fatal("link dir", err)
	}
	if err := d.Link("l", ramfs.New(ramfs.Options{}).Root()); !is(err, syscall.EXDEV) {
		t.Fatal("link across fs", err)
	}
	sd := sub.(fs.Dir)
	if err := sd.Rename("x", d, "y", 0); !is(err, syscall.ENOENT) {
		t.Fatal(err)
	}
	// ramfs refuses cycles even without the VFS's check.
	inner, err := sd.Create("inner", fs.CreateAttr{Mode: linux.S_IFDIR | 0o755})
	ok(t, err)
	if err := d.Rename("sub", inner.(fs.Dir), "x", 0); !is(err, syscall.EINVAL) {
		t.Fatal("cycle", err)
	}
	if err := d.Rename("sub", inner.(fs.Dir), "x", linux.RENAME_EXCHANGE); !is(err, syscall.ENOENT) {
		t.Fatal("exchange with missing", err)
	}
	ok(t, d.Link("f2", file))
	if err := d.Remove("sub", true); !is(err, syscall.ENOTEMPTY) {
		t.Fatal(err)
	}
	if err := d.Remove("f", true); !is(err, syscall.ENOTDIR) {
		t.Fatal(err)
	}
	if err := d.Remove("sub", false); !is(err, syscall.EISDIR) {
		t.Fatal(err)
	}
	ok(t, d.Remove("f", false))
	if st := file.Stat(); st.Nlink != 1 {
		t.Fatal("nlink", st.Nlink)
	}
	ok(t, sd.Remove("inner", true))
	if _, err := inner.(fs.Dir).Create("z", fs.CreateAttr{Mode: linux.S_IFREG}); !is(err, syscall.ENOENT) {
		t.Fatal("create in removed dir", err)
	}
	if p, _ := inner.(fs.Dir).Lookup(".."); p != sub {
		t.Fatal(".. of removed dir")
	}
	if st := sub.Stat(); st.Nlink != 2 {
		t.Fatal("parent nlink", st.Nlink)
	}
}

// TestRoom: the machine running low on RAM (Options.Room) stops writes
// with a short count and then ENOSPC, though the filesystem has no limit.
func TestRoom(t *testing.T) {
	// The fake machine's RAM: what Room agrees to is taken from it.
	spare := int64(40 << 10)
	room := func(n int64) bool {
		if n > spare {
			return false
		}
		spare -= n
		return true
	}
	r := ramfs.New(ramfs.Options{Room: room})
	v := fs.New(r, fs.Cred{})
	f, err := v.Open(root, "/fill", linux.O_RDWR|linux.O_CREAT, 0o644)
	ok(t, err)
	chunk := bytes.Repeat([]byte{9}, 16<<10)
	n, err := f.Write(chunk)
	if n != len(chunk) || err != nil {
		t.Fatalf("write with room: %d, %v", n, err)
	}
	spare = 4 << 10 // one more page, then none
	if n, err = f.Write(chunk); n != 4<<10 || err != nil {
		t.Fatalf("write as RAM runs out: %d, %v (want the one page that fits)", n, err)
	}
	spare = 0
	if n, err = f.Write(chunk); n != 0 || !is(err, syscall.ENOSPC) {
		t.Fatalf("write with no RAM left: %d, %v (want ENOSPC)", n, err)
	}
	// Overwriting pages already there needs no room.
	if n, err = f.WriteAt(chunk[:100], 0); n != 100 || err != nil {
		t.Fatalf("overwrite: %d, %v", n, err)
	}
}

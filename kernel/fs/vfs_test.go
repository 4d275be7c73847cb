package fs_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// errFixture is a tree with one example of everything the error table
// needs.
func errFixture(t *testing.T) *fs.VFS {
	v := newVFS(t)
	mkdirs(t, v, "/d", "/empty", "/mnt", "/small")
	writeFile(t, v, "/d/f", "x")
	writeFile(t, v, "/file", "data")
	ok(t, v.Symlink("/loop2", root, "/loop1"))
	ok(t, v.Symlink("/loop1", root, "/loop2"))
	other := ramfs.New(ramfs.Options{})
	ok(t, v.Mount(root, "/mnt", other))
	writeFile(t, v, "/mnt/x", "x")
	ok(t, v.Mount(root, "/small", ramfs.New(ramfs.Options{MaxBytes: 8 << 10})))
	return v
}

func TestErrorTable(t *testing.T) {
	long := strings.Repeat("n", 256)
	rows := []struct {
		want syscall.Errno
		what string
		op   func(v *fs.VFS) error
	}{
		{syscall.ENOENT, "open missing", func(v *fs.VFS) error { _, err := v.Open(root, "/nope", linux.O_RDONLY, 0); return err }},
		{syscall.EEXIST, "mkdir existing", func(v *fs.VFS) error { return v.Mkdir(root, "/d", 0o755) }},
		{syscall.ENOTDIR, "file as directory", func(v *fs.VFS) error { _, err := v.Open(root, "/file/x", linux.O_RDONLY, 0); return err }},
		{syscall.EISDIR, "open directory for writing", func(v *fs.VFS) error { _, err := v.Open(root, "/d", linux.O_WRONLY, 0); return err }},
		{syscall.ENOTEMPTY, "rmdir non-empty", func(v *fs.VFS) error { return v.Unlink(root, "/d", linux.AT_REMOVEDIR) }},
		{syscall.EBADF, "write to read-only file", func(v *fs.VFS) error {
			f, err := v.Open(root, "/file", linux.O_RDONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.Write([]byte("x"))
			return err
		}},
		{syscall.EINVAL, "rename directory into itself", func(v *fs.VFS) error { return v.Rename(root, "/d", root, "/d/sub", 0) }},
		{syscall.ENAMETOOLONG, "256-byte name", func(v *fs.VFS) error { _, err := v.Open(root, "/"+long, linux.O_RDONLY, 0); return err }},
		{syscall.ENAMETOOLONG, "4096-byte path", func(v *fs.VFS) error {
			_, err := v.Stat(root, strings.Repeat("./", 2047)+"ab", 0)
			return err
		}},
		{syscall.ELOOP, "symlink loop", func(v *fs.VFS) error { _, err := v.Open(root, "/loop1", linux.O_RDONLY, 0); return err }},
		{syscall.ENOSPC, "write to full ramfs", func(v *fs.VFS) error {
			f, err := v.Open(root, "/small/big", linux.O_WRONLY|linux.O_CREAT, 0o644)
			if err != nil {
				return err
			}
			for {
				if _, err := f.Write(make([]byte, 4096)); err != nil {
					return err
				}
			}
		}},
		{syscall.EXDEV, "rename across mounts", func(v *fs.VFS) error { return v.Rename(root, "/file", root, "/mnt/file", 0) }},
		{syscall.EACCES, "execute a 0644 file", func(v *fs.VFS) error { return v.Access(root, "/file", linux.X_OK, 0) }},
		{syscall.EPERM, "hard link to a directory", func(v *fs.VFS) error { return v.Link(root, "/d", root, "/dlink", 0) }},
	}
	for _, r := range rows {
		t.Run(r.what, func(t *testing.T) {
			err := r.op(errFixture(t))
			if !isErr(err, r.want) {
				t.Fatalf("%s: got %v, want %v", r.what, errName(err), r.want)
			}
			if fs.ToErrno(err) != r.want {
				t.Fatalf("ToErrno: %v", fs.ToErrno(err))
			}
		})
	}
}

// resolveFixture:
//
//	/a/b/c/          /a/b/file
//	/a/rel -> b      /a/abs -> /a/b       /a/lfile -> b/file
//	/a/ch1 -> ch2 -> ch3 -> b/c           /a/dangling -> nope
//	/a/s0 -> s1 -> ... -> s40 -> b (41 links), /a/s1 is 40 links
//	/mnt: another ramfs with /mnt/inner/ and /mnt/up -> ..
func resolveFixture(t *testing.T) *fs.VFS {
	v := newVFS(t)
	mkdirs(t, v, "/a", "/a/b", "/a/b/c", "/mnt")
	writeFile(t, v, "/a/b/file", "f")
	ok(t, v.Symlink("b", root, "/a/rel"))
	ok(t, v.Symlink("/a/b", root, "/a/abs"))
	ok(t, v.Symlink("b/file", root, "/a/lfile"))
	ok(t, v.Symlink("ch2", root, "/a/ch1"))
	ok(t, v.Symlink("ch3", root, "/a/ch2"))
	ok(t, v.Symlink("b/c", root, "/a/ch3"))
	ok(t, v.Symlink("nope", root, "/a/dangling"))
	for i := 0; i < 40; i++ {
		ok(t, v.Symlink(fmt.Sprintf("s%d", i+1), root, fmt.Sprintf("/a/s%d", i)))
	}
	ok(t, v.Symlink("b", root, "/a/s40"))
	ok(t, v.Mount(root, "/mnt", ramfs.New(ramfs.Options{})))
	mkdirs(t, v, "/mnt/inner")
	ok(t, v.Symlink("..", root, "/mnt/up"))
	return v
}

func TestResolve(t *testing.T) {
	v := resolveFixture(t)
	ab, err := v.Lookup(root, "/a/b", true)
	ok(t, err)
	cases := []struct {
		start  fs.Loc
		path   string
		follow bool
		want   string // the same file, named without symlinks
		err    syscall.Errno
	}{
		{root, "/", true, "/", 0},
		{root, "///", true, "/", 0},
		{ab, ".", true, "/a/b", 0},
		{ab, "..", true, "/a", 0},
		{ab, "c/../../b/./c", true, "/a/b/c", 0},
		{ab, "/a", true, "/a", 0},
		{root, "/..", true, "/", 0},
		{root, "/../../a/..", true, "/", 0},
		{root, "/a//b///c", true, "/a/b/c", 0},
		{root, "/a/rel/c", true, "/a/b/c", 0},
		{root, "/a/abs/c", true, "/a/b/c", 0},
		{root, "/a/rel", false, "/a/rel", 0},
		{root, "/a/rel/", false, "/a/b", 0}, // a trailing slash follows
		{root, "/a/ch1", true, "/a/b/c", 0},
		{root, "/a/ch1", false, "/a/ch1", 0},
		{root, "/a/ch1/..", true, "/a/b", 0},
		{root, "/a/dangling", true, "", syscall.ENOENT},
		{root, "/a/dangling", false, "/a/dangling", 0},
		{root, "/a/lfile", true, "/a/b/file", 0},
		{root, "/a/lfile/", true, "", syscall.ENOTDIR},
		{root, "/a/b/file/", true, "", syscall.ENOTDIR},
		{root, "/a/b/file/.", true, "", syscall.ENOTDIR},
		{root, "/a/b/file/..", true, "", syscall.ENOTDIR},
		{root, "/a/b/c/", true, "/a/b/c", 0},
		{root, "/a/s1", true, "/a/b", 0},         // 40 links: allowed
		{root, "/a/s0", true, "", syscall.ELOOP}, // 41
		{root, "/a/s0", false, "/a/s0", 0},
		{root, "/mnt/inner/../..", true, "/", 0},
		{root, "/mnt/..", true, "/", 0},
		{root, "/mnt/up", true, "/", 0},
		{root, "/mnt/up/a/b", true, "/a/b", 0},
		{root, "/mnt/inner/..", true, "/mnt", 0},
		{root, "", true, "", syscall.ENOENT},
		{root, "/a/" + strings.Repeat("x", 256), true, "", syscall.ENAMETOOLONG},
		{root, strings.Repeat("/", 4000) + "a/" + strings.Repeat("./", 45), true, "/a", 0},
	}
	for _, c := range cases {
		l, err := v.Lookup(c.start, c.path, c.follow)
		if c.err != 0 {
			if !isErr(err, c.err) {
				t.Errorf("%q: got %v, want %v", c.path, errName(err), c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.path, err)
			continue
		}
		w, err := v.Lookup(root, c.want, false)
		ok(t, err)
		if got, want := l.Stat(), w.Stat(); got.Ino != want.Ino || got.Dev != want.Dev {
			t.Errorf("%q: got ino %d dev %d, want %s (ino %d dev %d)", c.path, got.Ino, got.Dev, c.want, want.Ino, want.Dev)
		}
		if l.Stat().IsDir() {
			if p, err := v.PathOf(l); err != nil || p != c.want {
				t.Errorf("PathOf(%q) = %q, %v; want %q", c.path, p, err, c.want)
			}
		}
	}
}

func TestMounts(t *testing.T) {
	v := newVFS(t)
	mkdirs(t, v, "/m", "/m/under")
	a := ramfs.New(ramfs.Options{})
	ok(t, v.Mount(root, "/m", a))
	if _, err := v.Stat(root, "/m/under", 0); !isErr(err, syscall.ENOENT) {
		t.Fatalf("covered directory visible: %v", err)
	}
	mkdirs(t, v, "/m/x")
	rootDev, _ := v.Stat(root, "/", 0)
	mDev, _ := v.Stat(root, "/m", 0)
	if rootDev.Dev == mDev.Dev {
		t.Fatal("mount has the root's st_dev")
	}
	// Rmdir/rename of a mount point are EBUSY; unmount needs the root.
	if err := v.Unlink(root, "/m", linux.AT_REMOVEDIR); !isErr(err, syscall.EBUSY) {
		t.Fatalf("rmdir mount point: %v", errName(err))
	}
	if err := v.Unmount(root, "/m/x"); !isErr(err, syscall.EINVAL) {
		t.Fatalf("unmount non-root: %v", errName(err))
	}
	// Stack a second mount and unmount it again.
	ok(t, v.Mount(root, "/m", ramfs.New(ramfs.Options{})))
	if _, err := v.Stat(root, "/m/x", 0); !isErr(err, syscall.ENOENT) {
		t.Fatal("stacked mount does not cover")
	}
	if err := v.Unmount(root, "/"); !isErr(err, syscall.EINVAL) {
		t.Fatal("unmounted the root")
	}
	ok(t, v.Unmount(root, "/m"))
	if _, err := v.Stat(root, "/m/x", 0); err != nil {
		t.Fatal("first mount not back")
	}
	ok(t, v.Unmount(root, "/m"))
	if _, err := v.Stat(root, "/m/under", 0); err != nil {
		t.Fatal("covered directory not back")
	}
	if err := v.Mount(root, "/nope", a); !isErr(err, syscall.ENOENT) {
		t.Fatal(err)
	}
}

func TestFileIO(t *testing.T) {
	v := newVFS(t)
	f, err := v.Open(root, "/f", linux.O_RDWR|linux.O_CREAT|linux.O_EXCL, 0o600)
	ok(t, err)
	if _, err := v.Open(root, "/f", linux.O_RDWR|linux.O_CREAT|linux.O_EXCL, 0o600); !isErr(err, syscall.EEXIST) {
		t.Fatal("O_EXCL")
	}
	f.Write([]byte("hello world"))
	if p, _ := f.Seek(0, linux.SEEK_CUR); p != 11 {
		t.Fatal("pos", p)
	}
	if p, _ := f.Seek(-5, linux.SEEK_END); p != 6 {
		t.Fatal("SEEK_END", p)
	}
	buf := make([]byte, 10)
	n, _ := f.Read(buf)
	if string(buf[:n]) != "world" {
		t.Fatalf("read %q", buf[:n])
	}
	if n, err := f.Read(buf); n != 0 || err != nil {
		t.Fatal("EOF", n, err)
	}
	// A hole reads as zeros; SEEK_DATA/SEEK_HOLE see one data extent.
	f.WriteAt([]byte("!"), 20)
	n, _ = f.ReadAt(buf, 11)
	if !bytes.Equal(buf[:n], []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00!")) {
		t.Fatalf("hole %q", buf[:n])
	}
	if p, _ := f.Seek(3, linux.SEEK_HOLE); p != 21 {
		t.Fatal("SEEK_HOLE", p)
	}
	if _, err := f.Seek(21, linux.SEEK_DATA); !isErr(err, syscall.ENXIO) {
		t.Fatal("SEEK_DATA at end", err)
	}
	if _, err := f.Seek(-1, linux.SEEK_SET); !isErr(err, syscall.EINVAL) {
		t.Fatal("negative seek")
	}
	ok(t, f.Truncate(5))
	st, _ := f.Stat()
	if st.Size != 5 || st.Mode != linux.S_IFREG|0o600 || st.Nlink != 1 {
		t.Fatalf("stat %+v", st)
	}
	if f.Ready() != linux.POLLIN|linux.POLLOUT {
		t.Fatal("regular file not ready")
	}
	ok(t, f.Sync())
	ok(t, f.Close())
	if _, err := f.Read(buf); !isErr(err, syscall.EBADF) {
		t.Fatal("read after close")
	}
	// O_APPEND writes at the end whatever the position.
	a, _ := v.Open(root, "/f", linux.O_WRONLY|linux.O_APPEND, 0)
	a.Seek(0, linux.SEEK_SET)
	a.Write([]byte("++"))
	a.Close()
	if got := readFile(t, v, "/f"); got != "hello++" {
		t.Fatalf("append: %q", got)
	}
	// O_TRUNC, O_PATH, O_NOFOLLOW, O_DIRECTORY.
	tr, _ := v.Open(root, "/f", linux.O_WRONLY|linux.O_TRUNC, 0)
	if st, _ := tr.Stat(); st.Size != 0 {
		t.Fatal("O_TRUNC")
	}
	if err := tr.Truncate(1); err != nil {
		t.Fatal(err)
	}
	ro, _ := v.Open(root, "/f", linux.O_RDONLY, 0)
	if err := ro.Truncate(0); !isErr(err, syscall.EINVAL) {
		t.Fatal("ftruncate read-only")
	}
	ok(t, v.Symlink("/f", root, "/l"))
	if _, err := v.Open(root, "/l", linux.O_RDONLY|linux.O_NOFOLLOW, 0); !isErr(err, syscall.ELOOP) {
		t.Fatal("O_NOFOLLOW", err)
	}
	p, err := v.Open(root, "/l", linux.O_PATH|linux.O_NOFOLLOW, 0)
	ok(t, err)
	if st, _ := p.Stat(); st.Mode&linux.S_IFMT != linux.S_IFLNK {
		t.Fatal("O_PATH|O_NOFOLLOW stat")
	}
	if _, err := p.Read(buf); !isErr(err, syscall.EBADF) {
		t.Fatal("read O_PATH")
	}
	if _, err := v.Open(root, "/f", linux.O_RDONLY|linux.O_DIRECTORY, 0); !isErr(err, syscall.ENOTDIR) {
		t.Fatal("O_DIRECTORY")
	}
	d, err := v.Open(root, "/", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	ok(t, err)
	if _, err := d.Read(buf); !isErr(err, syscall.EISDIR) {
		t.Fatal("read dir")
	}
	// A dangling symlink with O_CREAT creates its target.
	ok(t, v.Symlink("target", root, "/dang"))
	c, err := v.Open(root, "/dang", linux.O_WRONLY|linux.O_CREAT, 0o600)
	ok(t, err)
	c.Close()
	if _, err := v.Stat(root, "/target", 0); err != nil {
		t.Fatal("dangling O_CREAT")
	}
	if _, err := v.Open(root, "/newdir/", linux.O_WRONLY|linux.O_CREAT, 0o600); !isErr(err, syscall.EISDIR) {
		t.Fatal("O_CREAT trailing slash", err)
	}
	if _, err := v.Open(root, "/f", linux.O_ACCMODE, 0); !isErr(err, syscall.EINVAL) {
		t.Fatal("bad access mode")
	}
}

func TestAttrs(t *testing.T) {
	v := newVFS(t)
	writeFile(t, v, "/f", "abc")
	ok(t, v.Chmod(root, "/f", 0o4755, 0))
	ok(t, v.Chown(root, "/f", 12, -1, 0))
	st, _ := v.Stat(root, "/f", 0)
	if st.Mode != linux.S_IFREG|0o4755 || st.Uid != 12 || st.Gid != 0 {
		t.Fatalf("%+v", st)
	}
	ok(t, v.Access(root, "/f", linux.R_OK|linux.W_OK|linux.X_OK, 0))
	ok(t, v.Truncate(root, "/f", 1))
	if err := v.Truncate(root, "/", 0); !isErr(err, syscall.EISDIR) {
		t.Fatal("truncate dir")
	}
	when := st.Mtime.Add(-3600e9)
	ok(t, v.Utimes(root, "/f", fs.Attr{Mask: fs.SetMtime, Mtime: when}, 0))
	st2, _ := v.Stat(root, "/f", 0)
	if !st2.Mtime.Equal(when) || !st2.Atime.Equal(st.Atime) {
		t.Fatal("utimes")
	}
	ok(t, v.Symlink("f", root, "/l"))
	ok(t, v.Chown(root, "/l", 7, 7, linux.AT_SYMLINK_NOFOLLOW))
	if l, _ := v.Stat(root, "/l", linux.AT_SYMLINK_NOFOLLOW); l.Uid != 7 {
		t.Fatal("lchown")
	}
	if s, _ := v.Readlink(root, "/l", 0); s != "f" {
		t.Fatal("readlink", s)
	}
	if _, err := v.Readlink(root, "/f", 0); !isErr(err, syscall.EINVAL) {
		t.Fatal("readlink file")
	}
	// Without root: ownership and permissions are enforced.
	rf := ramfs.New(ramfs.Options{})
	u := fs.New(rf, fs.Cred{Uid: 1000, Gid: 1000})
	su := fs.New(rf, fs.Cred{})
	if err := u.Mkdir(root, "/x", 0o755); !isErr(err, syscall.EACCES) {
		t.Fatal("non-root mkdir in a root-owned 0755 dir:", errName(err))
	}
	if err := u.Chmod(root, "/", 0o777, 0); !isErr(err, syscall.EPERM) {
		t.Fatal("non-owner chmod:", errName(err))
	}
	ok(t, su.Chmod(root, "/", 0o777, 0))
	ok(t, u.Mkdir(root, "/x", 0o755))
	if st, _ := u.Stat(root, "/x", 0); st.Uid != 1000 || st.Gid != 1000 {
		t.Fatal("owner of new dir", st.Uid, st.Gid)
	}
	ok(t, u.Chmod(root, "/x", 0o700, 0))
	if err := u.Chown(root, "/x", 0, 0, 0); !isErr(err, syscall.EPERM) {
		t.Fatal("non-root chown:", errName(err))
	}
	writeFile(t, su, "/secret", "s")
	ok(t, su.Chmod(root, "/secret", 0o600, 0))
	if _, err := u.Open(root, "/secret", linux.O_RDONLY, 0); !isErr(err, syscall.EACCES) {
		t.Fatal("read 0600 root file:", errName(err))
	}
	if err := u.Access(root, "/secret", linux.F_OK, 0); err != nil {
		t.Fatal("F_OK", err)
	}
	// Every directory on the way needs search permission, not only the
	// last one: /locked (0700, root's) hides /locked/open/f from others
	// although /locked/open is 0755.
	ok(t, su.Mkdir(root, "/locked", 0o700))
	ok(t, su.Mkdir(root, "/locked/open", 0o755))
	writeFile(t, su, "/locked/open/f", "x")
	for _, path := range []string{"/locked/open/f", "/locked/open", "/locked/open/", "/locked/open/g"} {
		if _, err := u.Stat(root, path, 0); !isErr(err, syscall.EACCES) {
			t.Errorf("non-root stat %s through a 0700 root directory: %s, want EACCES", path, errName(err))
		}
	}
	if _, err := su.Stat(root, "/locked/open/f", 0); err != nil {
		t.Fatal("root stat through 0700:", err)
	}
}

func TestUnlinkRmdir(t *testing.T) {
	v := newVFS(t)
	mkdirs(t, v, "/d", "/d/e")
	writeFile(t, v, "/f", "")
	for _, c := range []struct {
		path  string
		flags int
		want  syscall.Errno
	}{
		{"/d", 0, syscall.EISDIR},
		{"/f", linux.AT_REMOVEDIR, syscall.ENOTDIR},
		{"/f/", 0, syscall.ENOTDIR},
		{"/d/e/.", linux.AT_REMOVEDIR, syscall.EINVAL},
		{"/d/e/..", linux.AT_REMOVEDIR, syscall.ENOTEMPTY},
		{"/nope", 0, syscall.ENOENT},
		{"/d", 0x1, syscall.EINVAL},
		{"/d/e/", linux.AT_REMOVEDIR, 0},
		{"/f", 0, 0},
	} {
		if err := v.Unlink(root, c.path, c.flags); !isErr(err, c.want) {
			t.Errorf("unlink %q %#x: %v, want %v", c.path, c.flags, errName(err), c.want)
		}
	}
	// An open, removed file stays readable; a removed cwd takes nothing.
	writeFile(t, v, "/g", "still here")
	f, _ := v.Open(root, "/g", linux.O_RDONLY, 0)
	ok(t, v.Unlink(root, "/g", 0))
	buf := make([]byte, 20)
	if n, _ := f.Read(buf); string(buf[:n]) != "still here" {
		t.Fatal("unlinked file lost data")
	}
	if st, _ := f.Stat(); st.Nlink != 0 {
		t.Fatal("nlink of unlinked file", st.Nlink)
	}
	cwd, _ := v.Lookup(root, "/d", true)
	ok(t, v.Unlink(root, "/d", linux.AT_REMOVEDIR))
	if _, err := v.Open(cwd, "new", linux.O_CREAT|linux.O_WRONLY, 0o644); !isErr(err, syscall.ENOENT) {
		t.Fatal("create in removed dir", err)
	}
	if _, err := v.PathOf(cwd); !isErr(err, syscall.ENOENT) {
		t.Fatal("PathOf removed dir", err)
	}
}

func TestLinks(t *testing.T) {
	v := newVFS(t)
	writeFile(t, v, "/f", "one")
	ok(t, v.Link(root, "/f", root, "/g", 0))
	if ino(t, v, "/f") != ino(t, v, "/g") {
		t.Fatal("hard link is another file")
	}
	if st, _ := v.Stat(root, "/g", 0); st.Nlink != 2 {
		t.Fatal("nlink", st.Nlink)
	}
	if err := v.Link(root, "/f", root, "/g", 0); !isErr(err, syscall.EEXIST) {
		t.Fatal(err)
	}
	ok(t, v.Symlink("f", root, "/s"))
	ok(t, v.Link(root, "/s", root, "/s2", 0)) // links the symlink itself
	ok(t, v.Link(root, "/s", root, "/f2", linux.AT_SYMLINK_FOLLOW))
	if st, _ := v.Stat(root, "/s2", linux.AT_SYMLINK_NOFOLLOW); st.Mode&linux.S_IFMT != linux.S_IFLNK {
		t.Fatal("link of symlink followed it")
	}
	if st, _ := v.Stat(root, "/f", 0); st.Nlink != 3 {
		t.Fatal("AT_SYMLINK_FOLLOW", st.Nlink)
	}
	ok(t, v.Unlink(root, "/f", 0))
	if readFile(t, v, "/g") != "one" {
		t.Fatal("data lost with one link")
	}
	if err := v.Symlink("", root, "/e"); !isErr(err, syscall.ENOENT) {
		t.Fatal("empty symlink")
	}
	if err := v.Symlink("x", root, "/g"); !isErr(err, syscall.EEXIST) {
		t.Fatal("symlink over file")
	}
	if err := v.Mkdir(root, "/", 0o755); !isErr(err, syscall.EEXIST) {
		t.Fatal("mkdir /")
	}
	ok(t, v.Mknod(root, "/fifo", linux.S_IFIFO|0o644, 0))
	if st, _ := v.Stat(root, "/fifo", 0); st.Mode != linux.S_IFIFO|0o644 {
		t.Fatalf("mknod mode %o", st.Mode)
	}
	if _, err := v.Open(root, "/fifo", linux.O_RDONLY, 0); !isErr(err, syscall.ENXIO) {
		t.Fatal("open fifo", err)
	}
	if err := v.Mknod(root, "/dir", linux.S_IFDIR|0o755, 0); !isErr(err, syscall.EPERM) {
		t.Fatal("mknod dir", err)
	}
}

// TestRenameMatrix renames each kind of source onto each kind of
// destination with each flag, on a fresh tree every time.
func TestRenameMatrix(t *testing.T) {
	const (
		noRep = linux.RENAME_NOREPLACE
		exch  = linux.RENAME_EXCHANGE
	)
	rows := []struct {
		src, dst string
		flags    int
		want     syscall.Errno
	}{
		{"/file", "/new", 0, 0},
		{"/file", "/file2", 0, 0},
		{"/file", "/empty", 0, syscall.EISDIR},
		{"/file", "/full", 0, syscall.EISDIR},
		{"/file", "/hard", 0, 0}, // same inode: nothing happens
		{"/file", "/file", 0, 0},
		{"/file", "/new/", 0, syscall.ENOTDIR},
		{"/file/", "/new", 0, syscall.ENOTDIR},
		{"/file", "/nodir/new", 0, syscall.ENOENT},
		{"/nope", "/new", 0, syscall.ENOENT},
		{"/dir", "/new", 0, 0},
		{"/dir", "/new/", 0, 0},
		{"/dir", "/file", 0, syscall.ENOTDIR},
		{"/dir", "/empty", 0, 0},
		{"/dir", "/full", 0, syscall.ENOTEMPTY},
		{"/dir", "/dir", 0, 0},
		{"/dir", "/dir/sub", 0, syscall.EINVAL},
		{"/dir", "/dir/c/deeper", 0, syscall.EINVAL},
		{"/dir/c", "/dir", 0, syscall.ENOTEMPTY},
		{"/dir/c", "/top", 0, 0},
		{"/link", "/new", 0, 0},
		{"/file", "/new", noRep, 0},
		{"/file", "/file2", noRep, syscall.EEXIST},
		{"/dir", "/empty", noRep, syscall.EEXIST},
		{"/file", "/new", exch, syscall.ENOENT},
		{"/file", "/file2", exch, 0},
		{"/file", "/dir", exch, 0},
		{"/dir", "/full", exch, 0},
		{"/dir", "/dir/c", exch, syscall.EINVAL},
		{"/dir/c", "/dir", exch, syscall.EINVAL},
		{"/file", "/file2", noRep | exch, syscall.EINVAL},
		{"/file", "/file2", 8, syscall.EINVAL},
		{"/file", "/mnt/file", 0, syscall.EXDEV},
		{"/mnt", "/new", 0, syscall.EBUSY},
		{"/.", "/new", 0, syscall.EBUSY},
		{"/dir", "/..", 0, syscall.EBUSY},
	}
	for _, r := range rows {
		name := fmt.Sprintf("%s->%s/%d", r.src, r.dst, r.flags)
		t.Run(name, func(t *testing.T) {
			v := newVFS(t)
			mkdirs(t, v, "/dir", "/dir/c", "/empty", "/full", "/full/x", "/mnt")
			writeFile(t, v, "/file", "S")
			writeFile(t, v, "/file2", "D")
			ok(t, v.Link(root, "/file", root, "/hard", 0))
			ok(t, v.Symlink("file", root, "/link"))
			ok(t, v.Mount(root, "/mnt", ramfs.New(ramfs.Options{})))
			clean := func(p string) string { return strings.TrimSuffix(p, "/") }
			var srcIno, dstIno uint64
			if r.want == 0 {
				srcIno = ino(t, v, clean(r.src))
				if _, err := v.Stat(root, clean(r.dst), linux.AT_SYMLINK_NOFOLLOW); err == nil {
					dstIno = ino(t, v, clean(r.dst))
				}
			}
			err := v.Rename(root, r.src, root, r.dst, r.flags)
			if !isErr(err, r.want) {
				t.Fatalf("got %v, want %v", errName(err), r.want)
			}
			if r.want != 0 {
				return
			}
			switch {
			case srcIno == dstIno: // same file: both names stay
				ino(t, v, clean(r.src))
			case r.flags&exch != 0:
				if ino(t, v, clean(r.src)) != dstIno || ino(t, v, clean(r.dst)) != srcIno {
					t.Fatal("not exchanged")
				}
			default:
				if got := ino(t, v, clean(r.dst)); got != srcIno {
					t.Fatal("destination is not the source")
				}
				if _, err := v.Stat(root, clean(r.src), linux.AT_SYMLINK_NOFOLLOW); !isErr(err, syscall.ENOENT) {
					t.Fatal("source still there")
				}
			}
			checkLinks(t, v, "/")
		})
	}
}

// checkLinks verifies every directory's nlink is 2 + its subdirectories
// and every ".." leads to the parent.
func checkLinks(t *testing.T, v *fs.VFS, dir string) {
	t.Helper()
	st, err := v.Stat(root, dir, 0)
	ok(t, err)
	subdirs := 0
	for _, n := range names(t, v, dir) {
		p := strings.TrimSuffix(dir, "/") + "/" + n
		cs, err := v.Stat(root, p, linux.AT_SYMLINK_NOFOLLOW)
		ok(t, err)
		if cs.IsDir() && cs.Dev == st.Dev {
			subdirs++
			if ino(t, v, p+"/..") != st.Ino {
				t.Errorf("%s/.. is not %s", p, dir)
			}
			checkLinks(t, v, p)
		} else if cs.IsDir() {
			subdirs++ // a mount point: counts for the covered directory
		}
	}
	if st.Nlink != uint32(2+subdirs) {
		t.Errorf("%s: nlink %d, want %d", dir, st.Nlink, 2+subdirs)
	}
}

// TestGetdentsStable reads a directory in pieces while entries are
// added and removed: entries present throughout appear exactly once,
// removed ones that were not yet read never appear, and seeking to a
// d_off resumes after that entry.
func TestGetdentsStable(t *testing.T) {
	v := newVFS(t)
	mkdirs(t, v, "/d")
	for i := 0; i < 100; i++ {
		writeFile(t, v, fmt.Sprintf("/d/f%03d", i), "")
	}
	f, err := v.Open(root, "/d", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	ok(t, err)
	seen := map[string]int{}
	var offs []uint64
	read := func(n int) {
		ok(t, f.ReadDir(func(d fs.Dirent) bool {
			if n == 0 {
				return false
			}
			n--
			seen[d.Name]++
			offs = append(offs, d.Next)
			return true
		}))
	}
	read(32) // ".", "..", f000..f029
	for i := 0; i < 100; i += 3 {
		ok(t, v.Unlink(root, fmt.Sprintf("/d/f%03d", i), 0))
	}
	for i := 0; i < 10; i++ {
		writeFile(t, v, fmt.Sprintf("/d/new%d", i), "")
	}
	read(1 << 30)
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("f%03d", i)
		want := 1
		if i%3 == 0 && i >= 30 {
			want = 0 // removed before it was read
		}
		if seen[name] != want {
			t.Errorf("%s seen %d times, want %d", name, seen[name], want)
		}
	}
	if seen["."] != 1 || seen[".."] != 1 {
		t.Error("dot entries", seen["."], seen[".."])
	}
	// Seek back to the offset after f010 and read one entry: f011.
	pos := offs[12] // entries 0,1 are . and ..; 12 is f010
	if p, err := f.Seek(int64(pos), linux.SEEK_SET); err != nil || p != int64(pos) {
		t.Fatal(p, err)
	}
	var next string
	f.ReadDir(func(d fs.Dirent) bool { next = d.Name; return false })
	f.ReadDir(func(d fs.Dirent) bool { next = d.Name; return false }) // refused: not consumed
	if next != "f011" {
		t.Fatalf("after seek: %q", next)
	}
	if _, err := f.Seek(0, linux.SEEK_END); !isErr(err, syscall.EINVAL) {
		t.Fatal("SEEK_END on dir")
	}
	got := names(t, v, "/d")
	if !slices.IsSorted(got[:len(got)-10]) || len(got) != 100-34+10 {
		t.Fatalf("listing %d entries", len(got))
	}
}

// TestOpenLocMatchesOpen: Lookup and then OpenLoc (the posix layer's
// single walk for openat without O_CREAT) answers as Open does, error
// for error, and opens the same file.
func TestOpenLocMatchesOpen(t *testing.T) {
	paths := []string{"/file", "/d", "/d/f", "/mnt/x", "/mnt", "/link", "/dlink", "/loop1", "/nope", "/file/", "/d/"}
	flags := []int{linux.O_RDONLY, linux.O_WRONLY, linux.O_RDWR, linux.O_RDONLY | linux.O_NOFOLLOW,
		linux.O_RDONLY | linux.O_DIRECTORY, linux.O_WRONLY | linux.O_TRUNC, linux.O_RDONLY | linux.O_NONBLOCK}
	fixture := func() *fs.VFS {
		v := errFixture(t)
		ok(t, v.Symlink("/file", root, "/link"))
		ok(t, v.Symlink("d", root, "/dlink"))
		return v
	}
	for _, p := range paths {
		for _, fl := range flags {
			v1, v2 := fixture(), fixture()
			f1, err1 := v1.Open(root, p, fl, 0)
			var f2 *fs.File
			l, err2 := v2.Lookup(root, p, fl&linux.O_NOFOLLOW == 0)
			if err2 == nil {
				f2, err2 = v2.OpenLoc(l, fl)
			}
			if errName(err1) != errName(err2) {
				t.Errorf("%s flags %#x: Open %s, Lookup and OpenLoc %s", p, fl, errName(err1), errName(err2))
				continue
			}
			if err1 != nil {
				continue
			}
			st1, err1 := f1.Stat()
			st2, err2 := f2.Stat()
			ok(t, err1)
			ok(t, err2)
			if st1.Ino != st2.Ino || st1.Mode != st2.Mode || st1.Size != st2.Size || f1.Flags() != f2.Flags() {
				t.Errorf("%s flags %#x: Open gave ino %d mode %#o size %d flags %#x, OpenLoc ino %d mode %#o size %d flags %#x",
					p, fl, st1.Ino, st1.Mode, st1.Size, f1.Flags(), st2.Ino, st2.Mode, st2.Size, f2.Flags())
			}
			ok(t, f1.Close())
			ok(t, f2.Close())
		}
	}
	v := fixture()
	l, err := v.Lookup(root, "/file", true)
	ok(t, err)
	for _, fl := range []int{linux.O_RDONLY | linux.O_CREAT, linux.O_PATH, linux.O_TMPFILE | linux.O_RDWR, linux.O_ACCMODE} {
		if _, err := v.OpenLoc(l, fl); !isErr(err, syscall.EINVAL) {
			t.Errorf("OpenLoc with flags %#x: %v; want EINVAL (Open's cases)", fl, errName(err))
		}
	}
}

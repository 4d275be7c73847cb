package posix

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// Paths and directories: the *at calls over the process's VFS (vfs.go),
// and the descriptor calls that need a VFS file (positioned I/O, seek,
// truncate, sync).

const ()

// path copies a path argument in (ENAMETOOLONG past PATH_MAX).
func (t *Thread) path(addr uint64) (string, Errno) {
	if addr == 0 {
		return "", linux.EFAULT
	}
	return copyInString(t.p.cpu.CopyIn, &t.scratch().page, uintptr(addr), linux.PATH_MAX)
}

// fdLoc is descriptor fd's place in the VFS: EBADF if it is not open,
// notVFS for files that have none (pipes, the console, eventfds).
func (t *Thread) fdLoc(fd uint64, notVFS Errno) (fs.Loc, Errno) {
	of, e := t.fd(fd)
	if e != 0 {
		return fs.Loc{}, e
	}
	l, ok := of.f.Loc()
	if !ok {
		return fs.Loc{}, notVFS
	}
	return l, 0
}

// at is where path starts for an *at call: nowhere in particular for an
// absolute path (dirfd is ignored, as on Linux), the working directory
// for AT_FDCWD, otherwise dirfd's file.
func (t *Thread) at(dirfd uint64, path string) (fs.Loc, Errno) {
	if strings.HasPrefix(path, "/") {
		return fs.Loc{}, 0
	}
	if int32(dirfd) == linux.AT_FDCWD {
		return t.p.fs.getCwd(), 0
	}
	return t.fdLoc(dirfd, linux.ENOTDIR)
}

// lookupPath resolves a path argument from the working directory,
// following a final symlink (chdir, statfs).
func (t *Thread) lookupPath(addr uint64) (fs.Loc, Errno) {
	path, e := t.path(addr)
	if e != 0 {
		return fs.Loc{}, e
	}
	l, err := t.p.fs.v.Lookup(t.p.fs.getCwd(), path, true)
	return l, fs.ToErrno(err)
}

// pathAt reads a path argument and its start together.
func (t *Thread) pathAt(dirfd, addr uint64) (fs.Loc, string, Errno) {
	path, e := t.path(addr)
	if e != 0 {
		return fs.Loc{}, "", e
	}
	start, e := t.at(dirfd, path)
	return start, path, e
}

func (t *Thread) umasked(mode uint64) uint32 {
	return uint32(mode) & 0o7777 &^ t.p.umask.Load()
}

// sysFaccessat implements faccessat(2).
func sysFaccessat(t *Thread, a *[6]uint64) int64 {
	return t.access(a[0], a[1], a[2], 0)
}

// sysFaccessat2 implements faccessat2(2).
func sysFaccessat2(t *Thread, a *[6]uint64) int64 {
	const atEaccess = linux.AT_EACCESS
	if a[3]&^(atEaccess|linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return errno(linux.EINVAL)
	}
	return t.access(a[0], a[1], a[2], int(a[3]))
}

func (t *Thread) access(dirfd, addr, mode uint64, flags int) int64 {
	start, path, e := t.pathAt(dirfd, addr)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Access(start, path, uint32(mode), flags)))
}

// sysGetdents64 fills the buffer with struct linux_dirent64 records.
func sysGetdents64(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	size := min(a[2], 1<<20) // a short listing is allowed; bounds the kernel buffer
	var buf []byte
	e = of.f.ReadDir(func(d fs.Dirent) bool {
		rec := (linux.Dirent64NameOffset + len(d.Name) + 1 + 7) &^ 7
		if uint64(len(buf)+rec) > size {
			return false
		}
		r := make([]byte, rec)
		h := linux.Dirent64Header{Ino: d.Ino, Off: int64(d.Next), Reclen: uint16(rec), Type: d.Type}
		copy(r, linux.AsBytes(&h)[:linux.Dirent64NameOffset])
		copy(r[linux.Dirent64NameOffset:], d.Name)
		buf = append(buf, r...)
		return true
	})
	if e != 0 {
		return errno(e)
	}
	if len(buf) == 0 && !atEnd(of.f) {
		return errno(linux.EINVAL) // the next entry does not fit
	}
	if e := t.p.cpu.CopyOut(uintptr(a[1]), buf); e != 0 {
		return errno(e)
	}
	return int64(len(buf))
}

// atEnd reports whether a directory has no entry left to read.
func atEnd(f File) bool {
	more := false
	f.ReadDir(func(fs.Dirent) bool { more = true; return false })
	return !more
}

// sysMkdirat implements mkdirat(2).
func sysMkdirat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Mkdir(start, path, t.umasked(a[2]))))
}

// sysMknodat implements mknodat(2).
func sysMknodat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	mode := uint32(a[2])&linux.S_IFMT | t.umasked(a[2])
	return errno(fs.ToErrno(t.p.fs.v.Mknod(start, path, mode, a[3])))
}

// sysUnlinkat implements unlinkat(2).
func sysUnlinkat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Unlink(start, path, int(a[2]))))
}

// twoPaths reads the (olddirfd, oldpath, newdirfd, newpath) arguments.
func (t *Thread) twoPaths(a *[6]uint64) (from fs.Loc, fromPath string, to fs.Loc, toPath string, e Errno) {
	if from, fromPath, e = t.pathAt(a[0], a[1]); e != 0 {
		return
	}
	to, toPath, e = t.pathAt(a[2], a[3])
	return
}

// sysRenameat2 implements renameat2(2).
func sysRenameat2(t *Thread, a *[6]uint64) int64 {
	from, fromPath, to, toPath, e := t.twoPaths(a)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Rename(from, fromPath, to, toPath, int(a[4]))))
}

// sysLinkat implements linkat(2).
func sysLinkat(t *Thread, a *[6]uint64) int64 {
	from, fromPath, to, toPath, e := t.twoPaths(a)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Link(from, fromPath, to, toPath, int(a[4]))))
}

// sysSymlinkat implements symlinkat(2).
func sysSymlinkat(t *Thread, a *[6]uint64) int64 {
	target, e := t.path(a[0])
	if e != 0 {
		return errno(e)
	}
	start, path, e := t.pathAt(a[1], a[2])
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Symlink(target, start, path)))
}

// sysReadlinkat implements readlinkat(2).
func sysReadlinkat(t *Thread, a *[6]uint64) int64 {
	if int64(a[3]) <= 0 || int32(a[3]) <= 0 {
		return errno(linux.EINVAL)
	}
	path, e := t.path(a[1])
	if e != 0 {
		return errno(e)
	}
	flags := 0
	if path == "" {
		flags = linux.AT_EMPTY_PATH // Linux reads dirfd's own link for ""
	}
	start, e := t.at(a[0], path)
	if e != 0 {
		return errno(e)
	}
	target, err := t.p.fs.v.Readlink(start, path, flags)
	if err != nil {
		if path == "" && err == linux.EINVAL {
			return errno(linux.ENOENT)
		}
		return errno(fs.ToErrno(err))
	}
	out := []byte(target)[:min(uint64(len(target)), a[3])]
	if e := t.p.cpu.CopyOut(uintptr(a[2]), out); e != 0 {
		return errno(e)
	}
	return int64(len(out))
}

// sysFtruncate implements ftruncate(2).
func sysFtruncate(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	if int64(a[1]) < 0 {
		return errno(linux.EINVAL)
	}
	return errno(of.f.Truncate(int64(a[1])))
}

// sysTruncate implements truncate(2).
func sysTruncate(t *Thread, a *[6]uint64) int64 {
	path, e := t.path(a[0])
	if e != 0 {
		return errno(e)
	}
	if int64(a[1]) < 0 {
		return errno(linux.EINVAL)
	}
	return errno(fs.ToErrno(t.p.fs.v.Truncate(t.p.fs.getCwd(), path, int64(a[1]))))
}

// sysFsync implements fsync(2) and fdatasync.
func sysFsync(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	return errno(of.f.Sync())
}

// fdAttr changes attributes of descriptor fd's file; descriptors outside
// the VFS have nowhere to keep them, so the change is accepted and lost.
func (t *Thread) fdAttr(fd uint64, a fs.Attr) int64 {
	of, e := t.fd(fd)
	if e != 0 {
		return errno(e)
	}
	l, ok := of.f.Loc()
	if !ok {
		return 0
	}
	return errno(fs.ToErrno(t.p.fs.v.SetAttr(l, "", a, linux.AT_EMPTY_PATH)))
}

// sysFchmod implements fchmod(2).
func sysFchmod(t *Thread, a *[6]uint64) int64 {
	return t.fdAttr(a[0], fs.Attr{Mask: fs.SetMode, Mode: uint32(a[1]) & 0o7777})
}

// sysFchmodat implements fchmodat(2).
func sysFchmodat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Chmod(start, path, uint32(a[2])&0o7777, 0)))
}

func chownAttr(uid, gid uint64) fs.Attr {
	var a fs.Attr
	if uint32(uid) != ^uint32(0) {
		a.Mask, a.Uid = a.Mask|fs.SetUid, uint32(uid)
	}
	if uint32(gid) != ^uint32(0) {
		a.Mask, a.Gid = a.Mask|fs.SetGid, uint32(gid)
	}
	return a
}

// sysFchown implements fchown(2).
func sysFchown(t *Thread, a *[6]uint64) int64 { return t.fdAttr(a[0], chownAttr(a[1], a[2])) }

// sysFchownat implements fchownat(2).
func sysFchownat(t *Thread, a *[6]uint64) int64 {
	flags := int(a[4])
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return errno(linux.EINVAL)
	}
	path, e := t.path(a[1])
	if e != 0 {
		return errno(e)
	}
	if path == "" && flags&linux.AT_EMPTY_PATH != 0 {
		return t.fdAttr(a[0], chownAttr(a[2], a[3]))
	}
	start, e := t.at(a[0], path)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Chown(start, path, int(uint32(a[2])), int(uint32(a[3])), flags)))
}

// Special tv_nsec values of utimensat.
const ()

// timesAttr reads utimensat's two timespecs (NULL: both now).
func (t *Thread) timesAttr(addr uint64) (fs.Attr, Errno) {
	if addr == 0 {
		return fs.Attr{Mask: fs.SetAtimeNow | fs.SetMtimeNow}, 0
	}
	var b [32]byte
	if e := t.p.cpu.CopyIn(b[:], uintptr(addr)); e != 0 {
		return fs.Attr{}, e
	}
	var a fs.Attr
	for i, bits := range [2][2]uint32{{fs.SetAtime, fs.SetAtimeNow}, {fs.SetMtime, fs.SetMtimeNow}} {
		sec := int64(binary.LittleEndian.Uint64(b[16*i:]))
		nsec := int64(binary.LittleEndian.Uint64(b[16*i+8:]))
		switch {
		case nsec == linux.UTIME_OMIT:
		case nsec == linux.UTIME_NOW:
			a.Mask |= bits[1]
		case nsec < 0 || nsec >= 1e9:
			return fs.Attr{}, linux.EINVAL
		default:
			a.Mask |= bits[0]
			if i == 0 {
				a.Atime = time.Unix(sec, nsec)
			} else {
				a.Mtime = time.Unix(sec, nsec)
			}
		}
	}
	return a, 0
}

// sysUtimensat implements utimensat(2).
func sysUtimensat(t *Thread, a *[6]uint64) int64 {
	flags := int(a[3])
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return errno(linux.EINVAL)
	}
	attr, e := t.timesAttr(a[2])
	if e != 0 {
		return errno(e)
	}
	if attr.Mask == 0 {
		return 0 // both UTIME_OMIT
	}
	path := ""
	if a[1] == 0 { // futimens: the descriptor itself
		if flags&linux.AT_SYMLINK_NOFOLLOW != 0 {
			return errno(linux.EINVAL)
		}
		flags |= linux.AT_EMPTY_PATH
	} else if path, e = t.path(a[1]); e != 0 {
		return errno(e)
	}
	if path == "" && flags&linux.AT_EMPTY_PATH != 0 {
		return t.fdAttr(a[0], attr)
	}
	start, e := t.at(a[0], path)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Utimes(start, path, attr, flags)))
}

// chdirTo makes l the working directory if it is a searchable directory.
func (t *Thread) chdirTo(l fs.Loc) int64 {
	if !l.Stat().IsDir() {
		return errno(linux.ENOTDIR)
	}
	if err := t.p.fs.v.Access(l, "", linux.X_OK, linux.AT_EMPTY_PATH); err != nil {
		return errno(fs.ToErrno(err))
	}
	t.p.fs.setCwd(l)
	return 0
}

// sysChdir implements chdir(2).
func sysChdir(t *Thread, a *[6]uint64) int64 {
	l, e := t.lookupPath(a[0])
	if e != 0 {
		return errno(e)
	}
	return t.chdirTo(l)
}

// sysFchdir implements fchdir(2).
func sysFchdir(t *Thread, a *[6]uint64) int64 {
	l, e := t.fdLoc(a[0], linux.ENOTDIR)
	if e != 0 {
		return errno(e)
	}
	return t.chdirTo(l)
}

// sysGetcwd implements getcwd(2).
func sysGetcwd(t *Thread, a *[6]uint64) int64 {
	cwd, err := t.p.fs.v.PathOf(t.p.fs.getCwd())
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	b := append([]byte(cwd), 0)
	if a[1] < uint64(len(b)) {
		return errno(linux.ERANGE)
	}
	if e := t.p.cpu.CopyOut(uintptr(a[0]), b); e != 0 {
		return errno(e)
	}
	return int64(len(b))
}

package posix

import (
	"encoding/binary"
	"strings"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// Paths and directories: the *at calls over the process's VFS (vfs.go),
// and the descriptor calls that need a VFS file (positioned I/O, seek,
// truncate, sync).

var fsCalls = []entry{
	{nr: 56, name: "openat", fn: sysOpenat, level: Partial, note: "O_TMPFILE: EOPNOTSUPP; device nodes other than /dev's: ENXIO; /proc/self/fd entries are plain symlinks (a pipe cannot be reopened through one)"},
	{nr: 79, name: "newfstatat", fn: sysNewfstatat},
	{nr: 291, name: "statx", fn: sysStatx, level: Partial, note: "no birth time (STATX_BTIME not reported)"},
	{nr: 48, name: "faccessat", fn: sysFaccessat},
	{nr: 439, name: "faccessat2", fn: sysFaccessat2},
	{nr: 61, name: "getdents64", fn: sysGetdents64},
	{nr: 34, name: "mkdirat", fn: sysMkdirat},
	{nr: 33, name: "mknodat", fn: sysMknodat, level: Partial, note: "FIFOs are pipes; device nodes open with ENXIO (no drivers behind them)"},
	{nr: 35, name: "unlinkat", fn: sysUnlinkat},
	{nr: 276, name: "renameat2", fn: sysRenameat2, level: Partial, note: "RENAME_NOREPLACE, RENAME_EXCHANGE; no RENAME_WHITEOUT (riscv64 has no plain renameat)"},
	{nr: 37, name: "linkat", fn: sysLinkat},
	{nr: 36, name: "symlinkat", fn: sysSymlinkat},
	{nr: 78, name: "readlinkat", fn: sysReadlinkat},
	{nr: 46, name: "ftruncate", fn: sysFtruncate},
	{nr: 45, name: "truncate", fn: sysTruncate},
	{nr: 82, name: "fsync", fn: sysFsync, note: "files live in RAM: nothing to flush"},
	{nr: 83, name: "fdatasync", fn: sysFsync},
	{nr: 52, name: "fchmod", fn: sysFchmod, level: Partial, note: "accepted and ignored on pipes, eventfds and the console"},
	{nr: 53, name: "fchmodat", fn: sysFchmodat},
	{nr: 55, name: "fchown", fn: sysFchown, level: Partial, note: "accepted and ignored on pipes, eventfds and the console"},
	{nr: 54, name: "fchownat", fn: sysFchownat},
	{nr: 88, name: "utimensat", fn: sysUtimensat},
	{nr: 49, name: "chdir", fn: sysChdir},
	{nr: 50, name: "fchdir", fn: sysFchdir},
	{nr: 17, name: "getcwd", fn: sysGetcwd},
	{nr: 43, name: "statfs", fn: sysStatfs, level: Partial, note: "tmpfs figures; the size limit is the machine's memory"},
	{nr: 44, name: "fstatfs", fn: sysFstatfs, level: Partial, note: "tmpfs figures; the size limit is the machine's memory"},
	{nr: 69, name: "preadv", fn: sysPreadv},
	{nr: 70, name: "pwritev", fn: sysPwritev},
	{nr: 71, name: "sendfile", fn: sysSendfile, level: Partial, note: "from VFS files only (EINVAL from pipes), as Linux"},
	{nr: 285, name: "copy_file_range", fn: sysCopyFileRange, level: Partial, note: "by copying; flags must be 0"},
}

const (
	atFdcwd           = -100
	atSymlinkNofollow = fs.AT_SYMLINK_NOFOLLOW
	atEmptyPath       = fs.AT_EMPTY_PATH
	atNoAutomount     = 0x800
	atStatxSyncType   = 0x6000
)

// path copies a path argument in (ENAMETOOLONG past PATH_MAX).
func (t *Thread) path(addr uint64) (string, Errno) {
	if addr == 0 {
		return "", syscall.EFAULT
	}
	return t.p.cpu.CopyInString(uintptr(addr), fs.PathMax)
}

// vfsFD is descriptor fd's VFS file: EBADF if it is not open, ENOTDIR
// for descriptors that are not in the VFS (pipes, the console) when a
// path was to be resolved from them.
func (t *Thread) vfsFD(fd int, notVFS Errno) (*vfsFile, Errno) {
	of, e := t.p.fds.file(fd)
	if e != 0 {
		return nil, e
	}
	v, ok := of.f.(*vfsFile)
	if !ok {
		return nil, notVFS
	}
	return v, 0
}

// at is where path starts for an *at call: nowhere in particular for an
// absolute path (dirfd is ignored, as on Linux), the working directory
// for AT_FDCWD, otherwise dirfd's file.
func (t *Thread) at(dirfd uint64, path string) (fs.Loc, Errno) {
	if strings.HasPrefix(path, "/") {
		return fs.Loc{}, 0
	}
	if int32(dirfd) == atFdcwd {
		return t.p.fs.getCwd(), 0
	}
	v, e := t.vfsFD(int(int32(dirfd)), syscall.ENOTDIR)
	if e != 0 {
		return fs.Loc{}, e
	}
	return v.f.Loc(), 0
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

func sysOpenat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	flags := int(uint32(a[2]))
	if file, e, ok := t.openSpecial(start, path, flags); ok {
		if e != 0 {
			return errno(e)
		}
		return t.installOpen(file, uint32(flags)&^(fs.O_CREAT|fs.O_EXCL|fs.O_TRUNC|fs.O_NOCTTY|fs.O_CLOEXEC), flags)
	}
	f, err := t.p.fs.v.Open(start, path, flags, t.umasked(a[3]))
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	return t.installOpen(newVFSFile(t.p, f, path, start), uint32(f.Flags()), flags)
}

// installOpen gives a newly opened file the lowest free descriptor.
func (t *Thread) installOpen(f File, fileFlags uint32, flags int) int64 {
	fd, e := t.p.fds.install(&openFile{f: f, flags: fileFlags}, 0, flags&fs.O_CLOEXEC != 0)
	if e != 0 {
		f.Close()
		return errno(e)
	}
	return int64(fd)
}

// openSpecial opens files the VFS only names: FIFOs become the
// process's pipes. ok is false for everything else.
func (t *Thread) openSpecial(start fs.Loc, path string, flags int) (f File, e Errno, ok bool) {
	if flags&(fs.O_PATH|fs.O_EXCL) != 0 {
		return nil, 0, false // O_PATH describes the node; O_EXCL must fail in the VFS
	}
	nf := 0
	if flags&fs.O_NOFOLLOW != 0 {
		nf = atSymlinkNofollow
	}
	st, err := t.p.fs.v.Stat(start, path, nf)
	if err != nil || st.Mode&fs.S_IFMT != fs.S_IFIFO {
		return nil, 0, false
	}
	if flags&fs.O_DIRECTORY != 0 {
		return nil, syscall.ENOTDIR, true
	}
	f, e = t.openFIFO(st, flags)
	return f, e, true
}

// statAt resolves an fstatat/statx target; an empty path with
// AT_EMPTY_PATH describes dirfd itself, whatever kind of file it is.
func (t *Thread) statAt(dirfd uint64, path string, flags int) (fs.Stat, Errno) {
	if path == "" && flags&atEmptyPath != 0 && int32(dirfd) != atFdcwd {
		of, e := t.fd(dirfd)
		if e != 0 {
			return fs.Stat{}, e
		}
		return fileStat(of.f), 0
	}
	start, e := t.at(dirfd, path)
	if e != 0 {
		return fs.Stat{}, e
	}
	st, err := t.p.fs.v.Stat(start, path, flags)
	return st, fs.ToErrno(err)
}

func sysNewfstatat(t *Thread, a *[6]uint64) int64 {
	flags := int(a[3])
	if flags&^(atSymlinkNofollow|atEmptyPath|atNoAutomount) != 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.path(a[1])
	if e != 0 {
		return errno(e)
	}
	st, e := t.statAt(a[0], path, flags)
	if e != 0 {
		return errno(e)
	}
	return errno(t.putStat(uintptr(a[2]), st))
}

func sysStatx(t *Thread, a *[6]uint64) int64 {
	const statxReserved = 0x80000000
	flags := int(a[2])
	if flags&^(atSymlinkNofollow|atEmptyPath|atNoAutomount|atStatxSyncType) != 0 ||
		flags&atStatxSyncType == atStatxSyncType || uint32(a[3])&statxReserved != 0 {
		return errno(syscall.EINVAL)
	}
	path := ""
	if a[1] != 0 || flags&atEmptyPath == 0 { // Linux 6.11 takes NULL for ""
		var e Errno
		if path, e = t.path(a[1]); e != 0 {
			return errno(e)
		}
	}
	st, e := t.statAt(a[0], path, flags)
	if e != 0 {
		return errno(e)
	}
	return errno(t.putStatx(uintptr(a[4]), st))
}

func sysFaccessat(t *Thread, a *[6]uint64) int64 {
	return t.access(a[0], a[1], a[2], 0)
}

func sysFaccessat2(t *Thread, a *[6]uint64) int64 {
	const atEaccess = fs.AT_EACCESS
	if a[3]&^(atEaccess|atSymlinkNofollow|atEmptyPath) != 0 {
		return errno(syscall.EINVAL)
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
	v, e := t.vfsFD(int(int32(a[0])), syscall.ENOTDIR)
	if e != 0 {
		return errno(e)
	}
	size := min(a[2], maxIO)
	var buf []byte
	err := v.f.ReadDir(func(d fs.Dirent) bool {
		rec := (19 + len(d.Name) + 1 + 7) &^ 7
		if uint64(len(buf)+rec) > size {
			return false
		}
		r := make([]byte, rec)
		binary.LittleEndian.PutUint64(r[0:], d.Ino)
		binary.LittleEndian.PutUint64(r[8:], d.Next)
		binary.LittleEndian.PutUint16(r[16:], uint16(rec))
		r[18] = d.Type
		copy(r[19:], d.Name)
		buf = append(buf, r...)
		return true
	})
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	if len(buf) == 0 && !atEnd(v.f) {
		return errno(syscall.EINVAL) // the next entry does not fit
	}
	if e := t.p.cpu.CopyOut(uintptr(a[1]), buf); e != 0 {
		return errno(e)
	}
	return int64(len(buf))
}

// atEnd reports whether a directory has no entry left to read.
func atEnd(f *fs.File) bool {
	more := false
	f.ReadDir(func(fs.Dirent) bool { more = true; return false })
	return !more
}

func sysMkdirat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Mkdir(start, path, t.umasked(a[2]))))
}

func sysMknodat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	mode := uint32(a[2])&fs.S_IFMT | t.umasked(a[2])
	return errno(fs.ToErrno(t.p.fs.v.Mknod(start, path, mode, a[3])))
}

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

func sysRenameat2(t *Thread, a *[6]uint64) int64 {
	from, fromPath, to, toPath, e := t.twoPaths(a)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Rename(from, fromPath, to, toPath, int(a[4]))))
}

func sysLinkat(t *Thread, a *[6]uint64) int64 {
	from, fromPath, to, toPath, e := t.twoPaths(a)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Link(from, fromPath, to, toPath, int(a[4]))))
}

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

func sysReadlinkat(t *Thread, a *[6]uint64) int64 {
	if int64(a[3]) <= 0 || int32(a[3]) <= 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.path(a[1])
	if e != 0 {
		return errno(e)
	}
	flags := 0
	if path == "" {
		flags = atEmptyPath // Linux reads dirfd's own link for ""
	}
	start, e := t.at(a[0], path)
	if e != 0 {
		return errno(e)
	}
	target, err := t.p.fs.v.Readlink(start, path, flags)
	if err != nil {
		if path == "" && err == syscall.EINVAL {
			return errno(syscall.ENOENT)
		}
		return errno(fs.ToErrno(err))
	}
	out := []byte(target)[:min(uint64(len(target)), a[3])]
	if e := t.p.cpu.CopyOut(uintptr(a[2]), out); e != 0 {
		return errno(e)
	}
	return int64(len(out))
}

func sysFtruncate(t *Thread, a *[6]uint64) int64 {
	v, e := t.vfsFD(int(int32(a[0])), syscall.EINVAL)
	if e != 0 {
		return errno(e)
	}
	if int64(a[1]) < 0 {
		return errno(syscall.EINVAL)
	}
	return errno(fs.ToErrno(v.f.Truncate(int64(a[1]))))
}

func sysTruncate(t *Thread, a *[6]uint64) int64 {
	path, e := t.path(a[0])
	if e != 0 {
		return errno(e)
	}
	if int64(a[1]) < 0 {
		return errno(syscall.EINVAL)
	}
	return errno(fs.ToErrno(t.p.fs.v.Truncate(t.p.fs.getCwd(), path, int64(a[1]))))
}

func sysFsync(t *Thread, a *[6]uint64) int64 {
	v, e := t.vfsFD(int(int32(a[0])), syscall.EINVAL)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(v.f.Sync()))
}

// fdAttr changes attributes of descriptor fd's file; descriptors outside
// the VFS have nowhere to keep them, so the change is accepted and lost.
func (t *Thread) fdAttr(fd uint64, a fs.Attr) int64 {
	v, e := t.vfsFD(int(int32(fd)), 0)
	if e != 0 || v == nil {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.SetAttr(v.f.Loc(), "", a, atEmptyPath)))
}

func sysFchmod(t *Thread, a *[6]uint64) int64 {
	return t.fdAttr(a[0], fs.Attr{Mask: fs.SetMode, Mode: uint32(a[1]) & 0o7777})
}

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

func sysFchown(t *Thread, a *[6]uint64) int64 { return t.fdAttr(a[0], chownAttr(a[1], a[2])) }

func sysFchownat(t *Thread, a *[6]uint64) int64 {
	flags := int(a[4])
	if flags&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return errno(syscall.EINVAL)
	}
	path, e := t.path(a[1])
	if e != 0 {
		return errno(e)
	}
	if path == "" && flags&atEmptyPath != 0 {
		return t.fdAttr(a[0], chownAttr(a[2], a[3]))
	}
	start, e := t.at(a[0], path)
	if e != 0 {
		return errno(e)
	}
	return errno(fs.ToErrno(t.p.fs.v.Chown(start, path, int(uint32(a[2])), int(uint32(a[3])), flags)))
}

// Special tv_nsec values of utimensat.
const (
	utimeNow  = 1<<30 - 1
	utimeOmit = 1<<30 - 2
)

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
		case nsec == utimeOmit:
		case nsec == utimeNow:
			a.Mask |= bits[1]
		case nsec < 0 || nsec >= 1e9:
			return fs.Attr{}, syscall.EINVAL
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

func sysUtimensat(t *Thread, a *[6]uint64) int64 {
	flags := int(a[3])
	if flags&^(atSymlinkNofollow|atEmptyPath) != 0 {
		return errno(syscall.EINVAL)
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
		if flags&atSymlinkNofollow != 0 {
			return errno(syscall.EINVAL)
		}
		flags |= atEmptyPath
	} else if path, e = t.path(a[1]); e != 0 {
		return errno(e)
	}
	if path == "" && flags&atEmptyPath != 0 {
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
		return errno(syscall.ENOTDIR)
	}
	if err := t.p.fs.v.Access(l, "", fs.X_OK, atEmptyPath); err != nil {
		return errno(fs.ToErrno(err))
	}
	t.p.fs.setCwd(l)
	return 0
}

func sysChdir(t *Thread, a *[6]uint64) int64 {
	path, e := t.path(a[0])
	if e != 0 {
		return errno(e)
	}
	l, err := t.p.fs.v.Lookup(t.p.fs.getCwd(), path, true)
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	return t.chdirTo(l)
}

func sysFchdir(t *Thread, a *[6]uint64) int64 {
	v, e := t.vfsFD(int(int32(a[0])), syscall.ENOTDIR)
	if e != 0 {
		return errno(e)
	}
	return t.chdirTo(v.f.Loc())
}

func sysGetcwd(t *Thread, a *[6]uint64) int64 {
	cwd, err := t.p.fs.v.PathOf(t.p.fs.getCwd())
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	b := append([]byte(cwd), 0)
	if a[1] < uint64(len(b)) {
		return errno(syscall.ERANGE)
	}
	if e := t.p.cpu.CopyOut(uintptr(a[0]), b); e != 0 {
		return errno(e)
	}
	return int64(len(b))
}

// putStatfs writes struct statfs (asm-generic, 120 bytes) for the
// filesystem at l. Everything is in RAM, so it says tmpfs, as Linux's
// tmpfs and devtmpfs do.
func (t *Thread) putStatfs(addr uintptr, l fs.Loc) Errno {
	const (
		tmpfsMagic = 0x01021994
		procMagic  = 0x9fa0
	)
	total := t.p.cfg.MemoryBytes / pageSize
	if total == 0 {
		total = 1 << 18 // host tests: say 1 GiB
	}
	var used uint64
	if r, ok := l.Mount().FS().(*ramfs.FS); ok {
		u, limit := r.Usage()
		used = uint64(u) / pageSize
		if limit > 0 {
			total = uint64(limit) / pageSize
		}
	}
	free := total - min(used, total)
	magic := uint64(tmpfsMagic)
	if _, ok := l.Mount().FS().(*procFS); ok {
		magic, total, free = procMagic, 0, 0
	}
	dev := l.Stat().Dev
	var b [120]byte
	le := binary.LittleEndian
	for i, v := range []uint64{magic, pageSize, total, free, free, total, free} {
		le.PutUint64(b[8*i:], v)
	}
	le.PutUint32(b[56:], uint32(dev))
	le.PutUint32(b[60:], uint32(dev>>32))
	le.PutUint64(b[64:], fs.NameMax)
	le.PutUint64(b[72:], pageSize)
	return t.p.cpu.CopyOut(addr, b[:])
}

func sysStatfs(t *Thread, a *[6]uint64) int64 {
	path, e := t.path(a[0])
	if e != 0 {
		return errno(e)
	}
	l, err := t.p.fs.v.Lookup(t.p.fs.getCwd(), path, true)
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	return errno(t.putStatfs(uintptr(a[1]), l))
}

func sysFstatfs(t *Thread, a *[6]uint64) int64 {
	v, e := t.vfsFD(int(int32(a[0])), 0)
	if e != 0 {
		return errno(e)
	}
	l := t.p.fs.v.Root() // pipes and the console: anonymous, in RAM
	if v != nil {
		l = v.f.Loc()
	}
	return errno(t.putStatfs(uintptr(a[1]), l))
}

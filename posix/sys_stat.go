package posix

// stat, statx, statfs and their descriptor forms.

import (
	"encoding/binary"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// statAt resolves an fstatat/statx target; an empty path with
// AT_EMPTY_PATH describes dirfd itself, whatever kind of file it is.
func (t *Thread) statAt(dirfd uint64, path string, flags int) (fs.Stat, Errno) {
	if path == "" && flags&linux.AT_EMPTY_PATH != 0 && int32(dirfd) != linux.AT_FDCWD {
		of, e := t.fd(dirfd)
		if e != 0 {
			return fs.Stat{}, e
		}
		return of.f.Stat(), 0
	}
	start, e := t.at(dirfd, path)
	if e != 0 {
		return fs.Stat{}, e
	}
	if flags&linux.AT_SYMLINK_NOFOLLOW == 0 {
		// A /proc/self/fd link to a pipe or the console describes it.
		if l, err := t.p.fs.v.Lookup(start, path, true); err == nil {
			if fd, ok := l.Inode().(*fdNode); ok {
				return fd.of.f.Stat(), 0
			}
		}
	}
	st, err := t.p.fs.v.Stat(start, path, flags)
	return st, fs.ToErrno(err)
}

// sysNewfstatat implements newfstatat(2).
func sysNewfstatat(t *Thread, a *[6]uint64) int64 {
	flags := int(a[3])
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH|linux.AT_NO_AUTOMOUNT) != 0 {
		return errno(linux.EINVAL)
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

// sysStatx implements statx(2).
func sysStatx(t *Thread, a *[6]uint64) int64 {
	flags := int(a[2])
	if flags&^(linux.AT_SYMLINK_NOFOLLOW|linux.AT_EMPTY_PATH|linux.AT_NO_AUTOMOUNT|linux.AT_STATX_SYNC_TYPE) != 0 ||
		flags&linux.AT_STATX_SYNC_TYPE == linux.AT_STATX_SYNC_TYPE || uint32(a[3])&linux.STATX__RESERVED != 0 {
		return errno(linux.EINVAL)
	}
	path := ""
	if a[1] != 0 || flags&linux.AT_EMPTY_PATH == 0 { // Linux 6.11 takes NULL for ""
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

// putStatfs writes struct statfs (asm-generic, 120 bytes) for the
// filesystem at l. Everything is in RAM, so it says tmpfs, as Linux's
// tmpfs and devtmpfs do.
func (t *Thread) putStatfs(addr uintptr, l fs.Loc) Errno {
	total := t.p.cfg.MemoryBytes / linux.PageSize
	if total == 0 {
		total = 1 << 18 // host tests: say 1 GiB
	}
	var used uint64
	if r, ok := l.Mount().FS().(*ramfs.FS); ok {
		u, limit := r.Usage()
		used = uint64(u) / linux.PageSize
		if limit > 0 {
			total = uint64(limit) / linux.PageSize
		}
	}
	free := total - min(used, total)
	magic := uint64(linux.TMPFS_MAGIC)
	if _, ok := l.Mount().FS().(*procFS); ok {
		magic, total, free = linux.PROC_SUPER_MAGIC, 0, 0
	}
	dev := l.Stat().Dev
	vals := []uint64{magic, linux.PageSize, total, free, free, total, free}
	namelen, bsize, flags := uint64(linux.NAME_MAX), uint64(linux.PageSize), uint64(0)
	if sf, ok := l.Mount().FS().(fs.StatFSer); ok {
		// A filesystem with a store of its own (a 9p volume: the host's).
		s, err := sf.StatFS()
		if err != nil {
			return fs.ToErrno(err)
		}
		bsize, namelen = uint64(max(s.Bsize, 1)), uint64(max(s.Namelen, 1))
		vals = []uint64{uint64(s.Type), bsize, s.Blocks, s.Bfree, s.Bavail, s.Files, s.Ffree}
		if s.ReadOnly {
			flags |= 1 // ST_RDONLY
		}
	}
	var b [120]byte
	le := binary.LittleEndian
	for i, v := range vals {
		le.PutUint64(b[8*i:], v)
	}
	le.PutUint32(b[56:], uint32(dev))
	le.PutUint32(b[60:], uint32(dev>>32))
	le.PutUint64(b[64:], namelen)
	le.PutUint64(b[72:], bsize)
	le.PutUint64(b[80:], flags)
	return t.p.cpu.CopyOut(addr, b[:])
}

// sysStatfs implements statfs(2).
func sysStatfs(t *Thread, a *[6]uint64) int64 {
	l, e := t.lookupPath(a[0])
	if e != 0 {
		return errno(e)
	}
	return errno(t.putStatfs(uintptr(a[1]), l))
}

// sysFstatfs implements fstatfs(2).
func sysFstatfs(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	l, ok := of.f.Loc()
	if !ok {
		l = t.p.fs.v.Root() // pipes and the console: anonymous, in RAM
	}
	return errno(t.putStatfs(uintptr(a[1]), l))
}

package posix

import (
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// struct stat and struct statx from the VFS's description of a file.

func timespec(tm time.Time) linux.Timespec {
	if tm.IsZero() {
		return linux.Timespec{}
	}
	return linux.Timespec{Sec: tm.Unix(), Nsec: int64(tm.Nanosecond())}
}

func statxTime(tm time.Time) linux.StatxTimestamp {
	ts := timespec(tm)
	return linux.StatxTimestamp{Sec: ts.Sec, Nsec: uint32(ts.Nsec)}
}

// putStat writes struct stat.
func (t *Thread) putStat(addr uintptr, st fs.Stat) Errno {
	s := &t.scratch().stat
	*s = linux.Stat{
		Dev: st.Dev, Ino: st.Ino, Mode: st.Mode, Nlink: max(st.Nlink, 1), Uid: st.Uid, Gid: st.Gid,
		Rdev: st.Rdev, Size: st.Size, Blksize: blksize(st), Blocks: blocks(st),
		Atime: timespec(st.Atime), Mtime: timespec(st.Mtime), Ctime: timespec(st.Ctime),
	}
	return t.p.cpu.CopyOut(addr, linux.AsBytes(s))
}

// statxBasicStats: everything but the birth time, which ramfs does not
// keep.
const statxBasicStats = linux.STATX_BASIC_STATS

// putStatx writes struct statx.
func (t *Thread) putStatx(addr uintptr, st fs.Stat) Errno {
	s := &t.scratch().statx
	*s = linux.Statx{
		Mask: statxBasicStats, Blksize: uint32(blksize(st)), Nlink: max(st.Nlink, 1), Uid: st.Uid, Gid: st.Gid,
		Mode: uint16(st.Mode), Ino: st.Ino, Size: uint64(st.Size), Blocks: uint64(blocks(st)),
		Atime: statxTime(st.Atime), Ctime: statxTime(st.Ctime), Mtime: statxTime(st.Mtime),
		RdevMajor: linux.Major(st.Rdev), RdevMinor: linux.Minor(st.Rdev),
		DevMajor: linux.Major(st.Dev), DevMinor: linux.Minor(st.Dev),
	}
	return t.p.cpu.CopyOut(addr, linux.AsBytes(s))
}

func blksize(st fs.Stat) int32 {
	if st.Blksize > 0 {
		return st.Blksize
	}
	return linux.PageSize
}

func blocks(st fs.Stat) int64 {
	if st.Blocks > 0 || st.Dev != 1 {
		return st.Blocks
	}
	return (st.Size + 511) / 512
}

// epollable says whether epoll may watch f: Linux refuses regular files
// and directories (always ready) with EPERM, and Go's runtime relies on
// that to use plain blocking I/O for them.
func epollable(f File) bool {
	m := f.Stat().Mode & linux.S_IFMT
	return m != linux.S_IFREG && m != linux.S_IFDIR
}

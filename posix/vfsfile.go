package posix

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/fs"
)

// vfsFile is an open VFS file behind a descriptor. Regular files never
// block; devfs's console blocks in the device (not interruptible).
type vfsFile struct {
	f    *fs.File
	path string     // as the application named it, for /proc/self/fd
	dir  fs.Loc     // where a relative path started
	wq   *waitQueue // notified when readiness may change (see newVFSFile)
	// nofollow: opened with O_NOFOLLOW (O_PATH on a symlink names it).
	nofollow bool
}

// newVFSFile wraps f. Regular files and most devices are always ready,
// so their queue is never notified; /dev/tty and /dev/console share the
// console input's queue so poll wakes when input arrives.
func newVFSFile(p *Process, f *fs.File, path string, dir fs.Loc) *vfsFile {
	v := &vfsFile{f: f, path: path, dir: dir, wq: new(waitQueue), nofollow: f.Flags()&fs.O_NOFOLLOW != 0}
	if st, err := f.Stat(); err == nil && st.Mode&fs.S_IFMT == fs.S_IFCHR && devMajor(st.Rdev) == ttyMajor {
		v.wq = &p.fs.console.wq
	}
	return v
}

const ttyMajor = 5 // /dev/tty and /dev/console

func (v *vfsFile) Read(_ *Thread, p []byte, nonblock bool) (int, Errno) {
	if nonblock && v.f.Ready()&fs.PollIn == 0 {
		return 0, syscall.EAGAIN // the console with no input waiting
	}
	n, err := v.f.Read(p)
	return n, fs.ToErrno(err)
}

func (v *vfsFile) Write(_ *Thread, p []byte, _ bool) (int, Errno) {
	n, err := v.f.Write(p)
	return n, fs.ToErrno(err)
}

func (v *vfsFile) Close() Errno          { return fs.ToErrno(v.f.Close()) }
func (v *vfsFile) Ready() uint32         { return v.f.Ready() }
func (v *vfsFile) waitQueue() *waitQueue { return v.wq }

// Stat implements Statter (the short form); fsStat has every field.
func (v *vfsFile) Stat() Stat {
	st := v.fsStat()
	return Stat{Mode: st.Mode, Size: st.Size, Rdev: st.Rdev, Ino: st.Ino, Nlink: st.Nlink}
}

func (v *vfsFile) fsStat() fs.Stat {
	st, _ := v.f.Stat() // the descriptor holds the file open
	return st
}

// fileStat describes any descriptor: VFS files in full, the others
// (console, pipes, eventfds) from their short Stat on an anonymous
// device.
func fileStat(f File) fs.Stat {
	if v, ok := f.(*vfsFile); ok {
		return v.fsStat()
	}
	st := Stat{Mode: sIFCHR | 0o600}
	if s, ok := f.(Statter); ok {
		st = s.Stat()
	}
	return fs.Stat{Dev: 1, Ino: st.Ino, Mode: st.Mode, Nlink: max(st.Nlink, 1), Rdev: st.Rdev, Size: st.Size}
}

// putStat writes struct stat (asm-generic layout, 128 bytes).
func (t *Thread) putStat(addr uintptr, st fs.Stat) Errno {
	var b [128]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], st.Dev)
	le.PutUint64(b[8:], st.Ino)
	le.PutUint32(b[16:], st.Mode)
	le.PutUint32(b[20:], max(st.Nlink, 1))
	le.PutUint32(b[24:], st.Uid)
	le.PutUint32(b[28:], st.Gid)
	le.PutUint64(b[32:], st.Rdev)
	le.PutUint64(b[48:], uint64(st.Size))
	le.PutUint32(b[56:], uint32(blksize(st)))
	le.PutUint64(b[64:], uint64(blocks(st)))
	putTime := func(off int, tm time.Time) {
		if !tm.IsZero() {
			le.PutUint64(b[off:], uint64(tm.Unix()))
			le.PutUint64(b[off+8:], uint64(tm.Nanosecond()))
		}
	}
	putTime(72, st.Atime)
	putTime(88, st.Mtime)
	putTime(104, st.Ctime)
	return t.p.cpu.CopyOut(addr, b[:])
}

func blksize(st fs.Stat) int32 {
	if st.Blksize > 0 {
		return st.Blksize
	}
	return 4096
}

func blocks(st fs.Stat) int64 {
	if st.Blocks > 0 || st.Dev != 1 {
		return st.Blocks
	}
	return (st.Size + 511) / 512
}

// Linux's split of a device number into major and minor.
func devMajor(d uint64) uint32 { return uint32(d>>8&0xfff | d>>32&^0xfff) }
func devMinor(d uint64) uint32 { return uint32(d&0xff | d>>12&^0xff) }

// statx mask bits: everything but the birth time, which ramfs does not
// keep.
const statxBasicStats = 0x7ff

// putStatx writes struct statx (256 bytes).
func (t *Thread) putStatx(addr uintptr, st fs.Stat) Errno {
	var b [256]byte
	le := binary.LittleEndian
	le.PutUint32(b[0:], statxBasicStats)
	le.PutUint32(b[4:], uint32(blksize(st)))
	le.PutUint32(b[16:], max(st.Nlink, 1))
	le.PutUint32(b[20:], st.Uid)
	le.PutUint32(b[24:], st.Gid)
	le.PutUint16(b[28:], uint16(st.Mode))
	le.PutUint64(b[32:], st.Ino)
	le.PutUint64(b[40:], uint64(st.Size))
	le.PutUint64(b[48:], uint64(blocks(st)))
	putTime := func(off int, tm time.Time) {
		if !tm.IsZero() {
			le.PutUint64(b[off:], uint64(tm.Unix()))
			le.PutUint32(b[off+8:], uint32(tm.Nanosecond()))
		}
	}
	putTime(64, st.Atime)
	putTime(96, st.Ctime)
	putTime(112, st.Mtime)
	le.PutUint32(b[128:], devMajor(st.Rdev))
	le.PutUint32(b[132:], devMinor(st.Rdev))
	le.PutUint32(b[136:], devMajor(st.Dev))
	le.PutUint32(b[140:], devMinor(st.Dev))
	return t.p.cpu.CopyOut(addr, b[:])
}

// epollable says whether epoll may watch f: Linux refuses regular files
// and directories (always ready) with EPERM, and Go's runtime relies on
// that to use plain blocking I/O for them.
func epollable(f File) bool {
	v, ok := f.(*vfsFile)
	if !ok {
		return true
	}
	m := v.fsStat().Mode & fs.S_IFMT
	return m != fs.S_IFREG && m != fs.S_IFDIR
}

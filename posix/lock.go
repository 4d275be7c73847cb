package posix

import (
	"encoding/binary"
	"math"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// POSIX record locks (fcntl F_GETLK, F_SETLK, F_SETLKW). The kernel runs
// one process, so its own locks never conflict and fcntl succeeds
// without doing anything, except on files whose filesystem shares them
// with others (fs.Locker: a 9p volume), where the request goes to it.

// fileLocker returns f's filesystem locking, if f is a VFS file that has
// one.
func fileLocker(f File) (fs.Locker, bool) {
	v, ok := f.(*vfsFile)
	if !ok {
		return nil, false
	}
	return v.f.Locker()
}

// struct flock on riscv64 (asm-generic): l_type int16 at 0, l_whence
// int16 at 2, l_start int64 at 8, l_len int64 at 16, l_pid int32 at 24;
// 32 bytes.
const flockSize = 32

// fcntlLock runs one F_GETLK, F_SETLK or F_SETLKW on f.
func (t *Thread) fcntlLock(f File, lk fs.Locker, cmd uint64, addr uintptr) Errno {
	var b [flockSize]byte
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return e
	}
	le := binary.LittleEndian
	typ := int16(le.Uint16(b[0:]))
	whence := int16(le.Uint16(b[2:]))
	start := int64(le.Uint64(b[8:]))
	length := int64(le.Uint64(b[16:]))
	switch typ {
	case linux.F_RDLCK, linux.F_WRLCK, linux.F_UNLCK:
	default:
		return linux.EINVAL
	}
	v := f.(*vfsFile)
	var base int64
	switch whence {
	case linux.SEEK_SET:
	case linux.SEEK_CUR:
		base = v.f.Pos()
	case linux.SEEK_END:
		st, err := v.f.Stat()
		if err != nil {
			return fs.ToErrno(err)
		}
		base = st.Size
	default:
		return linux.EINVAL
	}
	if start > 0 && base > math.MaxInt64-start {
		return linux.EOVERFLOW
	}
	start += base
	if length < 0 { // the range before start
		if start+length < 0 {
			return linux.EINVAL
		}
		start, length = start+length, -length
	}
	if start < 0 {
		return linux.EINVAL
	}
	acc := v.f.Flags() & linux.O_ACCMODE
	if cmd != linux.F_GETLK && (typ == linux.F_RDLCK && acc == linux.O_WRONLY || typ == linux.F_WRLCK && acc == linux.O_RDONLY) {
		return linux.EBADF
	}
	if cmd != linux.F_GETLK {
		return fs.ToErrno(lk.Lock(typ, start, length, cmd == linux.F_SETLKW))
	}
	if typ == linux.F_UNLCK {
		return linux.EINVAL
	}
	r, err := lk.TestLock(typ, start, length)
	if err != nil {
		return fs.ToErrno(err)
	}
	le.PutUint16(b[0:], uint16(r.Type))
	if r.Type != linux.F_UNLCK {
		le.PutUint16(b[2:], linux.SEEK_SET)
		le.PutUint64(b[8:], uint64(r.Start))
		le.PutUint64(b[16:], uint64(r.Length))
		le.PutUint32(b[24:], uint32(r.Pid))
	}
	return t.p.cpu.CopyOut(addr, b[:])
}

// getlkUnlocked answers F_GETLK on a file whose locks only this process
// takes: nothing conflicts, which Linux reports by setting l_type to
// F_UNLCK and leaving the rest. Returning 0 with l_type unchanged would
// tell the caller (SQLite, for one) that someone else holds the lock.
func (t *Thread) getlkUnlocked(addr uintptr) Errno {
	var b [flockSize]byte
	if e := t.p.cpu.CopyIn(b[:], addr); e != 0 {
		return e
	}
	switch int16(binary.LittleEndian.Uint16(b[0:])) {
	case linux.F_RDLCK, linux.F_WRLCK:
	default:
		return linux.EINVAL
	}
	binary.LittleEndian.PutUint16(b[0:], uint16(linux.F_UNLCK))
	return t.p.cpu.CopyOut(addr, b[:2])
}

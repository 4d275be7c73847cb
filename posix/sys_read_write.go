package posix

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// read, write and their vector and positioned forms, lseek, sendfile and
// copy_file_range: every one goes through ioseq.go.

// rwFile is descriptor fd's file for reading (want O_RDONLY) or writing
// (O_WRONLY): EBADF if the descriptor is not open that way.
func (t *Thread) rwFile(fd uint64, want uint32) (*openFile, Errno) {
	of, _, e := t.rwFileNB(fd, want)
	return of, e
}

// rwFileNB is rwFile also reporting O_NONBLOCK, read under the same
// lock: read and write ask both for every call (of.nonblock() after
// rwFile was a second lock and a call).
func (t *Thread) rwFileNB(fd uint64, want uint32) (*openFile, bool, Errno) {
	of, e := t.fd(fd)
	if e != 0 {
		return nil, false, e
	}
	of.mu.Lock()
	flags := of.flags
	of.mu.Unlock()
	if acc := flags & linux.O_ACCMODE; flags&linux.O_PATH != 0 || acc != linux.O_RDWR && acc != want {
		return nil, false, linux.EBADF
	}
	return of, flags&linux.O_NONBLOCK != 0, 0
}

// readv is the common body of the read family.
func (t *Thread) readv(fd uint64, seq *ioSeq, off int64) int64 {
	defer seq.release()
	of, nonblock, e := t.rwFileNB(fd, linux.O_RDONLY)
	if e != 0 {
		return errno(e)
	}
	if s, ok := of.f.(*inetSocket); ok && s.stream != nil && off == atPosition && seq.total > 0 {
		return s.readDirect(t, nonblock, seq) // readSeq's first case, without its call
	}
	return t.readSeq(of.f, nonblock, seq, off)
}

// writev is the common body of the write family.
func (t *Thread) writev(fd uint64, seq *ioSeq, off int64) int64 {
	defer seq.release()
	of, nonblock, e := t.rwFileNB(fd, linux.O_WRONLY)
	if e != 0 {
		return errno(e)
	}
	if s, ok := of.f.(*inetSocket); ok && s.stream != nil && off == atPosition && seq.total > 0 {
		return s.writeDirect(t, nonblock, seq) // writeSeq's first case, without its call
	}
	return t.writeSeq(of.f, nonblock, seq, off)
}

// offset checks a pread/pwrite offset.
func offset(a uint64) (int64, Errno) {
	if int64(a) < 0 {
		return 0, linux.EINVAL
	}
	return int64(a), 0
}

// sysRead implements read(2).
func sysRead(t *Thread, a *[6]uint64) int64 {
	var seq ioSeq
	if e := single(&seq, a[1], a[2]); e != 0 {
		return errno(e)
	}
	return t.readv(a[0], &seq, atPosition)
}

// sysWrite implements write(2).
func sysWrite(t *Thread, a *[6]uint64) int64 {
	var seq ioSeq
	if e := single(&seq, a[1], a[2]); e != 0 {
		return errno(e)
	}
	return t.writev(a[0], &seq, atPosition)
}

// sysReadv implements readv(2).
func sysReadv(t *Thread, a *[6]uint64) int64 {
	var seq ioSeq
	if e := t.iovecs(&seq, a[1], a[2]); e != 0 {
		seq.release()
		return errno(e)
	}
	return t.readv(a[0], &seq, atPosition)
}

// sysWritev implements writev(2).
func sysWritev(t *Thread, a *[6]uint64) int64 {
	var seq ioSeq
	if e := t.iovecs(&seq, a[1], a[2]); e != 0 {
		seq.release()
		return errno(e)
	}
	return t.writev(a[0], &seq, atPosition)
}

// sysPread64 implements pread64(2).
func sysPread64(t *Thread, a *[6]uint64) int64 {
	var seq ioSeq
	off, e := offset(a[3])
	if e == 0 {
		e = single(&seq, a[1], a[2])
	}
	if e != 0 {
		return errno(e)
	}
	return t.readv(a[0], &seq, off)
}

// sysPwrite64 implements pwrite64(2).
func sysPwrite64(t *Thread, a *[6]uint64) int64 {
	var seq ioSeq
	off, e := offset(a[3])
	if e == 0 {
		e = single(&seq, a[1], a[2])
	}
	if e != 0 {
		return errno(e)
	}
	return t.writev(a[0], &seq, off)
}

// vecOffset reads the iovecs and offset of the p*v calls; with allowPos
// (preadv2, pwritev2) an offset of -1 means the file position.
func (t *Thread) vecOffset(seq *ioSeq, a *[6]uint64, allowPos bool) (int64, Errno) {
	off := int64(a[3])
	if allowPos && off == -1 {
		off = atPosition
	} else if off < 0 {
		return 0, linux.EINVAL
	}
	return off, t.iovecs(seq, a[1], a[2])
}

// vecIO is the common body of preadv, pwritev and their v2 forms: with
// v2, flags must be 0 and an offset of -1 means the file position.
func (t *Thread) vecIO(a *[6]uint64, write, v2 bool) int64 {
	if v2 && a[5] != 0 {
		return errno(linux.EOPNOTSUPP) // RWF_* flags
	}
	var seq ioSeq
	off, e := t.vecOffset(&seq, a, v2)
	if e != 0 {
		seq.release()
		return errno(e)
	}
	if write {
		return t.writev(a[0], &seq, off)
	}
	return t.readv(a[0], &seq, off)
}

// sysPreadv implements preadv(2).
func sysPreadv(t *Thread, a *[6]uint64) int64 { return t.vecIO(a, false, false) }

// sysPwritev implements pwritev(2).
func sysPwritev(t *Thread, a *[6]uint64) int64 { return t.vecIO(a, true, false) }

// sysPreadv2 implements preadv2(2) without RWF_* flags.
func sysPreadv2(t *Thread, a *[6]uint64) int64 { return t.vecIO(a, false, true) }

// sysPwritev2 implements pwritev2(2) without RWF_* flags.
func sysPwritev2(t *Thread, a *[6]uint64) int64 { return t.vecIO(a, true, true) }

// sysLseek implements lseek(2).
func sysLseek(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	pos, e := of.f.Lseek(int64(a[1]), int(int32(a[2])))
	if e != 0 {
		return errno(e)
	}
	return pos
}

// copyRange copies up to n bytes of the regular file in, from *off (or
// its position when off is nil), to write through a kernel buffer. The
// offset advances by what was written, never by more: bytes a full
// socket or pipe refused are read again by the next call.
func (t *Thread) copyRange(in File, off *int64, n uint64, write func([]byte) (int, Errno)) (int64, Errno) {
	var pos int64
	if off != nil {
		pos = *off
	} else {
		p, e := in.Lseek(0, linux.SEEK_CUR)
		if e != 0 {
			return 0, e
		}
		pos = p
	}
	b, pooled := t.ioBuffer(n)
	defer putIOBuffer(pooled)
	done := int64(0)
	var e Errno
	for uint64(done) < n {
		var got, put int
		got, e = in.PRead(t, b[:min(n-uint64(done), uint64(len(b)))], pos+done)
		if e != 0 || got == 0 {
			break
		}
		put, e = write(b[:got])
		done += int64(max(put, 0))
		if e != 0 || put < got {
			break
		}
	}
	if off != nil {
		*off = pos + done
	} else if done > 0 {
		in.Lseek(pos+done, linux.SEEK_SET)
	}
	if done > 0 {
		e = 0
	}
	return done, e
}

// offsetArg reads an optional loff_t* argument (nil: use the position)
// into the thread's scratch slot (0 or 1: a call takes two at most).
func (t *Thread) offsetArg(addr uint64, slot int) (*int64, Errno) {
	if addr == 0 {
		return nil, 0
	}
	v, e := t.get64(uintptr(addr)) // the thread's scratch word: a local array would escape to the heap
	if e != 0 {
		return nil, e
	}
	if int64(v) < 0 {
		return nil, linux.EINVAL
	}
	off := &t.scratch().off[slot]
	*off = int64(v)
	return off, 0
}

func (t *Thread) putOffset(addr uint64, off *int64) Errno {
	if addr == 0 {
		return 0
	}
	return t.put64(uintptr(addr), uint64(*off))
}

// reader reads f at *off (advancing it) or at the file position.
func (t *Thread) reader(f File, off *int64) func([]byte) (int, Errno) {
	return func(p []byte) (int, Errno) {
		if off == nil {
			return f.Read(t, p, false)
		}
		n, e := f.PRead(t, p, *off)
		*off += int64(max(n, 0))
		return n, e
	}
}

// writer writes f at *off (advancing it) or at the file position.
func (t *Thread) writer(f File, off *int64, nonblock bool) func([]byte) (int, Errno) {
	return func(p []byte) (int, Errno) {
		if off == nil {
			return f.Write(t, p, nonblock)
		}
		n, e := f.PWrite(t, p, *off)
		*off += int64(max(n, 0))
		return n, e
	}
}

// isRegular says whether f is a regular file.
func isRegular(f File) bool {
	if l, ok := f.Loc(); ok {
		return locType(l) == linux.S_IFREG
	}
	return f.Stat().Mode&linux.S_IFMT == linux.S_IFREG
}

// locType is the file type (S_IFMT bits) at l, from the inode's
// fs.Identity when it has one: a whole Stat takes the filesystem's lock
// and builds every field (sendfile and open ask for the type on every
// call).
func locType(l fs.Loc) uint32 {
	if id, ok := l.Inode().(fs.Identity); ok {
		_, typ := id.Identity()
		return typ
	}
	return l.Stat().Mode & linux.S_IFMT
}

// sysSendfile implements sendfile(2): from a regular file to any file.
func sysSendfile(t *Thread, a *[6]uint64) int64 {
	out, e := t.rwFile(a[0], linux.O_WRONLY)
	if e != 0 {
		return errno(e)
	}
	in, e := t.rwFile(a[1], linux.O_RDONLY)
	if e != 0 {
		return errno(e)
	}
	if !isRegular(in.f) {
		return errno(linux.EINVAL) // Linux sends from files that can be mapped
	}
	off, e := t.offsetArg(a[2], 0)
	if e != 0 {
		return errno(e)
	}
	n, e := t.copyRange(in.f, off, min(a[3], linux.MAX_RW_COUNT), t.writer(out.f, nil, out.nonblock()))
	if e != 0 {
		return errno(e)
	}
	return n + errno(t.putOffset(a[2], off))
}

// sysCopyFileRange implements copy_file_range(2) by copying.
func sysCopyFileRange(t *Thread, a *[6]uint64) int64 {
	if a[5] != 0 {
		return errno(linux.EINVAL)
	}
	in, e := t.rwFile(a[0], linux.O_RDONLY)
	if e != 0 {
		return errno(e)
	}
	out, e := t.rwFile(a[2], linux.O_WRONLY)
	if e != 0 {
		return errno(e)
	}
	if e := regularPair(in, out); e != 0 {
		return errno(e)
	}
	offIn, e := t.offsetArg(a[1], 0)
	if e != 0 {
		return errno(e)
	}
	offOut, e := t.offsetArg(a[3], 1)
	if e != 0 {
		return errno(e)
	}
	count := min(a[4], linux.MAX_RW_COUNT)
	if overlap(in.f, out.f, offIn, offOut, count) {
		return errno(linux.EINVAL)
	}
	n, e := t.copyRange(in.f, offIn, count, t.writer(out.f, offOut, false))
	if e != 0 {
		return errno(e)
	}
	if e := t.putOffset(a[1], offIn); e != 0 {
		return errno(e)
	}
	return n + errno(t.putOffset(a[3], offOut))
}

// overlap reports whether copy_file_range would copy a file onto
// itself: the same inode with the source range (cut at the end of the
// file) meeting the destination range. Linux refuses that with EINVAL,
// and Go's io.Copy(f, f) relies on it to fall back to plain reads and
// writes. A nil offset is the file's position.
func overlap(in, out File, offIn, offOut *int64, count uint64) bool {
	si, so := in.Stat(), out.Stat()
	if si.Dev != so.Dev || si.Ino != so.Ino {
		return false
	}
	pos := func(f File, off *int64) int64 {
		if off != nil {
			return *off
		}
		p, _ := f.Lseek(0, linux.SEEK_CUR)
		return p
	}
	pin, pout := pos(in, offIn), pos(out, offOut)
	if pin >= si.Size {
		return false
	}
	n := min(int64(count), si.Size-pin)
	return pout+n > pin && pout < pin+n
}

// regularPair checks copy_file_range's files: regular, and the output
// not O_APPEND.
func regularPair(in, out *openFile) Errno {
	for _, of := range []*openFile{in, out} {
		switch of.f.Stat().Mode & linux.S_IFMT {
		case linux.S_IFREG:
		case linux.S_IFDIR:
			return linux.EISDIR
		default:
			return linux.EINVAL
		}
	}
	out.mu.Lock()
	appending := out.flags&linux.O_APPEND != 0
	out.mu.Unlock()
	if appending {
		return linux.EBADF
	}
	return 0
}

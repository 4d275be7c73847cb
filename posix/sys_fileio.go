package posix

import (
	"encoding/binary"
	"syscall"

	"github.com/runikraft/runikraft/kernel/fs"
)

// Positioned I/O, seeking, in-kernel copies and file mappings: the
// descriptor calls that only VFS files support (pipes and the console
// have no position: ESPIPE).

// seekable is descriptor fd's VFS file, or ESPIPE.
func (t *Thread) seekable(fd uint64) (*vfsFile, Errno) {
	return t.vfsFD(int(int32(fd)), syscall.ESPIPE)
}

func sysPread(t *Thread, a *[6]uint64) int64 {
	v, e := t.seekable(a[0])
	if e != 0 {
		return errno(e)
	}
	if int64(a[3]) < 0 {
		return errno(syscall.EINVAL)
	}
	buf := make([]byte, min(a[2], maxIO))
	n, err := v.f.ReadAt(buf, int64(a[3]))
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	if e := t.p.cpu.CopyOut(uintptr(a[1]), buf[:n]); e != 0 {
		return errno(e)
	}
	return int64(n)
}

func sysPwrite(t *Thread, a *[6]uint64) int64 {
	v, e := t.seekable(a[0])
	if e != 0 {
		return errno(e)
	}
	if int64(a[3]) < 0 {
		return errno(syscall.EINVAL)
	}
	buf := make([]byte, min(a[2], maxIO))
	if e := t.p.cpu.CopyIn(buf, uintptr(a[1])); e != 0 {
		return errno(e)
	}
	n, err := v.f.WriteAt(buf, int64(a[3]))
	if n == 0 && err != nil {
		return errno(fs.ToErrno(err))
	}
	return int64(n)
}

func sysPreadv(t *Thread, a *[6]uint64) int64 {
	v, e := t.seekable(a[0])
	if e != 0 {
		return errno(e)
	}
	iov, e := t.iovecs(uintptr(a[1]), a[2])
	if e != 0 {
		return errno(e)
	}
	off := int64(a[3])
	if off < 0 {
		return errno(syscall.EINVAL)
	}
	total := int64(0)
	for _, vec := range iov {
		buf := make([]byte, min(vec[1], maxIO))
		n, err := v.f.ReadAt(buf, off+total)
		if err != nil {
			if total > 0 {
				break
			}
			return errno(fs.ToErrno(err))
		}
		if e := t.p.cpu.CopyOut(uintptr(vec[0]), buf[:n]); e != 0 {
			return errno(e)
		}
		total += int64(n)
		if n < len(buf) {
			break
		}
	}
	return total
}

func sysPwritev(t *Thread, a *[6]uint64) int64 {
	v, e := t.seekable(a[0])
	if e != 0 {
		return errno(e)
	}
	iov, e := t.iovecs(uintptr(a[1]), a[2])
	if e != 0 {
		return errno(e)
	}
	off := int64(a[3])
	if off < 0 {
		return errno(syscall.EINVAL)
	}
	var buf []byte
	for _, vec := range iov {
		if uint64(len(buf))+vec[1] > maxIO {
			break
		}
		chunk := make([]byte, vec[1])
		if e := t.p.cpu.CopyIn(chunk, uintptr(vec[0])); e != 0 {
			return errno(e)
		}
		buf = append(buf, chunk...)
	}
	n, err := v.f.WriteAt(buf, off)
	if n == 0 && err != nil {
		return errno(fs.ToErrno(err))
	}
	return int64(n)
}

func sysLseek(t *Thread, a *[6]uint64) int64 {
	v, e := t.seekable(a[0])
	if e != 0 {
		return errno(e)
	}
	pos, err := v.f.Seek(int64(a[1]), int(int32(a[2])))
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	return pos
}

// copyRange moves up to n bytes from read to write through a kernel
// buffer; a short read or write ends it.
func copyRange(n uint64, read func([]byte) (int, Errno), write func([]byte) (int, Errno)) (int64, Errno) {
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	done := int64(0)
	for uint64(done) < n {
		got, e := read(b[:min(n-uint64(done), ioChunk)])
		if e != 0 || got == 0 {
			if done > 0 {
				e = 0
			}
			return done, e
		}
		put, e := write(b[:got])
		done += int64(put)
		if e != 0 || put < got {
			if done > 0 {
				e = 0
			}
			return done, e
		}
	}
	return done, 0
}

// offsetArg reads an optional loff_t* argument (nil: use the position).
func (t *Thread) offsetArg(addr uint64) (*int64, Errno) {
	if addr == 0 {
		return nil, 0
	}
	var b [8]byte
	if e := t.p.cpu.CopyIn(b[:], uintptr(addr)); e != 0 {
		return nil, e
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	if off < 0 {
		return nil, syscall.EINVAL
	}
	return &off, 0
}

func (t *Thread) putOffset(addr uint64, off *int64) Errno {
	if addr == 0 {
		return 0
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(*off))
	return t.p.cpu.CopyOut(uintptr(addr), b[:])
}

// reader reads v at *off (advancing it) or at the file position.
func reader(v *vfsFile, off *int64) func([]byte) (int, Errno) {
	return func(p []byte) (int, Errno) {
		if off == nil {
			n, err := v.f.Read(p)
			return n, fs.ToErrno(err)
		}
		n, err := v.f.ReadAt(p, *off)
		*off += int64(n)
		return n, fs.ToErrno(err)
	}
}

func sysSendfile(t *Thread, a *[6]uint64) int64 {
	out, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	in, e := t.vfsFD(int(int32(a[1])), syscall.EINVAL)
	if e != 0 {
		return errno(e)
	}
	off, e := t.offsetArg(a[2])
	if e != 0 {
		return errno(e)
	}
	nonblock := out.nonblock()
	n, e := copyRange(min(a[3], maxIO), reader(in, off), func(p []byte) (int, Errno) {
		return out.f.Write(t, p, nonblock)
	})
	if e != 0 {
		return errno(e)
	}
	return int64(n) + int64(errno(t.putOffset(a[2], off)))
}

func sysCopyFileRange(t *Thread, a *[6]uint64) int64 {
	if a[5] != 0 {
		return errno(syscall.EINVAL)
	}
	in, e := t.vfsFD(int(int32(a[0])), syscall.EINVAL)
	if e != 0 {
		return errno(e)
	}
	out, e := t.vfsFD(int(int32(a[2])), syscall.EINVAL)
	if e != 0 {
		return errno(e)
	}
	if e := regularPair(in, out); e != 0 {
		return errno(e)
	}
	offIn, e := t.offsetArg(a[1])
	if e != 0 {
		return errno(e)
	}
	offOut, e := t.offsetArg(a[3])
	if e != 0 {
		return errno(e)
	}
	if overlap(in, out, offIn, offOut, min(a[4], maxIO)) {
		return errno(syscall.EINVAL)
	}
	n, e := copyRange(min(a[4], maxIO), reader(in, offIn), func(p []byte) (int, Errno) {
		if offOut == nil {
			n, err := out.f.Write(p)
			return n, fs.ToErrno(err)
		}
		n, err := out.f.WriteAt(p, *offOut)
		*offOut += int64(n)
		return n, fs.ToErrno(err)
	})
	if e != 0 {
		return errno(e)
	}
	if e := t.putOffset(a[1], offIn); e != 0 {
		return errno(e)
	}
	return int64(n) + int64(errno(t.putOffset(a[3], offOut)))
}

// overlap reports whether copy_file_range would copy a file onto
// itself: the same inode with the source range (cut at the end of the
// file) meeting the destination range. Linux refuses that with EINVAL,
// and Go's io.Copy(f, f) relies on it to fall back to plain reads and
// writes. A nil offset is the file's position.
func overlap(in, out *vfsFile, offIn, offOut *int64, count uint64) bool {
	si, so := in.fsStat(), out.fsStat()
	if si.Dev != so.Dev || si.Ino != so.Ino {
		return false
	}
	pos := func(v *vfsFile, off *int64) int64 {
		if off != nil {
			return *off
		}
		p, _ := v.f.Seek(0, fs.SEEK_CUR)
		return p
	}
	pin, pout := pos(in, offIn), pos(out, offOut)
	if pin >= si.Size {
		return false
	}
	n := min(int64(count), si.Size-pin)
	return pout+n > pin && pout < pin+n
}

// regularPair checks copy_file_range's files: regular, readable and
// writable as needed, the output not O_APPEND.
func regularPair(in, out *vfsFile) Errno {
	for _, v := range []*vfsFile{in, out} {
		switch v.fsStat().Mode & fs.S_IFMT {
		case fs.S_IFREG:
		case fs.S_IFDIR:
			return syscall.EISDIR
		default:
			return syscall.EINVAL
		}
	}
	if in.f.Flags()&fs.O_ACCMODE == fs.O_WRONLY || out.f.Flags()&fs.O_ACCMODE == fs.O_RDONLY ||
		out.f.Flags()&fs.O_APPEND != 0 {
		return syscall.EBADF
	}
	return 0
}

const devZero = 1<<8 | 5 // fs.Dev(1, 5): /dev/zero

// mapFile maps a file by copying it: MAP_PRIVATE mappings see the file
// as it was at mmap time; MAP_SHARED ones of regular files are also
// written back (sharedmap.go).
func (t *Thread) mapFile(addr, length uintptr, prot, flags, hf uint32, fd int, off uint64) int64 {
	of, e := t.p.fds.file(fd)
	if e != 0 {
		return errno(e)
	}
	v, ok := of.f.(*vfsFile)
	if !ok {
		return errno(syscall.ENODEV) // pipes, eventfds, the console
	}
	if off%pageSize != 0 || int64(off) < 0 {
		return errno(syscall.EINVAL)
	}
	fl := v.f.Flags()
	if fl&fs.O_PATH != 0 {
		return errno(syscall.EBADF)
	}
	shared := flags&mapShared != 0
	if fl&fs.O_ACCMODE == fs.O_WRONLY || shared && prot&protWrite != 0 && fl&fs.O_ACCMODE == fs.O_RDONLY {
		return errno(syscall.EACCES)
	}
	st := v.fsStat()
	if st.Mode&fs.S_IFMT != fs.S_IFREG && st.Rdev != devZero {
		return errno(syscall.ENODEV) // only /dev/zero among devices maps
	}
	plen := uintptr(pageUp(uint64(length)))
	var sm *sharedMap
	if shared && st.Mode&fs.S_IFMT == fs.S_IFREG {
		sm = &sharedMap{length: plen, off: int64(off)}
		if fl&fs.O_ACCMODE == fs.O_RDWR {
			// A handle of the mapping's own: the descriptor may be
			// closed while the mapping lives on.
			n := v.f.Loc().Inode()
			h, err := n.Open(fs.O_RDWR)
			if err != nil {
				return errno(fs.ToErrno(err))
			}
			sm.f, sm.snap = &mappedFile{n: n, h: h, refs: 1}, make([]byte, plen)
		}
	}
	r, e := t.p.cpu.Map(addr, plen, protRead|protWrite, hf)
	if e == 0 {
		e = t.fillMapping(v, r, length, int64(off), sm)
		if e != 0 {
			t.p.cpu.Unmap(r, plen)
		}
	}
	if e == 0 && prot&7 != protRead|protWrite {
		if e = t.p.cpu.Protect(r, plen, prot&7); e != 0 {
			t.p.cpu.Unmap(r, plen)
		}
	}
	if e != 0 {
		if sm != nil && sm.f != nil {
			sm.f.h.Close()
		}
		return errno(e)
	}
	if sm != nil {
		sm.addr = r
		t.p.mem.trackShared(sm)
	}
	return int64(r)
}

// fillMapping copies the file from off into the fresh mapping at r;
// past the end of the file the mapping stays zero. A writable shared
// mapping's snapshot gets the same bytes.
func (t *Thread) fillMapping(v *vfsFile, r, length uintptr, off int64, sm *sharedMap) Errno {
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	for done := uintptr(0); done < length; {
		n, err := v.f.ReadAt(b[:min(length-done, ioChunk)], off+int64(done))
		if err != nil {
			return fs.ToErrno(err)
		}
		if n == 0 {
			return 0
		}
		if e := t.p.cpu.CopyOut(r+done, b[:n]); e != 0 {
			return e
		}
		if sm != nil && sm.snap != nil {
			copy(sm.snap[done:], b[:n])
		}
		done += uintptr(n)
	}
	return 0
}

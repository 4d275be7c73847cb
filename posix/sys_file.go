package posix

import (
	"encoding/binary"
	"sync"
	"syscall"
)

// File descriptors: reading, writing, duplicating, describing. Paths and
// directories are in sys_fs.go.

var fileCalls = []entry{
	{nr: 63, name: "read", fn: sysRead},
	{nr: 64, name: "write", fn: sysWrite},
	{nr: 65, name: "readv", fn: sysReadv},
	{nr: 66, name: "writev", fn: sysWritev},
	{nr: 67, name: "pread64", fn: sysPread, note: "ESPIPE on pipes and the console"},
	{nr: 68, name: "pwrite64", fn: sysPwrite, note: "ESPIPE on pipes and the console"},
	{nr: 62, name: "lseek", fn: sysLseek, note: "SEEK_DATA/SEEK_HOLE see one data extent; ESPIPE on pipes and the console"},
	{nr: 29, name: "ioctl", fn: sysIoctl, level: Partial, note: "FIONBIO, FIONREAD, FIOCLEX; TCGETS/TIOCGWINSZ say ENOTTY (the console is not a terminal)"},
	{nr: 25, name: "fcntl", fn: sysFcntl, level: Partial, note: "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL; locks are advisory no-ops"},
	{nr: 57, name: "close", fn: func(t *Thread, a *[6]uint64) int64 { return errno(t.p.fds.closeFD(int(int32(a[0])))) }},
	{nr: 23, name: "dup", fn: sysDup},
	{nr: 24, name: "dup3", fn: sysDup3},
	{nr: 80, name: "fstat", fn: sysFstat},
	{nr: 59, name: "pipe2", fn: sysPipe2},
}

const (
	maxIO   = 1 << 20  // bytes one write call moves at most
	ioChunk = 64 << 10 // bytes copied through the kernel at a time
)

// ioBufs recycles the kernel's copy buffers: every read and write passes
// through one, and fresh ones per call would make the kernel's own heap
// churn as fast as the application does I/O.
var ioBufs = sync.Pool{New: func() any { return new([ioChunk]byte) }}

func (t *Thread) fd(a uint64) (*openFile, Errno) { return t.p.fds.file(int(int32(a))) }

func sysRead(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	buf := b[:min(a[2], ioChunk)] // a short read is always allowed
	got, e := of.f.Read(t, buf, of.nonblock())
	if e != 0 {
		return errno(e)
	}
	if e := t.p.cpu.CopyOut(uintptr(a[1]), buf[:got]); e != 0 {
		return errno(e)
	}
	return int64(got)
}

func sysWrite(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	total, done := min(a[2], maxIO), uint64(0)
	for done < total {
		buf := b[:min(total-done, ioChunk)]
		if e := t.p.cpu.CopyIn(buf, uintptr(a[1]+done)); e != 0 {
			if done > 0 {
				break
			}
			return errno(e)
		}
		put, e := of.f.Write(t, buf, of.nonblock())
		done += uint64(put)
		if e != 0 || put < len(buf) {
			if done == 0 {
				return errno(e)
			}
			break
		}
	}
	return int64(done)
}

// iovecs reads an iovec array (base, len pairs).
func (t *Thread) iovecs(addr uintptr, n uint64) ([][2]uint64, Errno) {
	if n > 1024 {
		return nil, syscall.EINVAL
	}
	raw := make([]byte, 16*n)
	if e := t.p.cpu.CopyIn(raw, addr); e != 0 {
		return nil, e
	}
	v := make([][2]uint64, n)
	for i := range v {
		v[i] = [2]uint64{binary.LittleEndian.Uint64(raw[16*i:]), binary.LittleEndian.Uint64(raw[16*i+8:])}
	}
	return v, 0
}

func sysReadv(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	iov, e := t.iovecs(uintptr(a[1]), a[2])
	if e != 0 {
		return errno(e)
	}
	total := int64(0)
	for _, v := range iov {
		if v[1] == 0 {
			continue
		}
		buf := make([]byte, min(v[1], maxIO))
		got, e := of.f.Read(t, buf, of.nonblock() || total > 0)
		if e != 0 {
			if total > 0 {
				break
			}
			return errno(e)
		}
		if e := t.p.cpu.CopyOut(uintptr(v[0]), buf[:got]); e != 0 {
			return errno(e)
		}
		total += int64(got)
		if got < len(buf) {
			break
		}
	}
	return total
}

func sysWritev(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	iov, e := t.iovecs(uintptr(a[1]), a[2])
	if e != 0 {
		return errno(e)
	}
	// Gather first so one writev is one write to the file (keeps lines
	// from different threads whole, as on Linux for small writes).
	var buf []byte
	for _, v := range iov {
		if uint64(len(buf))+v[1] > maxIO {
			break
		}
		chunk := make([]byte, v[1])
		if e := t.p.cpu.CopyIn(chunk, uintptr(v[0])); e != 0 {
			return errno(e)
		}
		buf = append(buf, chunk...)
	}
	if len(buf) == 0 {
		return 0
	}
	put, e := of.f.Write(t, buf, of.nonblock())
	if e != 0 && put == 0 {
		return errno(e)
	}
	return int64(put)
}

func sysIoctl(t *Thread, a *[6]uint64) int64 {
	const (
		tcgets     = 0x5401
		tiocgwinsz = 0x5413
		fionread   = 0x541b
		fionbio    = 0x5421
		fioclex    = 0x5451
		fionclex   = 0x5450
	)
	ent, e := t.p.fds.get(int(int32(a[0])))
	if e != 0 {
		return errno(e)
	}
	of := ent.of
	switch a[1] {
	case fionbio:
		v, e := t.get32(uintptr(a[2]))
		if e != 0 {
			return errno(e)
		}
		of.mu.Lock()
		if v != 0 {
			of.flags |= oNonblock
		} else {
			of.flags &^= oNonblock
		}
		of.mu.Unlock()
		return 0
	case fioclex, fionclex:
		t.p.fds.mu.Lock()
		ent.cloexec = a[1] == fioclex
		t.p.fds.mu.Unlock()
		return 0
	case fionread:
		n := 0
		if s, ok := of.f.(*stream); ok {
			s.mu.Lock()
			n = len(s.buf)
			s.mu.Unlock()
		}
		return errno(t.put32(uintptr(a[2]), uint32(n)))
	case tcgets, tiocgwinsz:
		return errno(syscall.ENOTTY)
	}
	return errno(syscall.ENOTTY)
}

func sysFcntl(t *Thread, a *[6]uint64) int64 {
	const (
		fDupfd        = 0
		fGetfd        = 1
		fSetfd        = 2
		fGetfl        = 3
		fSetfl        = 4
		fGetlk        = 5
		fSetlk        = 6
		fSetlkw       = 7
		fDupfdCloexec = 1030
		fdCloexec     = 1
	)
	fd := int(int32(a[0]))
	ent, e := t.p.fds.get(fd)
	if e != 0 {
		return errno(e)
	}
	switch a[1] {
	case fDupfd, fDupfdCloexec:
		n, e := t.p.fds.install(ent.of, int(a[2]), a[1] == fDupfdCloexec)
		if e != 0 {
			return errno(e)
		}
		return int64(n)
	case fGetfd:
		t.p.fds.mu.Lock()
		defer t.p.fds.mu.Unlock()
		if ent.cloexec {
			return fdCloexec
		}
		return 0
	case fSetfd:
		t.p.fds.mu.Lock()
		ent.cloexec = a[2]&fdCloexec != 0
		t.p.fds.mu.Unlock()
		return 0
	case fGetfl:
		ent.of.mu.Lock()
		defer ent.of.mu.Unlock()
		return int64(ent.of.flags)
	case fSetfl:
		const settable = oNonblock | 0x400 // O_APPEND
		ent.of.mu.Lock()
		ent.of.flags = ent.of.flags&^settable | uint32(a[2])&settable
		ent.of.mu.Unlock()
		if v, ok := ent.of.f.(*vfsFile); ok {
			v.f.SetFlags(int(a[2])) // the VFS does O_APPEND itself
		}
		return 0
	case fGetlk, fSetlk, fSetlkw:
		return 0 // advisory locks: one process, nothing to lock against
	}
	return errno(syscall.EINVAL)
}

func sysDup(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	n, e := t.p.fds.install(of, 0, false)
	if e != 0 {
		return errno(e)
	}
	return int64(n)
}

func sysDup3(t *Thread, a *[6]uint64) int64 {
	oldfd, newfd := int(int32(a[0])), int(int32(a[1]))
	if oldfd == newfd || a[2]&^oCloexec != 0 {
		return errno(syscall.EINVAL)
	}
	if e := t.p.fds.dupTo(oldfd, newfd, a[2]&oCloexec != 0); e != 0 {
		return errno(e)
	}
	return int64(newfd)
}

func (t *Thread) statFD(fd uint64, addr uintptr) int64 {
	of, e := t.fd(fd)
	if e != 0 {
		return errno(e)
	}
	return errno(t.putStat(addr, fileStat(of.f)))
}

func sysFstat(t *Thread, a *[6]uint64) int64 { return t.statFD(a[0], uintptr(a[1])) }

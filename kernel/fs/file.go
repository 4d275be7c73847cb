package fs

import (
	"io"
	"sync"
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// File is an open file description: a position, flags and the
// filesystem's Handle. Descriptors dup'ed from one open share a File.
// Reads and writes report a partial count without an error when some
// bytes moved; (0, nil) from Read is end of file.
type File struct {
	v      *VFS
	loc    Loc
	h      Handle // nil for linux.O_PATH
	stream bool

	// mu orders position updates; stream handles (terminals) are read
	// without it so a blocked read does not stall other users.
	mu     sync.Mutex
	pos    int64
	flags  int
	closed bool
}

// Loc is where the file is, for *at calls relative to a dirfd.
func (f *File) Loc() Loc { return f.loc }

// Flags are the open flags as F_GETFL reports them (access mode,
// linux.O_APPEND, linux.O_NONBLOCK, linux.O_PATH...; linux.O_CLOEXEC belongs to the descriptor
// and is not kept).
func (f *File) Flags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// SetFlags changes the flags F_SETFL may change (linux.O_APPEND, linux.O_NONBLOCK,
// linux.O_NOATIME, linux.O_DSYNC); the others in flags are ignored.
func (f *File) SetFlags(flags int) {
	const settable = linux.O_APPEND | linux.O_NONBLOCK | linux.O_NOATIME | linux.O_DSYNC
	f.mu.Lock()
	f.flags = f.flags&^settable | flags&settable
	f.mu.Unlock()
}

// io checks the file is open for the access (linux.R_OK or linux.W_OK).
func (f *File) io(want uint32) error {
	if f.closed || f.h == nil {
		return syscall.EBADF
	}
	acc := f.flags & linux.O_ACCMODE
	if want == linux.R_OK && acc == linux.O_WRONLY || want == linux.W_OK && acc == linux.O_RDONLY {
		return syscall.EBADF
	}
	if want == linux.R_OK && f.loc.isDir() {
		return syscall.EISDIR
	}
	return nil
}

func result(n int, err error) (int, error) {
	if n > 0 || err == io.EOF {
		return n, nil
	}
	return n, err
}

// Read reads at the position and advances it.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	if err := f.io(linux.R_OK); err != nil {
		f.mu.Unlock()
		return 0, err
	}
	if f.stream {
		f.mu.Unlock()
		return result(f.h.ReadAt(p, 0))
	}
	defer f.mu.Unlock()
	n, err := f.h.ReadAt(p, f.pos)
	f.pos += int64(n)
	return result(n, err)
}

// Write writes at the position (at the end with linux.O_APPEND) and advances it.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	if err := f.io(linux.W_OK); err != nil {
		f.mu.Unlock()
		return 0, err
	}
	if f.stream {
		f.mu.Unlock()
		return result(f.h.WriteAt(p, 0))
	}
	defer f.mu.Unlock()
	if f.flags&linux.O_APPEND != 0 {
		if a, ok := f.h.(Appender); ok {
			n, end, err := a.Append(p)
			f.pos = end
			return result(n, err)
		}
		f.pos = f.loc.n.Stat().Size
	}
	n, err := f.h.WriteAt(p, f.pos)
	f.pos += int64(n)
	return result(n, err)
}

// ReadAt reads at off without moving the position (pread64).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	err := f.io(linux.R_OK)
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if f.stream {
		return 0, syscall.ESPIPE
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	return result(f.h.ReadAt(p, off))
}

// WriteAt writes at off without moving the position (pwrite64).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	err := f.io(linux.W_OK)
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if f.stream {
		return 0, syscall.ESPIPE
	}
	if off < 0 {
		return 0, syscall.EINVAL
	}
	return result(f.h.WriteAt(p, off))
}

// Seek moves the position (lseek). linux.SEEK_DATA and linux.SEEK_HOLE treat the
// whole file as data with a hole at its end. On a directory only
// offsets returned by ReadDir (or 0) are meaningful.
func (f *File) Seek(off int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.h == nil {
		return 0, syscall.EBADF
	}
	if f.stream {
		return 0, syscall.ESPIPE
	}
	st := f.loc.n.Stat()
	dir := st.Mode&linux.S_IFMT == linux.S_IFDIR
	var pos int64
	switch whence {
	case linux.SEEK_SET:
		pos = off
	case linux.SEEK_CUR:
		pos = f.pos + off
	case linux.SEEK_END:
		if dir {
			return 0, syscall.EINVAL
		}
		pos = st.Size + off
	case linux.SEEK_DATA, linux.SEEK_HOLE:
		if dir || off < 0 {
			return 0, syscall.EINVAL
		}
		if off >= st.Size {
			return 0, syscall.ENXIO
		}
		pos = off
		if whence == linux.SEEK_HOLE {
			pos = st.Size
		}
	default:
		return 0, syscall.EINVAL
	}
	if pos < 0 { // includes overflow
		return 0, syscall.EINVAL
	}
	f.pos = pos
	return pos, nil
}

// ReadDir calls fn for each directory entry from the position on,
// starting with "." and "..", until fn returns false (the entry it
// refused is not consumed, so the next call starts with it). Each
// Dirent's Next is its d_off: seeking there resumes after it. getdents64
// returns EINVAL itself if fn refuses the first entry for lack of room.
func (f *File) ReadDir(fn func(Dirent) bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.h == nil {
		return syscall.EBADF
	}
	d, ok := f.loc.n.(Dir)
	if !ok || !f.loc.isDir() {
		return syscall.ENOTDIR
	}
	if f.pos == 0 {
		if !fn(Dirent{Name: ".", Ino: f.loc.ino(), Type: linux.DT_DIR, Next: 1}) {
			return nil
		}
		f.pos = 1
	}
	if f.pos == 1 {
		p, err := f.v.walker().dotdot(f.loc)
		if err != nil {
			return err
		}
		if !fn(Dirent{Name: "..", Ino: p.ino(), Type: linux.DT_DIR, Next: 2}) {
			return nil
		}
		f.pos = 2
	}
	for {
		ents, err := d.ReadDir(uint64(f.pos-2), 64)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			return nil
		}
		for _, e := range ents {
			e.Next += 2
			if !fn(e) {
				return nil
			}
			f.pos = int64(e.Next)
		}
	}
}

// Sync flushes the file (fsync, fdatasync).
func (f *File) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.h == nil {
		return syscall.EBADF
	}
	if s, ok := f.h.(Syncer); ok {
		return s.Sync()
	}
	return nil
}

// Truncate sets the file's size (ftruncate); the file must be open for
// writing.
func (f *File) Truncate(size int64) error {
	f.mu.Lock()
	bad := f.closed || f.h == nil
	wr := f.flags&linux.O_ACCMODE != linux.O_RDONLY
	f.mu.Unlock()
	if bad {
		return syscall.EBADF
	}
	if !wr {
		return syscall.EINVAL
	}
	return f.v.setAttr(f.loc, Attr{Mask: SetSize, Size: size})
}

// Stat describes the open file (fstat). It works on linux.O_PATH files too.
func (f *File) Stat() (Stat, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return Stat{}, syscall.EBADF
	}
	return f.loc.Stat(), nil
}

// Ready reports poll readiness; regular files are always ready.
func (f *File) Ready() uint32 {
	f.mu.Lock()
	h, closed := f.h, f.closed
	f.mu.Unlock()
	if closed {
		return linux.POLLERR
	}
	if p, ok := h.(Poller); ok {
		return p.Ready()
	}
	return linux.POLLIN | linux.POLLOUT
}

// Close releases the handle; the File is unusable afterwards.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return syscall.EBADF
	}
	f.closed = true
	if f.h != nil {
		return f.h.Close()
	}
	return nil
}

// IO adapts f to the io package's conventions, for kernel code that
// copies files with it: end of file is io.EOF, and a short write is
// io.ErrShortWrite.
func (f *File) IO() io.ReadWriter { return fileIO{f} }

type fileIO struct{ f *File }

func (r fileIO) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if n == 0 && err == nil && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}

func (r fileIO) Write(p []byte) (int, error) {
	n, err := r.f.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

// Locker returns the handle's record locking when it has its own (see
// Locker), for fcntl's F_SETLK family.
func (f *File) Locker() (Locker, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.h == nil {
		return nil, false
	}
	l, ok := f.h.(Locker)
	return l, ok
}

// Pos is the file position (for l_whence SEEK_CUR).
func (f *File) Pos() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pos
}

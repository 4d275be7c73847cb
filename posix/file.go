package posix

import (
	"sync"
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// One file model: every kind of open file (VFS files, pipes and FIFOs,
// the console, eventfd, epoll, and sockets with the net issue)
// implements File, so every descriptor call works on every descriptor
// and answers as Linux does for that kind; kinds embed fileDefaults for
// the operations that make no sense for them. Readiness for poll, select
// and epoll is Ready plus the file's wait queue, for every kind alike.

// File is an open file's behaviour (gVisor's FileDescriptionImpl is the
// model). Blocking operations return ErrRestart when a signal interrupts
// them. An operation never sees a closed File: the descriptor table
// calls Close once, after the last descriptor went.
type File interface {
	// Read reads at the file position into dst; with nonblock it
	// returns EAGAIN rather than wait. (0, 0) is end of file.
	Read(t *Thread, dst []byte, nonblock bool) (int, Errno)
	// Write writes src at the position (or the end, for O_APPEND).
	Write(t *Thread, src []byte, nonblock bool) (int, Errno)
	// PRead and PWrite work at off and leave the position alone; off is
	// not negative. ESPIPE on files without positions.
	PRead(t *Thread, dst []byte, off int64) (int, Errno)
	PWrite(t *Thread, src []byte, off int64) (int, Errno)
	// Lseek moves the position.
	Lseek(off int64, whence int) (int64, Errno)
	// ReadDir lists a directory (getdents64): see fs.File.ReadDir.
	ReadDir(fn func(fs.Dirent) bool) Errno
	// Sync flushes (fsync); Truncate sets the size (ftruncate).
	Sync() Errno
	Truncate(size int64) Errno
	// Stat describes the file (fstat, statx with AT_EMPTY_PATH).
	Stat() fs.Stat
	// Ready reports poll bits (linux.POLLIN, ...); waitQueue is notified
	// whenever they may have changed.
	Ready() uint32
	waitQueue() *waitQueue
	// Ioctl handles the requests specific to the kind (FIONREAD, ...);
	// ENOTTY for the others. The generic ones (FIONBIO, FIOCLEX) never
	// reach it.
	Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno)
	// SetFlags tells the file its new status flags after F_SETFL.
	SetFlags(flags uint32)
	// Loc is the file's place in the VFS, if it has one: *at calls
	// start there, fchdir goes there, /proc/self/fd/N leads there.
	Loc() (fs.Loc, bool)
	// MapSource is what mmap copies from: ENODEV for what cannot be
	// mapped.
	MapSource() (*fs.File, Errno)
	// Name is the target of the file's /proc/self/fd link.
	Name(p *Process) string
	// Reopen opens the file anew through /proc/self/fd (or /dev/stdin
	// and friends) with flags, for files that have no VFS location.
	Reopen(t *Thread, flags int) (File, Errno)
	// Close releases the file when its last descriptor is gone.
	Close() Errno
}

// fileDefaults answers every File operation the way Linux does for an
// object that does not support it. Kinds embed it and override what
// they have.
type fileDefaults struct{}

func (fileDefaults) Read(*Thread, []byte, bool) (int, Errno)       { return 0, linux.EINVAL }
func (fileDefaults) Write(*Thread, []byte, bool) (int, Errno)      { return 0, linux.EINVAL }
func (fileDefaults) PRead(*Thread, []byte, int64) (int, Errno)     { return 0, linux.ESPIPE }
func (fileDefaults) PWrite(*Thread, []byte, int64) (int, Errno)    { return 0, linux.ESPIPE }
func (fileDefaults) Lseek(int64, int) (int64, Errno)               { return 0, linux.ESPIPE }
func (fileDefaults) ReadDir(func(fs.Dirent) bool) Errno            { return linux.ENOTDIR }
func (fileDefaults) Sync() Errno                                   { return linux.EINVAL }
func (fileDefaults) Truncate(int64) Errno                          { return linux.EINVAL }
func (fileDefaults) Ioctl(*Thread, uint64, uintptr) (int64, Errno) { return 0, linux.ENOTTY }
func (fileDefaults) SetFlags(uint32)                               {}
func (fileDefaults) Loc() (fs.Loc, bool)                           { return fs.Loc{}, false }
func (fileDefaults) MapSource() (*fs.File, Errno)                  { return nil, linux.ENODEV }
func (fileDefaults) Reopen(*Thread, int) (File, Errno)             { return nil, linux.ENXIO }
func (fileDefaults) Close() Errno                                  { return 0 }

// anonStat describes a file with no inode of its own (eventfd, epoll):
// an anonymous inode on the kernel's internal device, as Linux's
// anon_inodefs.
func anonStat(mode uint32) fs.Stat {
	return fs.Stat{Dev: anonDev, Mode: mode, Nlink: 1, Blksize: linux.PageSize}
}

// anonDev is the device of pipes and anonymous inodes (Linux numbers its
// internal filesystems from minor 1 of major 0 upwards, as the VFS does).
const anonDev = 0xfe // 0:254, past any mount the VFS numbers

// ErrRestart is returned by blocking operations interrupted by a signal.
const ErrRestart = Errno(errRestart)

// openFile is an open file description: shared by dup'ed descriptors.
type openFile struct {
	f     File
	mu    sync.Mutex
	flags uint32 // O_NONBLOCK, O_APPEND, access mode
	// closed is set when the last descriptor goes: epoll then drops the
	// file from its interest lists, as Linux does on the file's release.
	closed atomic.Bool
	// fdRefs counts the descriptors (and SCM_RIGHTS holds) that refer
	// to the description, under the fdTable's mu (one table a process).
	fdRefs int
}

func newOpenFile(f File, flags uint32) *openFile { return &openFile{f: f, flags: flags} }

// descriptionOf is newOpenFile for a file just opened: a VFS file's
// description lives in the vfsFile itself, the first time it is asked
// for (a vfsFile is only ever in one description).
func descriptionOf(f File, flags uint32) *openFile {
	if v, ok := f.(*vfsFile); ok && v.of.f == nil {
		v.of.f, v.of.flags = v, flags
		return &v.of
	}
	return newOpenFile(f, flags)
}

// nonblock reports O_NONBLOCK. No defer: every read and write of a
// socket asks, and nothing under the lock can panic.
func (o *openFile) nonblock() bool {
	o.mu.Lock()
	nb := o.flags&linux.O_NONBLOCK != 0
	o.mu.Unlock()
	return nb
}

// setFlags applies F_SETFL (or FIONBIO): only O_APPEND, O_NONBLOCK,
// O_NOATIME, O_DIRECT and O_ASYNC may change.
func (o *openFile) setFlags(flags uint32) {
	const settable = linux.O_APPEND | linux.O_NONBLOCK | linux.O_NOATIME | linux.O_DIRECT | linux.O_ASYNC | linux.O_DSYNC
	o.mu.Lock()
	o.flags = o.flags&^settable | flags&settable
	f := o.flags
	o.mu.Unlock()
	o.f.SetFlags(f)
}

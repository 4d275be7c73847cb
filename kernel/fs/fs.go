// Package fs is Runikraft's virtual filesystem: the small interface that
// concrete filesystems (ramfs, devfs, later 9p, block filesystems and
// /proc) implement, a mount table, Linux path resolution, the path
// operations behind the *at system calls, and open-file objects.
//
// # Errors
//
// Every error returned by this package and by the filesystems that plug
// into it is a syscall.Errno (never wrapped), so the posix layer can
// return it to the application as is. Use [ToErrno] to turn an error into
// the number (nil → 0, anything that is not an Errno → EIO).
//
// # Permissions
//
// Modes, owners and times are recorded and reported. The application
// normally runs as root (VFS.Cred uid 0), and then, as on Linux, only
// execute permission is enforced: Access(linux.X_OK) needs some x bit on a
// non-directory. A non-root Cred gets the classic owner/group/other
// checks on open (read/write), directory search, and directory
// modification; chmod/utimes need ownership and chown needs root. Sticky
// directories, ACLs, capabilities and setuid are not implemented.
//
// # Umask
//
// The VFS applies no umask: callers (the posix layer, which owns the
// process umask) pass perm &^ umask to Open(linux.O_CREAT) and Mkdir. Symlinks
// are always 0777, as on Linux.
//
// # Concurrency
//
// VFS methods and File methods are safe for concurrent use. Filesystems
// must make their Inode and Handle methods safe for concurrent use; the
// VFS serialises renames (so the "directory into its own subtree" check
// cannot race) but nothing else.
package fs

import (
	"errors"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Errno is a Linux error number.
type Errno = syscall.Errno

// ToErrno turns an error from this package into the number to give the
// application.
func ToErrno(err error) Errno {
	if err == nil {
		return 0
	}
	var e Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// Filesystem is one mountable filesystem instance.
type Filesystem interface {
	// Root is the filesystem's root directory.
	Root() Dir
}

// Inode is one file of a filesystem. Every inode whose Stat mode is
// linux.S_IFDIR must also implement Dir, and every linux.S_IFLNK one Symlink; the VFS
// decides by the mode. Implementations must return the
// same Ino for the same file for as long as it exists (the mount table
// and rename checks compare inodes by it), and Ino must be unique within
// the filesystem.
type Inode interface {
	// Stat reports the file's attributes. Dev is filled in by the VFS.
	Stat() Stat
	// SetAttr changes the attributes selected by a.Mask (chmod, chown,
	// utimes, truncate). The filesystem updates ctime.
	SetAttr(a Attr) error
	// Open prepares the file's data for I/O. flags are the open flags
	// (access mode, linux.O_APPEND, linux.O_NONBLOCK...) for filesystems that care.
	// It is not called for linux.O_PATH opens. Directories and symlinks may
	// return a Handle whose methods fail; the VFS never reads them.
	Open(flags int) (Handle, error)
}

// Identity may be implemented by an inode whose number and file type
// are cheap to give: the path walk asks for both at every step (mount
// points, symlinks, searchability), and without it builds a whole Stat
// each time (15 times for one open and fstat of a file in a
// subdirectory). Both must equal what Stat reports, and never change.
type Identity interface {
	Identity() (ino uint64, typ uint32) // typ: Stat's Mode & S_IFMT
}

// identityOf is n's number and file type (Stat's Mode & S_IFMT),
// without a whole Stat when n has Identity (a mounted root whose Stat is
// costly, such as the time-zone database's directory built on first use,
// then costs nothing to mount).
func identityOf(n Inode) (ino uint64, typ uint32) {
	if id, ok := n.(Identity); ok {
		return id.Identity()
	}
	st := n.Stat()
	return st.Ino, st.Mode & linux.S_IFMT
}

// Dir is a directory inode. The VFS checks types, names (no "/", not
// "." or "..", at most linux.NAME_MAX bytes), mount points and permissions
// before calling these; filesystems check what only they can check
// atomically (existence, emptiness).
type Dir interface {
	Inode
	// Lookup finds name in the directory. Lookup("..") returns the
	// parent directory (the root returns itself); "." is never asked.
	// A removed directory answers ENOENT.
	Lookup(name string) (Inode, error)
	// Create makes a new entry: a regular file, directory, symlink
	// (a.Target), FIFO, socket or device (a.Rdev), chosen by the type
	// bits of a.Mode. EEXIST if name exists; ENOSPC when full; EPERM if
	// the filesystem cannot make that kind of file.
	Create(name string, a CreateAttr) (Inode, error)
	// Link adds a hard link to target (a non-directory of the same
	// filesystem). EEXIST if name exists.
	Link(name string, target Inode) error
	// Remove deletes an entry: a directory if dir (ENOTDIR if it is not
	// one, ENOTEMPTY if it has entries), otherwise a non-directory
	// (EISDIR if it is a directory).
	Remove(name string, dir bool) error
	// Rename moves oldName to newDir/newName; newDir is a Dir of the same
	// filesystem. flags are linux.RENAME_NOREPLACE or linux.RENAME_EXCHANGE. Linux
	// rules for replacing apply (ENOTDIR, EISDIR, ENOTEMPTY, EEXIST).
	// Renaming a file onto another link of itself does nothing.
	Rename(oldName string, newDir Dir, newName string, flags int) error
	// ReadDir returns up to n entries (never "." or "..") starting at
	// cursor (0 is the start). Each Dirent's Next is the cursor that
	// resumes after it. Cursors must stay valid across inserts and
	// deletes (an entry is neither repeated nor skipped unless it was
	// itself added or removed meanwhile) and be below 1<<62.
	ReadDir(cursor uint64, n int) ([]Dirent, error)
}

// Symlink is a symbolic-link inode.
type Symlink interface {
	Inode
	Readlink() (string, error)
}

// FileLink is a symlink that stands for an open file rather than a path
// (Linux's "magic links", /proc/self/fd/N). Following one goes straight
// to the file's Loc when it has one, whatever Readlink says; when it has
// none (a pipe, a socket) the walk ends on the link itself, and the
// caller that owns such files (the posix layer) opens what it stands
// for. Readlink still gives the text lstat and readlink show.
type FileLink interface {
	Symlink
	FileLoc() (Loc, bool)
}

// Handle is an opened inode's data. Offsets are absolute; the open File
// keeps the position. Handles of devices may ignore offsets. End of file
// is (0, nil) (io.EOF is tolerated and turned into that).
type Handle interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	// Close is called once, when the File is closed.
	Close() error
}

// Optional Handle behaviour.
type (
	// Appender writes at the end of the file atomically (linux.O_APPEND) and
	// returns the new end. Without it the VFS appends at Stat().Size.
	Appender interface {
		Append(p []byte) (n int, end int64, err error)
	}
	// Streamer handles have no position (terminals, pipes): Seek is
	// ESPIPE, and ReadAt/WriteAt are given offset 0.
	Streamer interface {
		Stream() bool
	}
	// Syncer flushes the file to its backing store (fsync).
	Syncer interface {
		Sync() error
	}
	// Poller reports readiness (linux.POLLIN, linux.POLLOUT...). Handles without it
	// are always ready for reading and writing, like regular files.
	Poller interface {
		Ready() uint32
	}
)

// Stat is struct stat, in Linux terms.
type Stat struct {
	Dev     uint64
	Ino     uint64
	Mode    uint32 // type bits (linux.S_IFMT) and permission bits
	Nlink   uint32
	Uid     uint32
	Gid     uint32
	Rdev    uint64
	Size    int64
	Blksize int32
	Blocks  int64 // 512-byte units actually allocated
	Atime   time.Time
	Mtime   time.Time
	Ctime   time.Time
}

// IsDir reports whether the stat describes a directory.
func (s Stat) IsDir() bool { return s.Mode&linux.S_IFMT == linux.S_IFDIR }

// Attr says what SetAttr changes.
type Attr struct {
	Mask  uint32 // SetMode | SetUid | ...
	Mode  uint32 // permission bits (07777) only
	Uid   uint32
	Gid   uint32
	Size  int64
	Atime time.Time // ignored with SetAtimeNow: the filesystem's clock
	Mtime time.Time
}

// Attr mask bits.
const (
	SetMode = 1 << iota
	SetUid
	SetGid
	SetSize
	SetAtime
	SetMtime
	SetAtimeNow
	SetMtimeNow
)

// CreateAttr describes a new file.
type CreateAttr struct {
	Mode   uint32 // type and permission bits
	Uid    uint32
	Gid    uint32
	Rdev   uint64 // devices
	Target string // symlinks
}

// Dirent is one directory entry as getdents64 reports it.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8  // DT_*
	Next uint64 // cursor (or, from File.ReadDir, d_off) after this entry
}

// SymloopMax is how many symlinks one path resolution follows (Linux's
// MAXSYMLINKS). The ABI's constants (O_*, S_IF*, AT_*, ...) are in
// kernel/abi/linux.
const SymloopMax = 40

// DirentType is the DT_* value for a mode.
func DirentType(mode uint32) uint8 { return uint8((mode & linux.S_IFMT) >> 12) }

// StatFSer is a Filesystem that describes its space itself (statfs);
// for others the posix layer reports RAM, as tmpfs does.
type StatFSer interface {
	StatFS() (StatFS, error)
}

// StatFS is what statfs reports of a filesystem.
type StatFS struct {
	Type                 int64 // f_type, a *_MAGIC of kernel/abi/linux
	Bsize                int64
	Blocks, Bfree        uint64
	Bavail, Files, Ffree uint64
	Namelen              int64
	ReadOnly             bool // ST_RDONLY
}

// Locker is a Handle whose POSIX record locks (fcntl F_SETLK, F_SETLKW,
// F_GETLK) go to a store shared with others, such as a host directory.
// Ranges are absolute: start and length as struct flock says them once
// l_whence is applied (length 0 is "to the end of the file"). Without
// it, locks are the posix layer's business: one process, so nothing to
// conflict with.
type Locker interface {
	// Lock places (linux.F_RDLCK, F_WRLCK) or removes (F_UNLCK) a lock;
	// EAGAIN if another holder conflicts and !wait; with wait it blocks
	// until the lock is granted.
	Lock(typ int16, start, length int64, wait bool) error
	// TestLock returns the first lock that would conflict with one of
	// type typ over the range (F_GETLK), or a lock of type F_UNLCK.
	TestLock(typ int16, start, length int64) (Flock, error)
}

// Flock describes a POSIX record lock.
type Flock struct {
	Type          int16
	Start, Length int64
	Pid           int32
}

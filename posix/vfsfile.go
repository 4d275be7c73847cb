package posix

import (
	"path"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// vfsFile is an open VFS file (regular files, directories, devfs's
// devices, /proc's files) behind a descriptor. Regular files never
// block.
type vfsFile struct {
	f    *fs.File
	name vfsName
	wq   waitQueue // never notified: VFS files are always ready
	// of is the open file description openat installs this file in,
	// allocated with it (descriptionOf): one allocation fewer per open.
	of openFile
}

// vfsName is how a file was opened, for /proc/self/fd's link text.
type vfsName struct {
	dir  fs.Loc // where a relative path started
	path string // as the application named it
	// nofollow: opened with O_NOFOLLOW (O_PATH on a symlink names it).
	nofollow bool
}

func newVFSFile(f *fs.File, name vfsName) *vfsFile {
	name.nofollow = f.Flags()&linux.O_NOFOLLOW != 0
	return &vfsFile{f: f, name: name}
}

func (v *vfsFile) Read(_ *Thread, p []byte, nonblock bool) (int, Errno) {
	if nonblock && v.f.Ready()&linux.POLLIN == 0 {
		return 0, linux.EAGAIN
	}
	n, err := v.f.Read(p)
	return n, fs.ToErrno(err)
}

func (v *vfsFile) Write(_ *Thread, p []byte, _ bool) (int, Errno) {
	n, err := v.f.Write(p)
	return n, fs.ToErrno(err)
}

func (v *vfsFile) PRead(_ *Thread, p []byte, off int64) (int, Errno) {
	n, err := v.f.ReadAt(p, off)
	return n, fs.ToErrno(err)
}

func (v *vfsFile) PWrite(_ *Thread, p []byte, off int64) (int, Errno) {
	n, err := v.f.WriteAt(p, off)
	return n, fs.ToErrno(err)
}

func (v *vfsFile) Lseek(off int64, whence int) (int64, Errno) {
	pos, err := v.f.Seek(off, whence)
	return pos, fs.ToErrno(err)
}

func (v *vfsFile) ReadDir(fn func(fs.Dirent) bool) Errno { return fs.ToErrno(v.f.ReadDir(fn)) }
func (v *vfsFile) Sync() Errno                           { return fs.ToErrno(v.f.Sync()) }
func (v *vfsFile) Truncate(size int64) Errno             { return fs.ToErrno(v.f.Truncate(size)) }
func (v *vfsFile) Close() Errno                          { return fs.ToErrno(v.f.Close()) }
func (v *vfsFile) Ready() uint32                         { return v.f.Ready() }
func (v *vfsFile) waitQueue() *waitQueue                 { return &v.wq }
func (v *vfsFile) SetFlags(flags uint32)                 { v.f.SetFlags(int(flags)) }
func (v *vfsFile) Loc() (fs.Loc, bool)                   { return v.f.Loc(), true }

// Name is the file's path as Linux's /proc/self/fd shows it: absolute,
// with symlinks resolved (computed only when /proc asks). A directory's
// path comes from the tree; a file's from the name it was opened by.
func (v *vfsFile) Name(p *Process) string {
	// Not v.f.Stat or Flags: listing /proc/self/fd holds the lock of the
	// directory file being read, which may be v.f itself.
	if l := v.f.Loc(); l.Stat().IsDir() {
		if s, err := p.fs.v.PathOf(l); err == nil {
			return s
		}
	}
	return v.name.abs(p)
}

// Reopen is never needed: a VFS file's /proc/self/fd link leads to its
// Loc, and the VFS opens that.
func (v *vfsFile) Reopen(*Thread, int) (File, Errno) { return nil, linux.ENXIO }

func (v *vfsFile) Stat() fs.Stat {
	st, _ := v.f.Stat() // the descriptor holds the file open
	return st
}

// MapSource lets mmap copy from the file (O_PATH descriptors cannot).
func (v *vfsFile) MapSource() (*fs.File, Errno) {
	if v.f.Flags()&linux.O_PATH != 0 {
		return nil, linux.EBADF
	}
	return v.f, 0
}

// Ioctl answers FIONREAD on regular files: the bytes after the position.
func (v *vfsFile) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	st := v.Stat()
	if req != linux.FIONREAD || st.Mode&linux.S_IFMT != linux.S_IFREG {
		return 0, linux.ENOTTY
	}
	pos, err := v.f.Seek(0, linux.SEEK_CUR)
	if err != nil {
		return 0, fs.ToErrno(err)
	}
	return 0, t.put32(arg, uint32(min(max(st.Size-pos, 0), 1<<31-1)))
}

// absPath is the file's path as Linux's /proc/self/fd shows it:
// absolute, with symlinks resolved (computed only when /proc asks).
// A directory's path comes from the tree; a file's from the name it was
// opened by, following a final symlink the way open did.
// abs resolves the name the file was opened by into an absolute path,
// following a final symlink the way open did.
func (n vfsName) abs(p *Process) string {
	vfs := p.fs.v
	dir, name := n.dir, n.path
	for i := 0; i <= fs.SymloopMax; i++ {
		parent, last := path.Split(name)
		if parent == "" {
			parent = "."
		}
		pl, err := vfs.Lookup(dir, parent, true)
		if err != nil {
			break
		}
		pp, err := vfs.PathOf(pl)
		if err != nil {
			break
		}
		target, err := vfs.Readlink(pl, last, 0)
		if err != nil || n.nofollow {
			return path.Join(pp, last) // not a symlink (or not followed): done
		}
		dir, name = pl, target
	}
	return n.path
}

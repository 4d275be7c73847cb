package posix

// openat: the VFS opens its own files; FIFOs, the terminals and
// /proc/self/fd links to files outside the VFS are opened here.

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// sysOpenat implements openat(2).
func sysOpenat(t *Thread, a *[6]uint64) int64 {
	start, path, e := t.pathAt(a[0], a[1])
	if e != 0 {
		return errno(e)
	}
	flags := int(uint32(a[2]))
	f, status, e := t.open(start, path, flags, t.umasked(a[3]))
	if e != 0 {
		return errno(e)
	}
	fd, e := t.p.fds.install(descriptionOf(f, status), 0, flags&linux.O_CLOEXEC != 0)
	if e != 0 {
		f.Close()
		return errno(e)
	}
	return int64(fd)
}

// open opens path from start. The VFS opens what it holds; the files
// the posix layer owns but the VFS only names are opened here: FIFOs
// (the process's pipes), the terminal devices (the console), and
// /proc/self/fd links to files with no VFS location (reopened).
//
// status is the open file's status flags, as F_GETFL reports them.
func (t *Thread) open(start fs.Loc, path string, flags int, perm uint32) (f File, status uint32, e Errno) {
	name := vfsName{dir: start, path: path}
	if flags&(linux.O_PATH|linux.O_EXCL) == 0 { // O_PATH names the node; O_EXCL must fail in the VFS
		l, err := t.p.fs.v.Lookup(start, path, flags&linux.O_NOFOLLOW == 0)
		if err == nil {
			if f, e, ok := t.openNode(l, name, flags); ok {
				const notStatus = linux.O_CREAT | linux.O_EXCL | linux.O_TRUNC | linux.O_NOCTTY | linux.O_CLOEXEC
				return f, uint32(flags) &^ notStatus, e
			}
		}
		// Without O_CREAT, Open's own walk would resolve the same path
		// the same way: open what Lookup found (or fail as it did)
		// rather than walk again (nginx opens a file for each request).
		if flags&linux.O_CREAT == 0 && flags&linux.O_TMPFILE != linux.O_TMPFILE && flags&linux.O_ACCMODE != linux.O_ACCMODE {
			if err != nil {
				return nil, 0, fs.ToErrno(err)
			}
			vf, err := t.p.fs.v.OpenLoc(l, flags)
			if err != nil {
				return nil, 0, fs.ToErrno(err)
			}
			return newVFSFile(vf, name), uint32(vf.Flags()), 0
		}
	}
	vf, err := t.p.fs.v.Open(start, path, flags, perm)
	if err != nil {
		return nil, 0, fs.ToErrno(err)
	}
	return newVFSFile(vf, name), uint32(vf.Flags()), 0
}

// openNode opens the nodes the posix layer owns; ok is false for the
// VFS's own.
func (t *Thread) openNode(l fs.Loc, name vfsName, flags int) (f File, e Errno, ok bool) {
	switch locType(l) {
	case linux.S_IFLNK, linux.S_IFIFO, linux.S_IFCHR:
	default:
		return nil, 0, false // the VFS's own: no need for a whole Stat
	}
	st := l.Stat()
	switch {
	case st.Mode&linux.S_IFMT == linux.S_IFLNK:
		fd, isFD := l.Inode().(*fdNode)
		if !isFD {
			return nil, 0, false
		}
		f, e = fd.of.f.Reopen(t, flags)
	case st.Mode&linux.S_IFMT == linux.S_IFIFO:
		if flags&linux.O_DIRECTORY != 0 {
			return nil, linux.ENOTDIR, true
		}
		f, e = t.openFIFO(l, name, flags)
	case st.Mode&linux.S_IFMT == linux.S_IFCHR && linux.Major(st.Rdev) == linux.TTY_MAJOR:
		if flags&linux.O_DIRECTORY != 0 {
			return nil, linux.ENOTDIR, true
		}
		f = t.p.console.open(name.abs(t.p), st.Rdev)
	default:
		return nil, 0, false
	}
	return f, e, true
}

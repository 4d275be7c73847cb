package fs

import (
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Path operations. Each takes start, where a relative path begins: the
// working directory for the plain calls, the dirfd's Loc for the *at
// calls (the zero Loc means the root). Absolute paths ignore it.

// Open opens path. flags are Linux open flags; perm (already masked by
// the caller's umask) is used when linux.O_CREAT makes a file.
func (v *VFS) Open(start Loc, path string, flags int, perm uint32) (*File, error) {
	start = v.start(start)
	if flags&linux.O_TMPFILE == linux.O_TMPFILE {
		return nil, syscall.EOPNOTSUPP
	}
	if flags&linux.O_PATH != 0 {
		// linux.O_PATH ignores everything but these (Linux does too).
		flags &= linux.O_PATH | linux.O_DIRECTORY | linux.O_NOFOLLOW
		l, err := v.walker().resolve(start, path, flags&linux.O_NOFOLLOW == 0)
		if err != nil {
			return nil, err
		}
		if flags&linux.O_DIRECTORY != 0 && !l.isDir() {
			return nil, syscall.ENOTDIR
		}
		return &File{v: v, loc: l, flags: flags}, nil
	}
	acc := flags & linux.O_ACCMODE
	if acc == linux.O_ACCMODE {
		return nil, syscall.EINVAL
	}
	var l Loc
	var err error
	created := false
	if flags&linux.O_CREAT != 0 {
		if flags&linux.O_DIRECTORY != 0 {
			return nil, syscall.EINVAL // as Linux 6.4+
		}
		l, created, err = v.openCreate(v.walker(), start, path, flags, perm)
	} else {
		l, err = v.walker().resolve(start, path, flags&linux.O_NOFOLLOW == 0)
	}
	if err != nil {
		return nil, err
	}
	return v.openLoc(l, flags, created)
}

// OpenLoc opens the file at l, which Lookup resolved (following a final
// symlink unless flags has O_NOFOLLOW): what Open does after its walk,
// for a caller that looked at the file first and should not walk its
// path twice. flags may not ask to create (O_CREAT, O_TMPFILE) or hold
// O_PATH: Open handles those.
func (v *VFS) OpenLoc(l Loc, flags int) (*File, error) {
	if flags&(linux.O_CREAT|linux.O_PATH) != 0 || flags&linux.O_TMPFILE == linux.O_TMPFILE || flags&linux.O_ACCMODE == linux.O_ACCMODE || l.IsZero() {
		return nil, syscall.EINVAL
	}
	return v.openLoc(l, flags, false)
}

// openLoc opens the resolved l; created says Open just made it (its
// creator may open it whatever its mode).
func (v *VFS) openLoc(l Loc, flags int, created bool) (*File, error) {
	acc := flags & linux.O_ACCMODE
	// Root may read and write any file (permit refuses it only execution),
	// so without O_TRUNC (which needs the size) the type is all it takes,
	// and Identity gives it without the filesystem's lock and a whole Stat.
	var st Stat
	var typ uint32
	needStat := v.cred.Uid != 0 || flags&linux.O_TRUNC != 0
	if needStat {
		st = l.n.Stat()
		typ = st.Mode & linux.S_IFMT
	} else {
		_, typ = identityOf(l.n)
	}
	switch typ {
	case linux.S_IFLNK:
		return nil, syscall.ELOOP // linux.O_NOFOLLOW on a symlink
	case linux.S_IFDIR:
		if acc != linux.O_RDONLY || flags&(linux.O_TRUNC|linux.O_CREAT) != 0 {
			return nil, syscall.EISDIR
		}
	default:
		if flags&linux.O_DIRECTORY != 0 {
			return nil, syscall.ENOTDIR
		}
	}
	if !created && needStat { // a creator may open its new file whatever the mode
		var want uint32
		if acc != linux.O_WRONLY {
			want |= linux.R_OK
		}
		if acc != linux.O_RDONLY || flags&linux.O_TRUNC != 0 {
			want |= linux.W_OK
		}
		if err := v.permit(st, want); err != nil {
			return nil, err
		}
	}
	if flags&linux.O_TRUNC != 0 && typ == linux.S_IFREG && st.Size != 0 {
		if err := l.n.SetAttr(Attr{Mask: SetSize}); err != nil {
			return nil, err
		}
	}
	h, err := l.n.Open(flags)
	if err != nil {
		return nil, err
	}
	f := &File{v: v, loc: l, h: h, flags: flags &^ (linux.O_CREAT | linux.O_EXCL | linux.O_TRUNC | linux.O_NOCTTY | linux.O_CLOEXEC)}
	if s, ok := h.(Streamer); ok && s.Stream() {
		f.stream = true
	}
	return f, nil
}

// openCreate resolves path for linux.O_CREAT, making a regular file if the
// last component does not exist. A final symlink is followed (unless
// linux.O_EXCL or linux.O_NOFOLLOW), and if it dangles its target is created, as on
// Linux.
func (v *VFS) openCreate(w *walker, start Loc, path string, flags int, perm uint32) (Loc, bool, error) {
	dir, last, trailing, err := w.parent(start, path)
	if err != nil {
		return Loc{}, false, err
	}
	if trailing || last == "." || last == ".." {
		return Loc{}, false, syscall.EISDIR
	}
	for {
		n, err := w.step(dir, last)
		if err == nil {
			if flags&linux.O_EXCL != 0 {
				return Loc{}, false, syscall.EEXIST
			}
			if n.mode() != linux.S_IFLNK || flags&linux.O_NOFOLLOW != 0 {
				return n, false, nil
			}
			w.links++
			if w.links > SymloopMax {
				return Loc{}, false, syscall.ELOOP
			}
			target, err := n.n.(Symlink).Readlink()
			if err != nil {
				return Loc{}, false, err
			}
			return v.openCreate(w, dir, target, flags, perm)
		}
		if err != syscall.ENOENT {
			return Loc{}, false, err
		}
		if err := v.mayModify(dir); err != nil {
			return Loc{}, false, err
		}
		c, err := dir.n.(Dir).Create(last, CreateAttr{Mode: linux.S_IFREG | perm&0o7777, Uid: v.cred.Uid, Gid: v.cred.Gid})
		if err == syscall.EEXIST && flags&linux.O_EXCL == 0 {
			continue // another creator won; open theirs
		}
		if err != nil {
			return Loc{}, false, err
		}
		return Loc{dir.m, c}, true, nil
	}
}

// mayModify checks the caller may add or remove entries in dir.
func (v *VFS) mayModify(dir Loc) error {
	return v.permit(dir.n.Stat(), linux.W_OK|linux.X_OK)
}

// create makes a new entry (mkdir, mknod, symlink).
func (v *VFS) create(start Loc, path string, a CreateAttr) error {
	dir, last, trailing, err := v.walker().parent(v.start(start), path)
	if err != nil {
		return err
	}
	if last == "." || last == ".." {
		return syscall.EEXIST
	}
	if trailing && a.Mode&linux.S_IFMT != linux.S_IFDIR {
		// "newfile/" names a directory that does not exist.
		if _, err := dir.n.(Dir).Lookup(last); err == nil {
			return syscall.EEXIST
		}
		return syscall.ENOENT
	}
	if err := v.mayModify(dir); err != nil {
		return err
	}
	a.Uid, a.Gid = v.cred.Uid, v.cred.Gid
	_, err = dir.n.(Dir).Create(last, a)
	return err
}

// Mkdir makes a directory; perm is already masked by the umask.
func (v *VFS) Mkdir(start Loc, path string, perm uint32) error {
	return v.create(start, path, CreateAttr{Mode: linux.S_IFDIR | perm&0o7777})
}

// Mknod makes a FIFO, socket, device or regular file (mode has the type
// bits; perm bits already masked by the umask).
func (v *VFS) Mknod(start Loc, path string, mode uint32, rdev uint64) error {
	switch mode & linux.S_IFMT {
	case 0:
		mode |= linux.S_IFREG
	case linux.S_IFREG, linux.S_IFCHR, linux.S_IFBLK, linux.S_IFIFO, linux.S_IFSOCK:
	case linux.S_IFDIR:
		return syscall.EPERM
	default:
		return syscall.EINVAL
	}
	return v.create(start, path, CreateAttr{Mode: mode, Rdev: rdev})
}

// Symlink makes path a symbolic link to target.
func (v *VFS) Symlink(target string, start Loc, path string) error {
	if target == "" {
		return syscall.ENOENT
	}
	if len(target) >= linux.PATH_MAX {
		return syscall.ENAMETOOLONG
	}
	return v.create(start, path, CreateAttr{Mode: linux.S_IFLNK | 0o777, Target: target})
}

// Readlink reads the symlink at path (never followed). EINVAL if it is
// not a symlink. linux.AT_EMPTY_PATH reads start itself.
func (v *VFS) Readlink(start Loc, path string, flags int) (string, error) {
	l, err := v.target(start, path, flags|linux.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return "", err
	}
	s, ok := l.n.(Symlink)
	if !ok || l.mode() != linux.S_IFLNK {
		return "", syscall.EINVAL
	}
	return s.Readlink()
}

// target resolves the file an *at call acts on: start itself for an
// empty path with linux.AT_EMPTY_PATH, otherwise path, following a final
// symlink unless linux.AT_SYMLINK_NOFOLLOW.
func (v *VFS) target(start Loc, path string, flags int) (Loc, error) {
	start = v.start(start)
	if path == "" && flags&linux.AT_EMPTY_PATH != 0 {
		return start, nil
	}
	return v.walker().resolve(start, path, flags&linux.AT_SYMLINK_NOFOLLOW == 0)
}

// Stat describes the file at path (fstatat: linux.AT_SYMLINK_NOFOLLOW for
// lstat, linux.AT_EMPTY_PATH for fstat of a dirfd).
func (v *VFS) Stat(start Loc, path string, flags int) (Stat, error) {
	l, err := v.target(start, path, flags)
	if err != nil {
		return Stat{}, err
	}
	return l.Stat(), nil
}

// Access checks the caller may use path in the ways mode (linux.F_OK, linux.R_OK,
// linux.W_OK, linux.X_OK) says (faccessat2).
func (v *VFS) Access(start Loc, path string, mode uint32, flags int) error {
	if mode&^7 != 0 {
		return syscall.EINVAL
	}
	l, err := v.target(start, path, flags)
	if err != nil {
		return err
	}
	return v.permit(l.n.Stat(), mode)
}

// SetAttr changes attributes of the file at path (flags as for Stat).
// Non-root callers: chmod and explicit times need ownership, chown needs
// root (EPERM), truncate needs write permission (EACCES).
func (v *VFS) SetAttr(start Loc, path string, a Attr, flags int) error {
	l, err := v.target(start, path, flags)
	if err != nil {
		return err
	}
	return v.setAttr(l, a)
}

func (v *VFS) setAttr(l Loc, a Attr) error {
	st := l.n.Stat()
	if a.Mask&SetSize != 0 {
		switch st.Mode & linux.S_IFMT {
		case linux.S_IFDIR:
			return syscall.EISDIR
		case linux.S_IFREG:
		default:
			return syscall.EINVAL
		}
		if a.Size < 0 {
			return syscall.EINVAL
		}
		if err := v.permit(st, linux.W_OK); err != nil {
			return err
		}
	}
	if v.cred.Uid != 0 {
		if a.Mask&(SetUid|SetGid) != 0 {
			return syscall.EPERM
		}
		if a.Mask&(SetMode|SetAtime|SetMtime) != 0 && st.Uid != v.cred.Uid {
			return syscall.EPERM
		}
		if a.Mask&(SetAtimeNow|SetMtimeNow) != 0 && st.Uid != v.cred.Uid {
			if err := v.permit(st, linux.W_OK); err != nil {
				return err
			}
		}
	}
	a.Mode &= 0o7777
	return l.n.SetAttr(a)
}

// Chmod sets the permission bits of path.
func (v *VFS) Chmod(start Loc, path string, mode uint32, flags int) error {
	return v.SetAttr(start, path, Attr{Mask: SetMode, Mode: mode}, flags)
}

// Chown sets the owner and group of path; -1 (as an int or as the
// uint32 the syscall passes) leaves one unchanged.
func (v *VFS) Chown(start Loc, path string, uid, gid int, flags int) error {
	a := Attr{}
	if uint32(uid) != ^uint32(0) {
		a.Mask |= SetUid
		a.Uid = uint32(uid)
	}
	if uint32(gid) != ^uint32(0) {
		a.Mask |= SetGid
		a.Gid = uint32(gid)
	}
	return v.SetAttr(start, path, a, flags)
}

// Utimes sets times of path; a.Mask selects SetAtime/SetMtime (explicit)
// or SetAtimeNow/SetMtimeNow (the filesystem's clock), so UTIME_OMIT is
// leaving a bit out.
func (v *VFS) Utimes(start Loc, path string, a Attr, flags int) error {
	a.Mask &= SetAtime | SetMtime | SetAtimeNow | SetMtimeNow
	return v.SetAttr(start, path, a, flags)
}

// Truncate sets the size of the regular file at path.
func (v *VFS) Truncate(start Loc, path string, size int64) error {
	return v.SetAttr(start, path, Attr{Mask: SetSize, Size: size}, 0)
}

// Unlink removes path: a non-directory, or with linux.AT_REMOVEDIR an empty
// directory (unlinkat; rmdir is Unlink with linux.AT_REMOVEDIR). The last
// component is never followed.
func (v *VFS) Unlink(start Loc, path string, flags int) error {
	if flags&^linux.AT_REMOVEDIR != 0 {
		return syscall.EINVAL
	}
	rmdir := flags&linux.AT_REMOVEDIR != 0
	dir, last, trailing, err := v.walker().parent(v.start(start), path)
	if err != nil {
		return err
	}
	switch {
	case last == "." && rmdir:
		return syscall.EINVAL
	case last == ".." && rmdir:
		return syscall.ENOTEMPTY
	case last == "." || last == "..":
		return syscall.EISDIR
	}
	d := dir.n.(Dir)
	n, err := d.Lookup(last)
	if err != nil {
		return err
	}
	isDir := n.Stat().Mode&linux.S_IFMT == linux.S_IFDIR
	switch {
	case rmdir && !isDir:
		return syscall.ENOTDIR
	case !rmdir && isDir:
		return syscall.EISDIR
	case !rmdir && trailing:
		return syscall.ENOTDIR
	}
	if isDir && v.isMountPoint(Loc{dir.m, n}) {
		return syscall.EBUSY
	}
	if err := v.mayModify(dir); err != nil {
		return err
	}
	return d.Remove(last, rmdir)
}

// Link makes newPath a hard link to oldPath (linkat; linux.AT_SYMLINK_FOLLOW
// follows a final symlink in oldPath, linux.AT_EMPTY_PATH links oldStart).
func (v *VFS) Link(oldStart Loc, oldPath string, newStart Loc, newPath string, flags int) error {
	if flags&^(linux.AT_SYMLINK_FOLLOW|linux.AT_EMPTY_PATH) != 0 {
		return syscall.EINVAL
	}
	nf := linux.AT_SYMLINK_NOFOLLOW
	if flags&linux.AT_SYMLINK_FOLLOW != 0 {
		nf = 0
	}
	old, err := v.target(oldStart, oldPath, nf|flags&linux.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	dir, last, trailing, err := v.walker().parent(v.start(newStart), newPath)
	if err != nil {
		return err
	}
	if last == "." || last == ".." {
		return syscall.EEXIST
	}
	if old.isDir() {
		return syscall.EPERM
	}
	if trailing {
		return syscall.ENOENT
	}
	if old.m.fs != dir.m.fs || old.m != dir.m {
		return syscall.EXDEV
	}
	if err := v.mayModify(dir); err != nil {
		return err
	}
	return dir.n.(Dir).Link(last, old.n)
}

// Rename moves oldPath to newPath (renameat2; flags linux.RENAME_NOREPLACE or
// linux.RENAME_EXCHANGE). Both must be in the same mount (EXDEV).
func (v *VFS) Rename(oldStart Loc, oldPath string, newStart Loc, newPath string, flags int) error {
	if flags&^(linux.RENAME_NOREPLACE|linux.RENAME_EXCHANGE) != 0 || flags == linux.RENAME_NOREPLACE|linux.RENAME_EXCHANGE {
		return syscall.EINVAL
	}
	w := v.walker()
	od, oname, otrail, err := w.parent(v.start(oldStart), oldPath)
	if err != nil {
		return err
	}
	nd, nname, ntrail, err := w.parent(v.start(newStart), newPath)
	if err != nil {
		return err
	}
	if oname == "." || oname == ".." || nname == "." || nname == ".." {
		return syscall.EBUSY // Linux: renaming "." or ".." (or onto them)
	}
	if od.m != nd.m {
		return syscall.EXDEV
	}
	v.renameMu.Lock()
	defer v.renameMu.Unlock()
	odir, ndir := od.n.(Dir), nd.n.(Dir)
	src, err := odir.Lookup(oname)
	if err != nil {
		return err
	}
	srcLoc := Loc{od.m, src}
	srcDir := srcLoc.isDir()
	dst, err := ndir.Lookup(nname)
	dstExists := err == nil
	if err != nil && err != syscall.ENOENT {
		return err
	}
	if !dstExists && flags&linux.RENAME_EXCHANGE != 0 {
		return syscall.ENOENT
	}
	if dstExists && flags&linux.RENAME_NOREPLACE != 0 {
		return syscall.EEXIST
	}
	dstDir := dstExists && (Loc{nd.m, dst}).isDir()
	if (otrail && !srcDir) || (ntrail && dstExists && !dstDir) {
		return syscall.ENOTDIR
	}
	if ntrail && !dstExists && !srcDir {
		return syscall.ENOTDIR
	}
	if dstExists && flags&linux.RENAME_EXCHANGE == 0 {
		if dst.Stat().Ino == src.Stat().Ino {
			return nil // two links to one file: nothing happens
		}
		if srcDir && !dstDir {
			return syscall.ENOTDIR
		}
		if !srcDir && dstDir {
			return syscall.EISDIR
		}
	}
	if v.isMountPoint(srcLoc) || (dstExists && v.isMountPoint(Loc{nd.m, dst})) {
		return syscall.EBUSY
	}
	// A directory may not move below itself.
	if srcDir {
		if inside, err := w.within(nd, srcLoc); err != nil || inside {
			return orErr(err, syscall.EINVAL)
		}
	}
	if dstDir && flags&linux.RENAME_EXCHANGE != 0 {
		if inside, err := w.within(od, Loc{nd.m, dst}); err != nil || inside {
			return orErr(err, syscall.EINVAL)
		}
	}
	if err := v.mayModify(od); err != nil {
		return err
	}
	if err := v.mayModify(nd); err != nil {
		return err
	}
	return odir.Rename(oname, ndir, nname, flags)
}

func orErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// within reports whether l is anc or below it, walking up within anc's
// mount.
func (w *walker) within(l, anc Loc) (bool, error) {
	for i := 0; ; i++ {
		if l.m == anc.m && l.same(anc) {
			return true, nil
		}
		if l.isMountRoot() || i > 1<<16 {
			return false, nil
		}
		p, err := l.n.(Dir).Lookup("..")
		if err != nil {
			return false, err
		}
		l = Loc{l.m, p}
	}
}

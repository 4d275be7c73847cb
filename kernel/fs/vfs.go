package fs

import (
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Cred is who performs path operations (the application's ids).
type Cred struct{ Uid, Gid uint32 }

// VFS is a mount table with a root, plus the path operations. One VFS
// serves one process (Runikraft runs one application).
type VFS struct {
	cred Cred

	mu     sync.RWMutex        // the mount table
	root   *Mount              // set by New, never changed
	mounts map[mountKey]*Mount // mount point → the mount on top of it
	// pointBits has bit ino%64 set for every mount point's inode number
	// (set under mu, never cleared): a walk's step onto an inode whose bit
	// is clear crosses no mount, without the lock and the map look-up
	// (its 16-byte key goes through the runtime's fallback hash).
	pointBits atomic.Uint64
	devs      map[Filesystem]uint64
	nextDev   uint32

	// renameMu serialises renames: the check that a directory is not
	// moved into its own subtree walks up the tree, and a concurrent
	// rename could otherwise make a cycle between the check and the move.
	renameMu sync.Mutex
}

// Mount is one filesystem mounted at a directory.
type Mount struct {
	fs      Filesystem
	root    Dir
	rootIno uint64
	dev     uint64
	parent  *Mount // nil for the root mount
	point   Dir    // the directory in parent this mount covers
}

// FS is the mounted filesystem.
func (m *Mount) FS() Filesystem { return m.fs }

type mountKey struct {
	m   *Mount
	ino uint64
}

// Loc is a place in the VFS: an inode and the mount it was reached
// through (needed for ".." out of a mount and for st_dev). It is what a
// working directory or a dirfd holds. The zero Loc means "the root".
type Loc struct {
	m *Mount
	n Inode
}

// Inode is the inode at the location.
func (l Loc) Inode() Inode { return l.n }

// Mount is the mount the location belongs to.
func (l Loc) Mount() *Mount { return l.m }

// IsZero reports whether l is the zero Loc.
func (l Loc) IsZero() bool { return l.n == nil }

// Stat is the inode's Stat with st_dev filled in.
func (l Loc) Stat() Stat {
	st := l.n.Stat()
	st.Dev = l.m.dev
	return st
}

func (l Loc) ino() uint64 {
	ino, _ := identityOf(l.n)
	return ino
}

func (l Loc) mode() uint32 {
	_, typ := identityOf(l.n)
	return typ
}

func (l Loc) isDir() bool { return l.mode() == linux.S_IFDIR }
func (l Loc) same(o Loc) bool {
	return l.m == o.m && l.ino() == o.ino()
}
func (l Loc) isMountRoot() bool { return l.ino() == l.m.rootIno }

// New makes a VFS whose root is root's root directory; cred is who the
// application runs as.
func New(root Filesystem, cred Cred) *VFS {
	v := &VFS{cred: cred, mounts: map[mountKey]*Mount{}, devs: map[Filesystem]uint64{}}
	v.root = v.newMount(root, nil, nil)
	return v
}

// newMount gives each filesystem one device number, shared by all its
// mounts, as Linux does. Called with mu held (or before v is shared).
func (v *VFS) newMount(f Filesystem, parent *Mount, point Dir) *Mount {
	dev, ok := v.devs[f]
	if !ok {
		v.nextDev++
		dev = linux.Makedev(0, v.nextDev) // anonymous devices are major 0
		v.devs[f] = dev
	}
	r := f.Root()
	ino, _ := identityOf(r)
	return &Mount{fs: f, root: r, rootIno: ino, dev: dev, parent: parent, point: point}
}

// Root is the root directory. No lock: the root mount is New's and
// never changes.
func (v *VFS) Root() Loc {
	return Loc{v.root, v.root.root}
}

// Mount mounts f on the directory at path. Mounting on a mount point
// stacks the new mount on top.
func (v *VFS) Mount(start Loc, path string, f Filesystem) error {
	at, err := v.Lookup(start, path, true)
	if err != nil {
		return err
	}
	if !at.isDir() {
		return syscall.ENOTDIR
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	k := mountKey{at.m, at.ino()}
	if _, ok := v.mounts[k]; ok {
		return syscall.EBUSY // raced with another mount here
	}
	v.pointBits.Or(1 << (k.ino % 64))
	v.mounts[k] = v.newMount(f, at.m, at.n.(Dir))
	return nil
}

// Unmount removes the mount whose root is at path. EINVAL if path is not
// a mount root, EBUSY if something is mounted inside it.
func (v *VFS) Unmount(start Loc, path string) error {
	at, err := v.Lookup(start, path, true)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	m := at.m
	if !at.isMountRoot() || m.parent == nil {
		return syscall.EINVAL
	}
	for k := range v.mounts {
		if k.m == m {
			return syscall.EBUSY
		}
	}
	delete(v.mounts, mountKey{m.parent, m.point.Stat().Ino})
	return nil
}

// crossDown moves from a mount point to the root of what is mounted there.
func (v *VFS) crossDown(l Loc) Loc {
	if !v.maybePoint(l) {
		return l
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	for {
		m, ok := v.mounts[mountKey{l.m, l.ino()}]
		if !ok {
			return l
		}
		l = Loc{m, m.root}
	}
}

// isMountPoint reports whether something is mounted on l.
func (v *VFS) isMountPoint(l Loc) bool {
	if !v.maybePoint(l) {
		return false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	_, ok := v.mounts[mountKey{l.m, l.ino()}]
	return ok
}

// maybePoint is false when nothing is mounted on l. A walk racing with a
// Mount may miss the new mount, as if it had walked just before it.
func (v *VFS) maybePoint(l Loc) bool {
	return v.pointBits.Load()&(1<<(l.ino()%64)) != 0
}

// start turns the zero Loc into the root.
func (v *VFS) start(l Loc) Loc {
	if l.IsZero() {
		return v.Root()
	}
	return l
}

// walker resolves one path, counting the symlinks it follows.
type walker struct {
	v     *VFS
	root  Loc
	links int
}

func (v *VFS) walker() *walker { return &walker{v: v, root: v.Root()} }

// parent resolves all but the last component of path. last is "." when
// path names the start or root itself ("/", "."); trailing reports a
// trailing slash (which demands a directory).
func (w *walker) parent(start Loc, path string) (dir Loc, last string, trailing bool, err error) {
	if path == "" {
		return Loc{}, "", false, syscall.ENOENT
	}
	if len(path) >= linux.PATH_MAX {
		return Loc{}, "", false, syscall.ENAMETOOLONG
	}
	cur := start
	if path[0] == '/' {
		cur = w.root
	}
	trailing = path[len(path)-1] == '/'
	path = strings.Trim(path, "/")
	for path != "" {
		var c string
		c, path, _ = strings.Cut(path, "/")
		path = strings.TrimLeft(path, "/")
		if c == "" {
			continue
		}
		if len(c) > linux.NAME_MAX {
			return Loc{}, "", false, syscall.ENAMETOOLONG
		}
		// Every directory on the way needs search permission.
		if err := w.searchable(cur); err != nil {
			return Loc{}, "", false, err
		}
		if path == "" {
			return cur, c, trailing, nil
		}
		next, err := w.step(cur, c)
		if err == nil {
			next, err = w.follow(cur, next, true)
		}
		if err != nil {
			return Loc{}, "", false, err
		}
		cur = next
	}
	if err := w.searchable(cur); err != nil {
		return Loc{}, "", false, err
	}
	return cur, ".", trailing, nil
}

// resolve resolves the whole path; follow says whether a final symlink
// is followed (a trailing slash always follows it).
func (w *walker) resolve(start Loc, path string, follow bool) (Loc, error) {
	dir, last, trailing, err := w.parent(start, path)
	if err != nil {
		return Loc{}, err
	}
	n, err := w.step(dir, last)
	if err != nil {
		return Loc{}, err
	}
	if n, err = w.follow(dir, n, follow || trailing); err != nil {
		return Loc{}, err
	}
	if trailing && !n.isDir() {
		return Loc{}, syscall.ENOTDIR
	}
	return n, nil
}

// searchable checks that l is a directory the caller may search.
func (w *walker) searchable(l Loc) error {
	if w.v.cred.Uid == 0 { // root may search any directory: the type is enough
		if !l.isDir() {
			return syscall.ENOTDIR
		}
		return nil
	}
	st := l.n.Stat()
	if st.Mode&linux.S_IFMT != linux.S_IFDIR {
		return syscall.ENOTDIR
	}
	return w.v.permit(st, linux.X_OK)
}

// step looks up one component in dir (already checked searchable).
func (w *walker) step(dir Loc, name string) (Loc, error) {
	switch name {
	case ".":
		return dir, nil
	case "..":
		return w.dotdot(dir)
	}
	d, ok := dir.n.(Dir)
	if !ok {
		return Loc{}, syscall.ENOTDIR
	}
	n, err := d.Lookup(name)
	if err != nil {
		return Loc{}, err
	}
	return w.v.crossDown(Loc{dir.m, n}), nil
}

// dotdot goes up, leaving mounts through their mount points and never
// above the root.
func (w *walker) dotdot(dir Loc) (Loc, error) {
	for {
		if dir.same(w.root) {
			return dir, nil
		}
		if !dir.isMountRoot() || dir.m.parent == nil {
			break
		}
		dir = Loc{dir.m.parent, dir.m.point}
	}
	d, ok := dir.n.(Dir)
	if !ok {
		return Loc{}, syscall.ENOTDIR
	}
	p, err := d.Lookup("..")
	if err != nil {
		return Loc{}, err
	}
	return Loc{dir.m, p}, nil
}

// follow resolves n if it is a symlink and follow is set; dir is the
// directory that holds it (relative targets start there).
func (w *walker) follow(dir, n Loc, follow bool) (Loc, error) {
	if !follow || n.mode() != linux.S_IFLNK {
		return n, nil
	}
	w.links++
	if w.links > SymloopMax {
		return Loc{}, syscall.ELOOP
	}
	if fl, ok := n.n.(FileLink); ok {
		if l, ok := fl.FileLoc(); ok {
			return l, nil
		}
		return n, nil // the caller opens what it stands for
	}
	s, ok := n.n.(Symlink)
	if !ok {
		return Loc{}, syscall.EIO
	}
	target, err := s.Readlink()
	if err != nil {
		return Loc{}, err
	}
	return w.resolve(dir, target, true)
}

// permit checks the caller may access a file with attributes st in the
// ways want (linux.R_OK|linux.W_OK|linux.X_OK). Root may do anything except execute a
// file with no x bit.
func (v *VFS) permit(st Stat, want uint32) error {
	if v.cred.Uid == 0 {
		if want&linux.X_OK != 0 && st.Mode&linux.S_IFMT != linux.S_IFDIR && st.Mode&0o111 == 0 {
			return syscall.EACCES
		}
		return nil
	}
	var bits uint32
	switch {
	case v.cred.Uid == st.Uid:
		bits = st.Mode >> 6 & 7
	case v.cred.Gid == st.Gid:
		bits = st.Mode >> 3 & 7
	default:
		bits = st.Mode & 7
	}
	if want&^bits != 0 {
		return syscall.EACCES
	}
	return nil
}

// Lookup resolves path from start (the working directory or a dirfd's
// Loc; the zero Loc is the root). follow says whether a final symlink is
// followed. Use it for chdir, fchdir targets and mount points.
func (v *VFS) Lookup(start Loc, path string, follow bool) (Loc, error) {
	return v.walker().resolve(v.start(start), path, follow)
}

// PathOf is the absolute path of the directory l (getcwd). It searches
// each parent directory for the child, so it costs a directory scan per
// level. ENOENT if l has been removed, ENOTDIR if l is not a directory
// (a non-directory has no unique parent: record its name when opening).
func (v *VFS) PathOf(l Loc) (string, error) {
	w := v.walker()
	l = v.start(l)
	var parts []string
	for depth := 0; ; depth++ {
		for !l.same(w.root) && l.isMountRoot() && l.m.parent != nil {
			l = Loc{l.m.parent, l.m.point}
		}
		if l.same(w.root) {
			break
		}
		if depth > linux.PATH_MAX/2 {
			return "", syscall.ENAMETOOLONG
		}
		p, err := w.dotdot(l)
		if err != nil {
			return "", err
		}
		if p.same(l) {
			return "", syscall.ENOENT // a root not reachable from ours
		}
		name, err := findName(p.n.(Dir), l.ino())
		if err != nil {
			return "", err
		}
		parts = append(parts, name)
		l = p
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	if b.Len() == 0 {
		return "/", nil
	}
	if b.Len() >= linux.PATH_MAX {
		return "", syscall.ENAMETOOLONG
	}
	return b.String(), nil
}

func findName(d Dir, ino uint64) (string, error) {
	var cur uint64
	for {
		ents, err := d.ReadDir(cur, 128)
		if err != nil {
			return "", err
		}
		if len(ents) == 0 {
			return "", syscall.ENOENT
		}
		for _, e := range ents {
			if e.Ino == ino {
				return e.Name, nil
			}
			cur = e.Next
		}
	}
}

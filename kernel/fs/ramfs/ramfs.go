// Package ramfs is the writable in-memory filesystem (tmpfs-like).
//
// File data lives in 4 KiB pages kept in a map, so sparse files cost only
// the pages written. Directories keep a map for lookups and a slice in
// insertion order for getdents: each entry gets a sequence number when
// it is added, and a directory cursor is the last sequence number read,
// so cursors survive inserts and deletes.
//
// One mutex per filesystem guards everything. That keeps rename, link
// and remove trivially atomic; the price is that I/O on different files
// of one ramfs does not run in parallel, which a single-application
// unikernel can afford.
//
// # Space
//
// Options.MaxBytes bounds the filesystem. It is charged 4 KiB per data
// page, 256 bytes per inode, 64 bytes plus the name per directory entry,
// and the length of symlink targets; going over gives ENOSPC (a write
// that fills the filesystem returns a short count first). Space of a file
// that is removed while open is returned when it is closed. Options.Room,
// if set, is asked as well before anything is charged, so that the
// filesystem also stops at what the machine can spare (ENOSPC when RAM
// runs low, as tmpfs does).
package ramfs

import (
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

const (
	pageSize  = 4096
	inodeCost = 256
	entryCost = 64
	// maxFileSize bounds offsets (EFBIG beyond), like s_maxbytes.
	maxFileSize = 1 << 44
)

// Options configure a ramfs.
type Options struct {
	MaxBytes int64            // 0: unlimited
	Clock    func() time.Time // timestamps; nil: time.Now
	// Room reports whether the machine can spare n more bytes; nil:
	// always. It is called with the filesystem locked.
	Room func(n int64) bool
}

// FS is one ramfs instance.
type FS struct {
	mu      sync.Mutex
	max     int64
	room    func(int64) bool
	clock   func() time.Time
	used    int64
	nextIno uint64
	root    *node
}

// New makes an empty ramfs whose root is a directory with mode 0755
// owned by root.
func New(o Options) *FS {
	f := &FS{max: o.MaxBytes, room: o.Room, clock: o.Clock}
	if f.clock == nil {
		f.clock = time.Now
	}
	f.root = f.newNode(linux.S_IFDIR|0o755, 0, 0)
	f.root.parent = f.root
	f.root.nlink = 2
	return f
}

// Root implements fs.Filesystem.
func (f *FS) Root() fs.Dir { return f.root }

// Usage reports the bytes charged and the limit (0: none), for statfs.
func (f *FS) Usage() (used, limit int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used, f.max
}

// charge takes n bytes of space, or fails with ENOSPC.
func (f *FS) charge(n int64) error {
	if f.max > 0 && f.used+n > f.max || n > 0 && f.room != nil && !f.room(n) {
		return syscall.ENOSPC
	}
	f.used += n
	return nil
}

type page = [pageSize]byte

// node is every kind of inode; mode says which fields matter.
type node struct {
	fs    *FS
	ino   uint64
	typ   uint32 // mode's S_IFMT bits, which never change (read unlocked)
	mode  uint32
	uid   uint32
	gid   uint32
	rdev  uint64
	nlink uint32
	atime time.Time
	mtime time.Time
	ctime time.Time
	freed bool

	// regular files
	size  int64
	pages map[int64]*page
	opens int

	// directories
	ents   map[string]*entry
	order  []*entry // by seq, ascending
	seq    uint64   // last sequence number given out
	parent *node

	// symlinks
	target string
}

type entry struct {
	name string
	n    *node
	seq  uint64
}

var (
	_ fs.Dir      = (*node)(nil)
	_ fs.Symlink  = (*node)(nil)
	_ fs.Appender = (*handle)(nil)
)

func (f *FS) newNode(mode, uid, gid uint32) *node {
	f.nextIno++
	now := f.clock()
	n := &node{fs: f, ino: f.nextIno, typ: mode & linux.S_IFMT, mode: mode, uid: uid, gid: gid, nlink: 1,
		atime: now, mtime: now, ctime: now}
	switch mode & linux.S_IFMT {
	case linux.S_IFDIR:
		n.ents = map[string]*entry{}
		n.nlink = 2
	case linux.S_IFREG:
		n.pages = map[int64]*page{}
	}
	return n
}

func (n *node) isDir() bool { return n.mode&linux.S_IFMT == linux.S_IFDIR }

// Stat implements fs.Inode.
func (n *node) Stat() fs.Stat {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	st := fs.Stat{Ino: n.ino, Mode: n.mode, Nlink: n.nlink, Uid: n.uid, Gid: n.gid,
		Rdev: n.rdev, Blksize: pageSize, Atime: n.atime, Mtime: n.mtime, Ctime: n.ctime}
	switch n.mode & linux.S_IFMT {
	case linux.S_IFREG:
		st.Size = n.size
		st.Blocks = int64(len(n.pages)) * (pageSize / 512)
	case linux.S_IFDIR:
		st.Size = int64(len(n.ents)+2) * 20 // what tmpfs reports
	case linux.S_IFLNK:
		st.Size = int64(len(n.target))
	}
	return st
}

// Identity implements fs.Identity: the inode number and file type are
// fixed at creation, so no lock is needed.
func (n *node) Identity() (uint64, uint32) { return n.ino, n.typ }

// SetAttr implements fs.Inode.
func (n *node) SetAttr(a fs.Attr) error {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock()
	if a.Mask&fs.SetSize != 0 {
		if n.mode&linux.S_IFMT != linux.S_IFREG {
			return syscall.EINVAL
		}
		if err := n.truncate(a.Size); err != nil {
			return err
		}
		n.mtime = now
	}
	if a.Mask&fs.SetMode != 0 {
		n.mode = n.mode&linux.S_IFMT | a.Mode&0o7777
	}
	if a.Mask&fs.SetUid != 0 {
		n.uid = a.Uid
	}
	if a.Mask&fs.SetGid != 0 {
		n.gid = a.Gid
	}
	switch {
	case a.Mask&fs.SetAtimeNow != 0:
		n.atime = now
	case a.Mask&fs.SetAtime != 0:
		n.atime = a.Atime
	}
	switch {
	case a.Mask&fs.SetMtimeNow != 0:
		n.mtime = now
	case a.Mask&fs.SetMtime != 0:
		n.mtime = a.Mtime
	}
	n.ctime = now
	return nil
}

// truncate sets a regular file's size, dropping whole pages past the end
// and zeroing the tail of the last one so a later extension reads zeros.
func (n *node) truncate(size int64) error {
	if size < 0 {
		return syscall.EINVAL
	}
	if size > maxFileSize {
		return syscall.EFBIG
	}
	if size < n.size {
		keep := (size + pageSize - 1) / pageSize
		for i := range n.pages {
			if i >= keep {
				delete(n.pages, i)
				n.fs.used -= pageSize
			}
		}
		if off := size % pageSize; off != 0 {
			if p := n.pages[size/pageSize]; p != nil {
				clear(p[off:])
			}
		}
	}
	n.size = size
	return nil
}

// Open implements fs.Inode.
func (n *node) Open(flags int) (fs.Handle, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	switch n.mode & linux.S_IFMT {
	case linux.S_IFREG:
		n.opens++
	case linux.S_IFDIR, linux.S_IFLNK:
	default:
		// Device nodes and sockets have no driver here, as on Linux
		// (ENXIO); FIFOs need the posix layer's pipes.
		return nil, syscall.ENXIO
	}
	return &handle{n: n, noatime: flags&linux.O_NOATIME != 0}, nil
}

// release frees a node's space once it has no links and no opens.
func (n *node) release() {
	if n.nlink > 0 || n.opens > 0 || n.freed {
		return
	}
	n.freed = true
	n.fs.used -= inodeCost + int64(len(n.pages))*pageSize + int64(len(n.target))
	n.pages = nil
	n.size = 0
}

// handle is an open ramfs file.
type handle struct {
	n       *node
	closed  bool
	noatime bool // O_NOATIME: reads leave the access time alone
}

func (h *handle) ReadAt(p []byte, off int64) (int, error) {
	n := h.n
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if h.closed {
		return 0, syscall.EBADF // a removed file's pages may be gone
	}
	if n.mode&linux.S_IFMT != linux.S_IFREG {
		return 0, syscall.EISDIR
	}
	if off >= n.size {
		return 0, nil
	}
	if rest := n.size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	done := 0
	for done < len(p) {
		o := off + int64(done)
		pg, in := o/pageSize, int(o%pageSize)
		c := min(len(p)-done, pageSize-in)
		if pp := n.pages[pg]; pp != nil {
			copy(p[done:done+c], pp[in:])
		} else {
			clear(p[done : done+c]) // a hole
		}
		done += c
	}
	if !h.noatime {
		n.atime = n.fs.clock()
	}
	return done, nil
}

func (h *handle) WriteAt(p []byte, off int64) (int, error) {
	n := h.n
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if h.closed {
		return 0, syscall.EBADF // a removed file's pages may be gone
	}
	return n.write(p, off)
}

// Append implements fs.Appender: the end is read and written under one
// lock so concurrent appenders never overwrite each other.
func (h *handle) Append(p []byte) (int, int64, error) {
	n := h.n
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if h.closed {
		return 0, 0, syscall.EBADF
	}
	w, err := n.write(p, n.size)
	return w, n.size, err
}

func (n *node) write(p []byte, off int64) (int, error) {
	if n.mode&linux.S_IFMT != linux.S_IFREG {
		return 0, syscall.EINVAL
	}
	if off >= maxFileSize {
		return 0, syscall.EFBIG
	}
	if rest := maxFileSize - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	done := 0
	var err error
	for done < len(p) {
		o := off + int64(done)
		pg, in := o/pageSize, int(o%pageSize)
		pp := n.pages[pg]
		if pp == nil {
			if err = n.fs.charge(pageSize); err != nil {
				break
			}
			pp = new(page)
			n.pages[pg] = pp
		}
		done += copy(pp[in:], p[done:])
	}
	if end := off + int64(done); end > n.size {
		n.size = end
	}
	if done > 0 {
		now := n.fs.clock()
		n.mtime, n.ctime = now, now
		return done, nil
	}
	return 0, err
}

func (h *handle) Close() error {
	n := h.n
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if h.closed {
		return syscall.EBADF
	}
	h.closed = true
	if n.mode&linux.S_IFMT == linux.S_IFREG {
		n.opens--
		n.release()
	}
	return nil
}

// Readlink implements fs.Symlink.
func (n *node) Readlink() (string, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.mode&linux.S_IFMT != linux.S_IFLNK {
		return "", syscall.EINVAL
	}
	n.atime = n.fs.clock()
	return n.target, nil
}

// dir checks n is a live directory (a removed one has no entries and
// takes none).
func (n *node) dir() error {
	if !n.isDir() {
		return syscall.ENOTDIR
	}
	if n.nlink == 0 {
		return syscall.ENOENT
	}
	return nil
}

// Lookup implements fs.Dir.
func (n *node) Lookup(name string) (fs.Inode, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if name == ".." && n.isDir() {
		return n.parent, nil // even from a removed directory, as Linux
	}
	if err := n.dir(); err != nil {
		return nil, err
	}
	e, ok := n.ents[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	return e.n, nil
}

// add links c into n under name with the next sequence number.
func (n *node) add(name string, c *node) {
	n.seq++
	e := &entry{name: name, n: c, seq: n.seq}
	n.ents[name] = e
	n.order = append(n.order, e)
	if c.isDir() {
		c.parent = n
		n.nlink++
	}
	now := n.fs.clock()
	n.mtime, n.ctime = now, now
}

// drop unlinks name from n, leaving c's link count to the caller.
func (n *node) drop(e *entry) {
	delete(n.ents, e.name)
	i := sort.Search(len(n.order), func(i int) bool { return n.order[i].seq >= e.seq })
	n.order = append(n.order[:i], n.order[i+1:]...)
	if e.n.isDir() {
		n.nlink--
	}
	now := n.fs.clock()
	n.mtime, n.ctime = now, now
}

// Create implements fs.Dir.
func (n *node) Create(name string, a fs.CreateAttr) (fs.Inode, error) {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := n.dir(); err != nil {
		return nil, err
	}
	if _, ok := n.ents[name]; ok {
		return nil, syscall.EEXIST
	}
	switch a.Mode & linux.S_IFMT {
	case linux.S_IFREG, linux.S_IFDIR, linux.S_IFLNK, linux.S_IFIFO, linux.S_IFSOCK, linux.S_IFCHR, linux.S_IFBLK:
	default:
		return nil, syscall.EINVAL
	}
	cost := int64(inodeCost + entryCost + len(name) + len(a.Target))
	if err := f.charge(cost); err != nil {
		return nil, err
	}
	c := f.newNode(a.Mode, a.Uid, a.Gid)
	c.rdev = a.Rdev
	c.target = a.Target
	n.add(name, c)
	return c, nil
}

// Link implements fs.Dir.
func (n *node) Link(name string, target fs.Inode) error {
	f := n.fs
	t, ok := target.(*node)
	if !ok || t.fs != f {
		return syscall.EXDEV
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := n.dir(); err != nil {
		return err
	}
	if t.isDir() {
		return syscall.EPERM
	}
	if t.nlink == 0 {
		return syscall.ENOENT
	}
	if _, ok := n.ents[name]; ok {
		return syscall.EEXIST
	}
	if err := f.charge(int64(entryCost + len(name))); err != nil {
		return err
	}
	t.nlink++
	t.ctime = f.clock()
	n.add(name, t)
	return nil
}

// unlinked drops one link of c (removed from a directory) and frees it
// when that was the last.
func (c *node) unlinked() {
	f := c.fs
	f.used -= int64(entryCost)
	if c.isDir() {
		c.nlink = 0 // its "." and its entry go together
	} else {
		c.nlink--
	}
	c.ctime = f.clock()
	c.release()
}

// Remove implements fs.Dir.
func (n *node) Remove(name string, dir bool) error {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := n.dir(); err != nil {
		return err
	}
	e, ok := n.ents[name]
	if !ok {
		return syscall.ENOENT
	}
	c := e.n
	switch {
	case dir && !c.isDir():
		return syscall.ENOTDIR
	case !dir && c.isDir():
		return syscall.EISDIR
	case dir && len(c.ents) > 0:
		return syscall.ENOTEMPTY
	}
	n.drop(e)
	f.used -= int64(len(name))
	c.unlinked()
	return nil
}

// Rename implements fs.Dir.
func (n *node) Rename(oldName string, newDir fs.Dir, newName string, flags int) error {
	f := n.fs
	nd, ok := newDir.(*node)
	if !ok || nd.fs != f {
		return syscall.EXDEV
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := n.dir(); err != nil {
		return err
	}
	if err := nd.dir(); err != nil {
		return err
	}
	se, ok := n.ents[oldName]
	if !ok {
		return syscall.ENOENT
	}
	src := se.n
	de, dstExists := nd.ents[newName]
	if flags&linux.RENAME_EXCHANGE != 0 {
		if !dstExists {
			return syscall.ENOENT
		}
		return n.exchange(se, nd, de)
	}
	if dstExists && flags&linux.RENAME_NOREPLACE != 0 {
		return syscall.EEXIST
	}
	if src.isDir() && nd.below(src) {
		return syscall.EINVAL
	}
	if dstExists {
		dst := de.n
		if dst == src {
			return nil
		}
		switch {
		case src.isDir() && !dst.isDir():
			return syscall.ENOTDIR
		case !src.isDir() && dst.isDir():
			return syscall.EISDIR
		case dst.isDir() && len(dst.ents) > 0:
			return syscall.ENOTEMPTY
		}
		nd.drop(de)
		f.used -= int64(len(newName))
		dst.unlinked()
	}
	n.drop(se)
	nd.add(newName, src)
	f.used += int64(len(newName) - len(oldName)) // never fails: no new space
	src.ctime = f.clock()
	return nil
}

// exchange swaps the nodes of two entries (RENAME_EXCHANGE); each entry
// keeps its place in its directory.
func (n *node) exchange(se *entry, nd *node, de *entry) error {
	a, b := se.n, de.n
	if a == b {
		return nil
	}
	if (a.isDir() && nd.below(a)) || (b.isDir() && n.below(b)) {
		return syscall.EINVAL
	}
	se.n, de.n = b, a
	if n != nd {
		if a.isDir() {
			a.parent = nd
			n.nlink--
			nd.nlink++
		}
		if b.isDir() {
			b.parent = n
			nd.nlink--
			n.nlink++
		}
	}
	now := n.fs.clock()
	for _, x := range []*node{a, b, n, nd} {
		x.ctime = now
	}
	n.mtime, nd.mtime = now, now
	return nil
}

// below reports whether n is d or inside it.
func (n *node) below(d *node) bool {
	for x := n; ; x = x.parent {
		if x == d {
			return true
		}
		if x.parent == x || x.parent == nil {
			return false
		}
	}
}

// ReadDir implements fs.Dir. The cursor is the sequence number of the
// last entry read.
func (n *node) ReadDir(cursor uint64, max int) ([]fs.Dirent, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.isDir() {
		return nil, syscall.ENOTDIR
	}
	i := sort.Search(len(n.order), func(i int) bool { return n.order[i].seq > cursor })
	var out []fs.Dirent
	for ; i < len(n.order) && len(out) < max; i++ {
		e := n.order[i]
		out = append(out, fs.Dirent{Name: e.name, Ino: e.n.ino, Type: fs.DirentType(e.n.mode), Next: e.seq})
	}
	n.atime = n.fs.clock()
	return out, nil
}

// Seed makes the directory or regular file (mode's type bits: S_IFDIR or
// S_IFREG) at the absolute path name, owned by root, with body as a
// file's contents, unless something is there already: a directory asked
// for where one exists keeps its own mode (ENOTDIR where something else
// is), and a file asked for where anything exists is left alone. Its
// parent must exist. It goes straight to the tree, without the VFS's
// walk, open, write and close: the kernel seeds its default tree (/tmp,
// /etc/passwd, ...) at every boot, and under TCG every code path a boot
// takes for the first time costs translation time. It follows no
// symbolic links and knows nothing of mounts, so it is for a tree its
// caller made itself and has mounted nothing on.
func (f *FS) Seed(name string, mode uint32, body []byte) error {
	typ := mode & linux.S_IFMT
	if typ != linux.S_IFDIR && typ != linux.S_IFREG || typ == linux.S_IFDIR && len(body) > 0 {
		return syscall.EINVAL
	}
	if len(name) < 2 || name[0] != '/' || name[len(name)-1] == '/' {
		return syscall.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dir, rest := f.root, name[1:]
	for {
		i := 0
		for i < len(rest) && rest[i] != '/' {
			i++
		}
		elem := rest[:i]
		if elem == "" || elem == "." || elem == ".." {
			return syscall.EINVAL
		}
		e, ok := dir.ents[elem]
		if i < len(rest) { // a directory on the way
			if !ok {
				return syscall.ENOENT
			}
			if !e.n.isDir() {
				return syscall.ENOTDIR
			}
			dir, rest = e.n, rest[i+1:]
			continue
		}
		if ok {
			if typ == linux.S_IFDIR && !e.n.isDir() {
				return syscall.ENOTDIR
			}
			return nil
		}
		if err := f.charge(int64(inodeCost + entryCost + len(elem))); err != nil {
			return err
		}
		c := f.newNode(mode, 0, 0)
		dir.add(elem, c)
		if len(body) > 0 {
			if n, err := c.write(body, 0); err != nil || n < len(body) {
				if err == nil {
					err = syscall.ENOSPC
				}
				return err
			}
		}
		return nil
	}
}

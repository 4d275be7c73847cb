// Package p9fs mounts a host directory shared over 9P2000.L (QEMU's
// virtio-9p, through kernel/drivers/virtio/ninep) as a VFS filesystem.
//
// # Cache mode
//
// Nothing is cached but names, attributes and read-ahead, and those
// briefly; every write goes to the host (split into messages of the
// negotiated msize), and directory listings are read from the host each
// time.
//
//   - Data: a file the host changes between two opens is read anew; a
//     file the host changes while it is open is read as it is at each
//     read or, when read sequentially in pieces smaller than a read-ahead
//     window (readahead.go), as it was at most raTTL earlier. A write or
//     truncate through this mount is read back at once.
//   - Attributes (what stat shows) are reused for attrTTL after the host
//     gave them (a directory's for lookupTTL: every path through it
//     checks them) and fetched again on every open and after every change
//     made through this mount, so a stat right after the host changed a
//     file may show the old size for that long.
//   - Names: a name found in a directory is reused for lookupTTL (at most
//     maxNames of them, the oldest dropped first) before it is walked on
//     the host again. Creating, removing, renaming or linking through
//     this mount updates it at once, so only a change the host makes
//     behind the kernel's back is seen late: a name the host removed or
//     renamed is still found for up to lookupTTL (what an open of it
//     reads is whatever the host has at that path then, since QEMU's fids
//     name paths). Without this, every component of every path costs a
//     walk and a getattr on the host, and QEMU's local backend pays for
//     each in proportion to the path's depth.
//
// Because nothing is buffered in the guest, what a write returned is in
// the host's file (QEMU's page cache) and survives the VM being killed;
// fsync (Tfsync) is what makes it survive the host crashing too.
//
// # A hostile host
//
// Every reply is bounds-checked by package wire. Names from directory
// listings that could not be a directory entry ("", ".", "..", "/" or
// NUL inside) are skipped. ".." is never sent to the host: each directory
// remembers the directory it was looked up from, so walking up leaves
// the share only through the mount point, as the VFS resolves symlink
// targets in the guest's own tree (a symlink to /etc names the guest's
// /etc, never the host's). The kind of a file (directory, symlink, other)
// is fixed when the kernel first sees it: a host that swaps a file for a
// directory behind the kernel's back gets errors, not a confused VFS.
// Directory reading keeps a bounded amount of state whatever the
// directory's size.
package p9fs

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// attrTTL is how long attributes from the host are reused (see Cache
// mode above).
const attrTTL = 20 * time.Millisecond

// lookupTTL is how long a name found on the host is reused, and maxNames
// how many names are kept at most (each holds a fid on the host).
const (
	lookupTTL = time.Second
	maxNames  = 1024
)

// FS is a mounted 9P export.
type FS struct {
	c    *Client
	ro   bool
	root *node

	// The lookup cache (see Cache mode): names by directory inode and
	// name, and the order they were remembered in, a ring of maxNames
	// slots whose oldest is replaced first.
	namesMu sync.Mutex
	names   map[nameKey]dentry
	order   []nameKey
	orderAt int
}

// nameKey is a name in the directory with inode number dir.
type nameKey struct {
	dir  uint64
	name string
}

// dentry is a remembered name: its node, when it was found, and its
// slot in FS.order.
type dentry struct {
	n    *node
	at   time.Time
	slot int
}

// Options configure a mount.
type Options struct {
	ReadOnly bool   // refuse every change with EROFS
	Aname    string // the export to attach to ("" is the device's)
}

// New attaches to the server behind t and returns the filesystem.
func New(t Transport, o Options) (*FS, error) {
	c, err := NewClient(t)
	if err != nil {
		return nil, err
	}
	fid, _, err := c.Attach(o.Aname)
	if err != nil {
		return nil, err
	}
	f := &FS{c: c, ro: o.ReadOnly}
	a, err := c.Getattr(fid)
	if err != nil {
		c.Clunk(fid)
		return nil, err
	}
	if a.Mode&linux.S_IFMT != linux.S_IFDIR {
		c.Clunk(fid)
		return nil, syscall.ENOTDIR
	}
	r := &node{fs: f, fid: fid, kind: linux.S_IFDIR, ino: a.Qid.Path}
	r.parent = r
	r.setAttr(a)
	f.root = r
	return f, nil
}

// Root is the export's root directory.
func (f *FS) Root() fs.Dir { return f.root }

// Msize is the negotiated message size.
func (f *FS) Msize() uint32 { return f.c.msize }

// ReadOnly reports whether the mount refuses changes.
func (f *FS) ReadOnly() bool { return f.ro }

// StatFS describes the host filesystem behind the export.
func (f *FS) StatFS() (fs.StatFS, error) {
	s, err := f.c.Statfs(f.root.fid)
	if err != nil {
		return fs.StatFS{}, err
	}
	return fs.StatFS{
		Type: linux.V9FS_MAGIC, Bsize: int64(min(s.Bsize, 1<<30)),
		Blocks: s.Blocks, Bfree: min(s.Bfree, s.Blocks), Bavail: min(s.Bavail, s.Blocks),
		Files: s.Files, Ffree: min(s.Ffree, s.Files), Namelen: int64(min(s.Namelen, linux.NAME_MAX)),
		ReadOnly: f.ro,
	}, nil
}

// node is one file of the export, with a fid walked to it (never
// opened). The garbage collector's finalizer clunks the fid once the VFS
// forgets the node.
type node struct {
	fs   *FS
	fid  uint32
	kind uint32 // linux.S_IFDIR, S_IFLNK, or another type, fixed
	ino  uint64

	gen atomic.Uint64 // data changes made through this mount (see changed)

	mu     sync.Mutex
	parent *node // for ".."; the root is its own
	// pre is a fid opened O_RDWR by the Tlcreate that made the file,
	// kept for the open that follows a create (saving a clone, an open
	// and a clunk); hasPre says it is there.
	pre    uint32
	hasPre bool
	st     fs.Stat
	stAt   time.Time
	// Directory reading: an opened fid, and where the host's cursors
	// are for the VFS's cursors (bounded, see readDir).
	dirFid  uint32
	dirOpen bool
	resume  map[uint64]uint64
	// The rest of the last Treaddir's batch: entries not handed out yet
	// (after cursor pendAt), their host offsets, and the host offset and
	// cursor after the batch's last entry; pendEOF: the host said end.
	pend        []fs.Dirent
	pendOff     map[uint64]uint64
	pendAt      uint64
	pendLast    uint64
	pendLastIdx uint64
	pendEOF     bool
}

func (f *FS) newNode(fid uint32, parent *node, a wire.Attr) *node {
	kind := a.Mode & linux.S_IFMT
	n := &node{fs: f, fid: fid, kind: kind, ino: a.Qid.Path, parent: parent}
	n.setAttr(a)
	runtime.SetFinalizer(n, (*node).release)
	return n
}

func (n *node) release() {
	n.fs.c.clunkLater(n.fid)
	if n.hasPre {
		n.fs.c.clunkLater(n.pre)
	}
	if n.dirOpen {
		n.fs.c.clunkLater(n.dirFid)
	}
}

func clampTime(t wire.Time) time.Time {
	sec := int64(min(t.Sec, math.MaxInt64/2))
	return time.Unix(sec, int64(min(t.Nsec, 999_999_999)))
}

// setAttr records attributes from the host (n.mu held or n unshared).
func (n *node) setAttr(a wire.Attr) {
	n.st = fs.Stat{
		Ino:     n.ino,
		Mode:    n.kind | a.Mode&0o7777,
		Nlink:   uint32(min(a.Nlink, math.MaxUint32)),
		Uid:     a.UID,
		Gid:     a.GID,
		Rdev:    a.Rdev,
		Size:    int64(min(a.Size, math.MaxInt64)),
		Blksize: int32(min(max(a.Blksize, 512), 1<<20)),
		Blocks:  int64(min(a.Blocks, math.MaxInt64)),
		Atime:   clampTime(a.Atime),
		Mtime:   clampTime(a.Mtime),
		Ctime:   clampTime(a.Ctime),
	}
	n.stAt = time.Now()
}

func (n *node) invalidate() {
	n.mu.Lock()
	n.stAt = time.Time{}
	n.mu.Unlock()
}

// changed records a change to the file's data made through this mount:
// read-ahead windows fetched before it are not used after it.
func (n *node) changed() { n.gen.Add(1) }

// Stat reports the attributes, from the host unless fetched within
// attrTTL (lookupTTL for a directory, whose attributes every path
// through it checks, and which change through this mount invalidates).
// If the host fails to answer, the last known ones.
func (n *node) Stat() fs.Stat {
	ttl := attrTTL
	if n.kind == linux.S_IFDIR {
		ttl = lookupTTL
	}
	n.mu.Lock()
	fresh := !n.stAt.IsZero() && time.Since(n.stAt) < ttl
	st := n.st
	n.mu.Unlock()
	if fresh {
		return st
	}
	a, err := n.fs.c.Getattr(n.fid)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err == nil {
		n.setAttr(a)
	}
	return n.st
}

func (n *node) writable() error {
	if n.fs.ro {
		return syscall.EROFS
	}
	return nil
}

func timeOf(t time.Time) wire.Time {
	if t.Before(time.Unix(0, 0)) {
		return wire.Time{}
	}
	return wire.Time{Sec: uint64(t.Unix()), Nsec: uint64(t.Nanosecond())}
}

// SetAttr changes attributes on the host.
func (n *node) SetAttr(a fs.Attr) error {
	if err := n.writable(); err != nil {
		return err
	}
	var valid uint32
	if a.Mask&fs.SetMode != 0 {
		valid |= wire.SetattrMode
	}
	if a.Mask&fs.SetUid != 0 {
		valid |= wire.SetattrUID
	}
	if a.Mask&fs.SetGid != 0 {
		valid |= wire.SetattrGID
	}
	if a.Mask&fs.SetSize != 0 {
		valid |= wire.SetattrSize
	}
	if a.Mask&fs.SetAtimeNow != 0 {
		valid |= wire.SetattrAtime
	} else if a.Mask&fs.SetAtime != 0 {
		valid |= wire.SetattrAtime | wire.SetattrAtimeSet
	}
	if a.Mask&fs.SetMtimeNow != 0 {
		valid |= wire.SetattrMtime
	} else if a.Mask&fs.SetMtime != 0 {
		valid |= wire.SetattrMtime | wire.SetattrMtimeSet
	}
	if valid == 0 {
		return nil
	}
	valid |= wire.SetattrCtime
	defer n.invalidate()
	defer n.changed()
	return n.fs.c.Setattr(n.fid, valid, a.Mode&0o7777, a.Uid, a.Gid, uint64(max(a.Size, 0)), timeOf(a.Atime), timeOf(a.Mtime))
}

// Open flags passed to the host (9P2000.L uses Linux's generic values,
// which riscv64 shares).
const hostFlags = linux.O_ACCMODE | linux.O_APPEND | linux.O_DSYNC | linux.O_SYNC | linux.O_DIRECT | linux.O_NOATIME

// Open opens the file on the host for I/O. Directories and symlinks get
// a handle that does nothing (the VFS reads directories through
// ReadDir).
func (n *node) Open(flags int) (fs.Handle, error) {
	n.invalidate() // revalidate on open
	if n.kind != linux.S_IFREG {
		if n.kind == linux.S_IFDIR || n.kind == linux.S_IFLNK {
			return nopHandle{}, nil
		}
		// FIFOs, sockets and devices of the host are not the guest's.
		return nil, syscall.ENXIO
	}
	acc := flags & linux.O_ACCMODE
	if acc != linux.O_RDONLY {
		if err := n.writable(); err != nil {
			return nil, err
		}
	}
	if flags&hostFlags&^linux.O_ACCMODE == 0 {
		n.mu.Lock()
		pre, ok := n.pre, n.hasPre
		n.hasPre = false
		n.mu.Unlock()
		if ok {
			return &handle{n: n, fid: pre}, nil
		}
	}
	fid, _, err := n.fs.c.Walk(n.fid)
	if err != nil {
		return nil, err
	}
	if _, err := n.fs.c.Lopen(fid, uint32(flags&hostFlags)); err != nil {
		n.fs.c.Clunk(fid)
		return nil, err
	}
	return &handle{n: n, fid: fid, appendMode: flags&linux.O_APPEND != 0}, nil
}

// Lookup walks one name on the host; ".." is answered from memory.
func (n *node) Lookup(name string) (fs.Inode, error) {
	if n.kind != linux.S_IFDIR {
		return nil, syscall.ENOTDIR
	}
	if name == ".." {
		n.mu.Lock()
		p := n.parent
		n.mu.Unlock()
		return p, nil
	}
	if !wire.ValidName(name) {
		return nil, syscall.ENOENT
	}
	if c := n.cached(name); c != nil {
		return c, nil
	}
	c, err := n.walk(name)
	if err != nil {
		n.forget(name)
		return nil, err
	}
	n.remember(name, c)
	return c, nil
}

// cached is the node name found within lookupTTL, or nil. Names are
// kept by the directory's inode number, not by its node: a directory
// reached twice (the working directory and an absolute path) is two
// nodes, and a name removed through one must be gone through the other.
func (n *node) cached(name string) *node {
	f := n.fs
	f.namesMu.Lock()
	defer f.namesMu.Unlock()
	k := nameKey{n.ino, name}
	d, ok := f.names[k]
	if !ok {
		return nil
	}
	if time.Since(d.at) >= lookupTTL {
		delete(f.names, k)
		return nil
	}
	return d.n
}

// remember records that name in n is c, dropping the oldest name the
// filesystem remembers if it has maxNames already.
func (n *node) remember(name string, c *node) {
	f := n.fs
	k := nameKey{n.ino, name}
	f.namesMu.Lock()
	defer f.namesMu.Unlock()
	if f.names == nil {
		f.names = make(map[nameKey]dentry)
	}
	var slot int
	if len(f.order) < maxNames {
		slot = len(f.order)
		f.order = append(f.order, k)
	} else {
		// The oldest slot's name goes, unless it was remembered again
		// since (a later slot holds it then, and it goes with that one).
		slot = f.orderAt
		if d, ok := f.names[f.order[slot]]; ok && d.slot == slot {
			delete(f.names, f.order[slot])
		}
		f.order[slot] = k
		f.orderAt = (slot + 1) % maxNames
	}
	f.names[k] = dentry{n: c, at: time.Now(), slot: slot}
}

func (n *node) walk(name string) (*node, error) {
	c := n.fs.c
	fid, _, err := c.Walk(n.fid, name)
	if err != nil {
		return nil, err
	}
	a, err := c.Getattr(fid)
	if err != nil {
		c.Clunk(fid)
		return nil, err
	}
	if a.Mode&linux.S_IFMT == 0 {
		c.Clunk(fid)
		return nil, wire.ErrBadReply
	}
	return n.fs.newNode(fid, n, a), nil
}

// forget drops what the filesystem remembers of name in n.
func (n *node) forget(name string) {
	f := n.fs
	f.namesMu.Lock()
	delete(f.names, nameKey{n.ino, name})
	f.namesMu.Unlock()
}

// Create makes a file, directory, symlink or special file on the host.
func (n *node) Create(name string, a fs.CreateAttr) (fs.Inode, error) {
	if n.kind != linux.S_IFDIR {
		return nil, syscall.ENOTDIR
	}
	if err := n.writable(); err != nil {
		return nil, err
	}
	c := n.fs.c
	perm := a.Mode & 0o7777
	var err error
	switch a.Mode & linux.S_IFMT {
	case linux.S_IFREG:
		// The VFS opens what it creates next: the fid Tlcreate opens
		// (read-write, which creating allows whatever the mode) serves
		// that open.
		var fid uint32
		if fid, _, err = c.Walk(n.fid); err != nil {
			return nil, err
		}
		if err = c.Lcreate(fid, name, linux.O_RDWR|linux.O_CREAT|linux.O_EXCL, perm, a.Gid); err != nil {
			c.Clunk(fid)
			return nil, err
		}
		n.invalidate()
		child, err := n.walk(name)
		if err != nil {
			c.Clunk(fid)
			return nil, err
		}
		child.pre, child.hasPre = fid, true
		n.remember(name, child)
		return child, nil
	case linux.S_IFDIR:
		err = c.qidCall(wire.Tmkdir, func(e *wire.Encoder) {
			e.U32(n.fid)
			e.Str(name)
			e.U32(perm)
			e.U32(a.Gid)
		})
	case linux.S_IFLNK:
		err = c.qidCall(wire.Tsymlink, func(e *wire.Encoder) {
			e.U32(n.fid)
			e.Str(name)
			e.Str(a.Target)
			e.U32(a.Gid)
		})
	default:
		maj, mnr := linux.Major(a.Rdev), linux.Minor(a.Rdev)
		err = c.qidCall(wire.Tmknod, func(e *wire.Encoder) {
			e.U32(n.fid)
			e.Str(name)
			e.U32(a.Mode)
			e.U32(maj)
			e.U32(mnr)
			e.U32(a.Gid)
		})
	}
	n.forget(name)
	if err != nil {
		return nil, err
	}
	n.invalidate()
	child, err := n.walk(name)
	if err != nil {
		return nil, err
	}
	n.remember(name, child)
	return child, nil
}

// Link makes name a hard link to target on the host.
func (n *node) Link(name string, target fs.Inode) error {
	if err := n.writable(); err != nil {
		return err
	}
	t, ok := target.(*node)
	if !ok || t.fs != n.fs {
		return syscall.EXDEV
	}
	defer t.invalidate()
	defer n.forget(name)
	return n.fs.c.simple(wire.Tlink, func(e *wire.Encoder) {
		e.U32(n.fid)
		e.U32(t.fid)
		e.Str(name)
	})
}

// Remove unlinks name (rmdir if dir) on the host.
func (n *node) Remove(name string, dir bool) error {
	if err := n.writable(); err != nil {
		return err
	}
	var flags uint32
	if dir {
		flags = linux.AT_REMOVEDIR
	}
	defer n.invalidate()
	defer n.forget(name)
	return n.fs.c.simple(wire.Tunlinkat, func(e *wire.Encoder) {
		e.U32(n.fid)
		e.Str(name)
		e.U32(flags)
	})
}

// Rename moves an entry on the host. RENAME_EXCHANGE has no 9P2000.L
// message: EINVAL, as filesystems without it answer on Linux.
func (n *node) Rename(oldName string, newDir fs.Dir, newName string, flags int) error {
	if err := n.writable(); err != nil {
		return err
	}
	nd, ok := newDir.(*node)
	if !ok || nd.fs != n.fs {
		return syscall.EXDEV
	}
	if flags&linux.RENAME_EXCHANGE != 0 {
		return syscall.EINVAL
	}
	defer n.invalidate()
	defer nd.invalidate()
	defer n.forget(oldName)
	defer nd.forget(newName)
	return n.fs.c.simple(wire.Trenameat, func(e *wire.Encoder) {
		e.U32(n.fid)
		e.Str(oldName)
		e.U32(nd.fid)
		e.Str(newName)
	})
}

// Readlink reads the symlink's target from the host.
func (n *node) Readlink() (string, error) {
	if n.kind != linux.S_IFLNK {
		return "", syscall.EINVAL
	}
	return n.fs.c.Readlink(n.fid)
}

// nopHandle is the handle of an opened directory or symlink.
type nopHandle struct{}

func (nopHandle) ReadAt([]byte, int64) (int, error)  { return 0, syscall.EISDIR }
func (nopHandle) WriteAt([]byte, int64) (int, error) { return 0, syscall.EISDIR }
func (nopHandle) Close() error                       { return nil }

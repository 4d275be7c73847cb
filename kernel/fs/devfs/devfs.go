// Package devfs is /dev: a fixed set of character devices (null, zero,
// full, random, urandom, tty, console) and the stdin/stdout/stderr/fd
// symlinks into /proc/self/fd. The set of names cannot change (creating,
// linking, removing or renaming gives EPERM), but modes, owners and
// times can, as with chmod on Linux's /dev/null.
package devfs

import (
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// Config gives devfs what its devices read from and write to.
type Config struct {
	// Random backs random and urandom (the kernel's generator). Nil:
	// reading them fails with EIO.
	Random io.Reader
	// Clock stamps the devices' times; nil: time.Now.
	Clock func() time.Time
}

type kind int

const (
	kNull kind = iota
	kZero
	kFull
	kRandom
	kConsole
	kLink
)

type spec struct {
	name         string
	kind         kind
	major, minor uint32
	perm         uint32
	target       string
}

// devices in getdents order; their inode numbers are 2.. in this order.
var devices = [...]spec{
	{name: "null", kind: kNull, major: 1, minor: 3, perm: 0o666},
	{name: "zero", kind: kZero, major: 1, minor: 5, perm: 0o666},
	{name: "full", kind: kFull, major: 1, minor: 7, perm: 0o666},
	{name: "random", kind: kRandom, major: 1, minor: 8, perm: 0o666},
	{name: "urandom", kind: kRandom, major: 1, minor: 9, perm: 0o666},
	{name: "tty", kind: kConsole, major: 5, minor: 0, perm: 0o666},
	{name: "console", kind: kConsole, major: 5, minor: 1, perm: 0o600},
	{name: "stdin", kind: kLink, target: "/proc/self/fd/0"},
	{name: "stdout", kind: kLink, target: "/proc/self/fd/1"},
	{name: "stderr", kind: kLink, target: "/proc/self/fd/2"},
	{name: "fd", kind: kLink, target: "/proc/self/fd"},
}

// FS is one devfs instance.
type FS struct {
	cfg   Config
	mu    sync.Mutex // attributes of all nodes
	root  *dir
	nodes []*node // in the order of devices; looked up by a scan (byName)
}

// byName is the node called name, or nil. Some twenty names: a scan
// costs nothing next to a path walk, and a map built at every boot ran
// the runtime's map-growing code (QEMU translates what a boot runs).
func (f *FS) byName(name string) *node {
	for _, n := range f.nodes {
		if n.spec.name == name {
			return n
		}
	}
	return nil
}

// New makes a devfs.
func New(cfg Config) *FS {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	f := &FS{cfg: cfg, nodes: make([]*node, 0, len(devices))}
	now := cfg.Clock()
	f.root = &dir{attr: attr{fs: f, ino: 1, mode: linux.S_IFDIR | 0o755, atime: now, mtime: now, ctime: now}}
	for i, s := range devices {
		n := &node{spec: s, attr: attr{fs: f, ino: uint64(i + 2), atime: now, mtime: now, ctime: now}}
		if s.kind == kLink {
			n.mode = linux.S_IFLNK | 0o777
		} else {
			n.mode = linux.S_IFCHR | s.perm
			n.rdev = linux.Makedev(s.major, s.minor)
		}
		f.nodes = append(f.nodes, n)
	}
	return f
}

// Root implements fs.Filesystem.
func (f *FS) Root() fs.Dir { return f.root }

// attr is the changeable part of every devfs inode.
type attr struct {
	fs                  *FS
	ino                 uint64
	mode                uint32
	uid, gid            uint32
	rdev                uint64
	atime, mtime, ctime time.Time
}

func (a *attr) Stat() fs.Stat {
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	st := fs.Stat{Ino: a.ino, Mode: a.mode, Nlink: 1, Uid: a.uid, Gid: a.gid, Rdev: a.rdev,
		Blksize: 4096, Atime: a.atime, Mtime: a.mtime, Ctime: a.ctime}
	if a.mode&linux.S_IFMT == linux.S_IFDIR {
		st.Nlink = 2
	}
	return st
}

func (a *attr) SetAttr(s fs.Attr) error {
	if s.Mask&fs.SetSize != 0 {
		// O_TRUNC on a device is ignored by the VFS; truncate(2) on one
		// is EINVAL there too. Nothing to do.
		s.Mask &^= fs.SetSize
	}
	a.fs.mu.Lock()
	defer a.fs.mu.Unlock()
	now := a.fs.cfg.Clock()
	if s.Mask&fs.SetMode != 0 {
		a.mode = a.mode&linux.S_IFMT | s.Mode&0o7777
	}
	if s.Mask&fs.SetUid != 0 {
		a.uid = s.Uid
	}
	if s.Mask&fs.SetGid != 0 {
		a.gid = s.Gid
	}
	switch {
	case s.Mask&fs.SetAtimeNow != 0:
		a.atime = now
	case s.Mask&fs.SetAtime != 0:
		a.atime = s.Atime
	}
	switch {
	case s.Mask&fs.SetMtimeNow != 0:
		a.mtime = now
	case s.Mask&fs.SetMtime != 0:
		a.mtime = s.Mtime
	}
	a.ctime = now
	return nil
}

// dir is /dev itself.
type dir struct{ attr }

var (
	_ fs.Dir     = (*dir)(nil)
	_ fs.Symlink = (*node)(nil)
)

func (d *dir) Open(int) (fs.Handle, error) { return nullHandle{}, nil }

func (d *dir) Lookup(name string) (fs.Inode, error) {
	if name == ".." {
		return d, nil
	}
	if n := d.fs.byName(name); n != nil {
		return n, nil
	}
	return nil, syscall.ENOENT
}

func (d *dir) Create(name string, _ fs.CreateAttr) (fs.Inode, error) {
	if d.fs.byName(name) != nil {
		return nil, syscall.EEXIST
	}
	return nil, syscall.EPERM
}

func (d *dir) Link(name string, _ fs.Inode) error {
	if d.fs.byName(name) != nil {
		return syscall.EEXIST
	}
	return syscall.EPERM
}

func (d *dir) Remove(string, bool) error                { return syscall.EPERM }
func (d *dir) Rename(string, fs.Dir, string, int) error { return syscall.EPERM }

// ReadDir lists the devices; the cursor is the index of the next one.
func (d *dir) ReadDir(cursor uint64, max int) ([]fs.Dirent, error) {
	var out []fs.Dirent
	for i := cursor; i < uint64(len(d.fs.nodes)) && len(out) < max; i++ {
		n := d.fs.nodes[i]
		t := uint8(linux.DT_CHR)
		if n.kind == kLink {
			t = linux.DT_LNK
		}
		out = append(out, fs.Dirent{Name: n.name, Ino: n.ino, Type: t, Next: i + 1})
	}
	return out, nil
}

// node is a device or a symlink.
type node struct {
	spec
	attr
}

func (n *node) Readlink() (string, error) {
	if n.kind != kLink {
		return "", syscall.EINVAL
	}
	return n.target, nil
}

func (n *node) Open(int) (fs.Handle, error) {
	switch n.kind {
	case kNull:
		return nullHandle{}, nil
	case kZero:
		return zeroHandle{}, nil
	case kFull:
		return fullHandle{}, nil
	case kRandom:
		return randomHandle{n.fs.cfg.Random}, nil
	case kConsole:
		// The terminal belongs to the process layer, which owns the
		// console streams and opens tty and console itself; devfs
		// only names them.
		return nil, syscall.ENXIO
	}
	return nil, syscall.ELOOP // the VFS never opens a symlink
}

// nullHandle: reads are end of file, writes vanish.
type nullHandle struct{}

func (nullHandle) ReadAt([]byte, int64) (int, error)      { return 0, nil }
func (nullHandle) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (nullHandle) Close() error                           { return nil }

// zeroHandle: reads give zeros, writes vanish.
type zeroHandle struct{ nullHandle }

func (zeroHandle) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// fullHandle: reads give zeros, writes find the device full.
type fullHandle struct{ zeroHandle }

func (fullHandle) WriteAt([]byte, int64) (int, error) { return 0, syscall.ENOSPC }

// randomHandle: reads come from the kernel's generator; writes (entropy
// contributions on Linux) are accepted and dropped.
type randomHandle struct{ r io.Reader }

func (h randomHandle) ReadAt(p []byte, _ int64) (int, error) {
	if h.r == nil {
		return 0, syscall.EIO
	}
	n, err := io.ReadFull(h.r, p)
	if err != nil && n == 0 {
		return 0, syscall.EIO
	}
	return n, nil
}
func (randomHandle) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (randomHandle) Close() error                           { return nil }

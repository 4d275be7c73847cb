package posix

import (
	"path"
	"strconv"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/fs"
)

// procFS is a minimal read-only /proc: /proc/self/exe, cmdline and fd/.
// It is generated from the process on each lookup, so it needs no
// invalidation. Everything else (maps, status, other pids) is ENOENT.
type procFS struct {
	p     *Process
	start time.Time
}

// Inode numbers: fixed for the fixed files, procFDIno+fd for fd links.
const (
	procRootIno    = 1
	procSelfIno    = 2
	procExeIno     = 3
	procCmdlineIno = 4
	procFDDirIno   = 5
	procFDIno      = 100
)

func (f *procFS) Root() fs.Dir { return &procDir{f: f, ino: procRootIno} }

// procNode is the shared, read-only part of every /proc inode.
type procNode struct {
	f    *procFS
	ino  uint64
	mode uint32
}

func (n *procNode) Stat() fs.Stat {
	return fs.Stat{Ino: n.ino, Mode: n.mode, Nlink: 1, Blksize: 1024,
		Atime: n.f.start, Mtime: n.f.start, Ctime: n.f.start}
}

func (n *procNode) SetAttr(fs.Attr) error { return syscall.EPERM }

func (n *procNode) Open(flags int) (fs.Handle, error) {
	if flags&fs.O_ACCMODE != fs.O_RDONLY {
		return nil, syscall.EACCES
	}
	return procHandle{}, nil
}

// procHandle serves directories (never read through it) and, with data,
// cmdline.
type procHandle struct{ data []byte }

func (h procHandle) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(h.data)) {
		return 0, nil
	}
	return copy(p, h.data[off:]), nil
}
func (procHandle) WriteAt([]byte, int64) (int, error) { return 0, syscall.EINVAL }
func (procHandle) Close() error                       { return nil }

type procDir struct {
	f   *procFS
	ino uint64
}

func (d *procDir) node() *procNode {
	mode := uint32(fs.S_IFDIR | 0o555)
	if d.ino == procFDDirIno {
		mode = fs.S_IFDIR | 0o500
	}
	return &procNode{f: d.f, ino: d.ino, mode: mode}
}

func (d *procDir) Stat() fs.Stat                     { return d.node().Stat() }
func (d *procDir) SetAttr(a fs.Attr) error           { return d.node().SetAttr(a) }
func (d *procDir) Open(flags int) (fs.Handle, error) { return d.node().Open(flags) }

func (d *procDir) Create(string, fs.CreateAttr) (fs.Inode, error) { return nil, syscall.EACCES }
func (d *procDir) Link(string, fs.Inode) error                    { return syscall.EACCES }
func (d *procDir) Remove(string, bool) error                      { return syscall.EACCES }
func (d *procDir) Rename(string, fs.Dir, string, int) error       { return syscall.EACCES }

// entries lists the directory now, in getdents order.
func (d *procDir) entries() []fs.Inode {
	f := d.f
	switch d.ino {
	case procRootIno:
		return []fs.Inode{&procDir{f: f, ino: procSelfIno}}
	case procSelfIno:
		var out []fs.Inode
		if exe := f.exe(); exe != "" {
			out = append(out, &procLink{procNode{f, procExeIno, fs.S_IFLNK | 0o777}, exe})
		}
		return append(out, &procFile{procNode{f, procCmdlineIno, fs.S_IFREG | 0o444}},
			&procDir{f: f, ino: procFDDirIno})
	case procFDDirIno:
		var out []fs.Inode
		for _, l := range f.p.fds.targets(f.p) {
			out = append(out, &procLink{procNode{f, procFDIno + uint64(l.fd), fs.S_IFLNK | 0o700}, l.target})
		}
		return out
	}
	return nil
}

func procName(n fs.Inode) string {
	switch ino := n.Stat().Ino; ino {
	case procSelfIno:
		return "self"
	case procExeIno:
		return "exe"
	case procCmdlineIno:
		return "cmdline"
	case procFDDirIno:
		return "fd"
	default:
		return strconv.FormatUint(ino-procFDIno, 10)
	}
}

func (d *procDir) Lookup(name string) (fs.Inode, error) {
	if name == ".." {
		switch d.ino {
		case procFDDirIno:
			return &procDir{f: d.f, ino: procSelfIno}, nil
		default:
			return &procDir{f: d.f, ino: procRootIno}, nil
		}
	}
	if d.ino == procFDDirIno {
		return d.fdLink(name)
	}
	for _, n := range d.entries() {
		if procName(n) == name {
			return n, nil
		}
	}
	return nil, syscall.ENOENT
}

// fdLink is /proc/self/fd/<name>, made for that descriptor alone (a
// link's target may cost directory scans: listing them all for every
// lookup made each readlink grow with the number of open files).
func (d *procDir) fdLink(name string) (fs.Inode, error) {
	fd, err := strconv.Atoi(name)
	if err != nil || fd < 0 || strconv.Itoa(fd) != name {
		return nil, syscall.ENOENT // not a descriptor's canonical name ("01", "+1")
	}
	of, e := d.f.p.fds.file(fd)
	if e != 0 {
		return nil, syscall.ENOENT
	}
	return &procLink{procNode{d.f, procFDIno + uint64(fd), fs.S_IFLNK | 0o700}, fileTarget(d.f.p, of.f)}, nil
}

func (d *procDir) ReadDir(cursor uint64, n int) ([]fs.Dirent, error) {
	ents := d.entries()
	var out []fs.Dirent
	for i := cursor; i < uint64(len(ents)) && len(out) < n; i++ {
		st := ents[i].Stat()
		out = append(out, fs.Dirent{Name: procName(ents[i]), Ino: st.Ino, Type: fs.DirentType(st.Mode), Next: i + 1})
	}
	return out, nil
}

// exe is /proc/self/exe's target, chosen when the process started (the
// program's file, see exePath); like Linux it says " (deleted)" once that
// name is gone.
func (f *procFS) exe() string {
	exe := f.p.fs.exe
	if exe == "" {
		return ""
	}
	if _, err := f.p.fs.v.Stat(fs.Loc{}, exe, 0); err != nil {
		return exe + " (deleted)"
	}
	return exe
}

type procLink struct {
	procNode
	target string
}

func (l *procLink) Readlink() (string, error) { return l.target, nil }

type procFile struct{ procNode }

func (c *procFile) Open(flags int) (fs.Handle, error) {
	if _, err := c.procNode.Open(flags); err != nil {
		return nil, err
	}
	var b []byte
	for _, a := range c.f.p.cfg.Args {
		b = append(append(b, a...), 0)
	}
	return procHandle{data: b}, nil
}

type fdLink struct {
	fd     int
	target string
}

// targets is what /proc/self/fd's links say for each open descriptor,
// in descriptor order (directory cursors are indexes into it).
func (ft *fdTable) targets(p *Process) []fdLink {
	ft.mu.Lock()
	var files []File
	var fds []int
	for fd, e := range ft.fds {
		if e != nil {
			files, fds = append(files, e.of.f), append(fds, fd)
		}
	}
	ft.mu.Unlock()
	out := make([]fdLink, len(files))
	for i, f := range files {
		out[i] = fdLink{fds[i], fileTarget(p, f)}
	}
	return out
}

// fileTarget names an open file as Linux's /proc/self/fd does.
func fileTarget(p *Process, f File) string {
	switch f := f.(type) {
	case *vfsFile:
		return f.absPath(p)
	case *pipeEnd:
		return "pipe:[" + strconv.FormatUint(f.p.id, 10) + "]"
	case *stream, *writer:
		return "/dev/console"
	case *eventfd:
		return "anon_inode:[eventfd]"
	}
	return "anon_inode:[eventpoll]"
}

// absPath is the file's path as Linux's /proc/self/fd shows it:
// absolute, with symlinks resolved (computed only when /proc asks).
// A directory's path comes from the tree; a file's from the name it was
// opened by, following a final symlink the way open did.
func (v *vfsFile) absPath(p *Process) string {
	vfs := p.fs.v
	// Not v.f.Stat or Flags: listing /proc/self/fd holds the lock of the
	// directory file being read, which may be v.f itself.
	if l := v.f.Loc(); l.Stat().IsDir() {
		if s, err := vfs.PathOf(l); err == nil {
			return s
		}
	}
	dir, name := v.dir, v.path
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
		if err != nil || v.nofollow {
			return path.Join(pp, last) // not a symlink (or not followed): done
		}
		dir, name = pl, target
	}
	return v.path
}

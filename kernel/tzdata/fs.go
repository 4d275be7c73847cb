package tzdata

import (
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// FS returns the zone database as a read-only filesystem to mount at
// /usr/share/zoneinfo, nil without data. Files are served from the
// kernel image's own bytes: nothing is copied at boot, which unpacking
// some 600 files into the root filesystem did (0.4 s per boot here).
// The directory tree is built on first use, not at boot: most
// applications never look (a database that does not parse reads as an
// empty directory).
func FS() (fs.Filesystem, error) {
	if len(data) == 0 {
		return nil, nil
	}
	z := &zoneFS{}
	z.root = z.newDir(nil)
	z.root.lazy = &sync.Once{}
	z.root.build = z.build
	return z, nil
}

// build fills the root directory from the database.
func (z *zoneFS) build() {
	zones, err := Zones()
	if err != nil {
		return
	}
	for _, zn := range zones {
		parts := strings.Split(zn.Name, "/")
		d := z.root
		ok := true
		for _, p := range parts[:len(parts)-1] {
			if !validName(p) {
				ok = false
				break
			}
			sub, found := d.kids[p].(*zoneDir)
			if !found {
				if _, taken := d.kids[p]; taken {
					ok = false
					break
				}
				sub = z.newDir(d)
				d.add(p, sub)
			}
			d = sub
		}
		name := parts[len(parts)-1]
		if !ok || !validName(name) {
			continue
		}
		if _, taken := d.kids[name]; taken {
			continue
		}
		z.ino++
		d.add(name, &zoneFile{ino: z.ino, data: zn.Data})
	}
}

func validName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= 255 && !strings.ContainsRune(s, 0)
}

// mtime is every file's time: the database has no meaningful one.
var mtime = time.Unix(0, 0)

type zoneFS struct {
	root *zoneDir
	ino  uint64
}

func (z *zoneFS) Root() fs.Dir { return z.root }

func (z *zoneFS) newDir(parent *zoneDir) *zoneDir {
	z.ino++
	d := &zoneDir{ino: z.ino, parent: parent, kids: map[string]fs.Inode{}}
	if parent == nil {
		d.parent = d
	}
	return d
}

type zoneDir struct {
	ino    uint64
	parent *zoneDir
	kids   map[string]fs.Inode
	names  []string   // sorted: ReadDir's cursor is an index
	lazy   *sync.Once // the root's: build runs once, before any look inside
	build  func()
}

// ready builds the tree on the root's first use.
func (d *zoneDir) ready() {
	if d.lazy != nil {
		d.lazy.Do(d.build)
	}
}

func (d *zoneDir) add(name string, n fs.Inode) {
	d.kids[name] = n
	i := sort.SearchStrings(d.names, name)
	d.names = append(d.names, "")
	copy(d.names[i+1:], d.names[i:])
	d.names[i] = name
}

func (d *zoneDir) Stat() fs.Stat {
	d.ready()
	return fs.Stat{Ino: d.ino, Mode: linux.S_IFDIR | 0o755, Nlink: 2, Size: int64(40 + 20*len(d.names)), Blksize: 4096,
		Atime: mtime, Mtime: mtime, Ctime: mtime}
}

// Identity is fs.Identity's: mounting the database and walking paths
// through it ask a directory's number and type, which must not build
// the tree.
func (d *zoneDir) Identity() (uint64, uint32) { return d.ino, linux.S_IFDIR }

func (d *zoneDir) SetAttr(fs.Attr) error { return syscall.EROFS }
func (d *zoneDir) Open(flags int) (fs.Handle, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY {
		return nil, syscall.EISDIR
	}
	return roHandle(""), nil
}
func (d *zoneDir) Lookup(name string) (fs.Inode, error) {
	if name == ".." {
		return d.parent, nil
	}
	d.ready()
	if n, ok := d.kids[name]; ok {
		return n, nil
	}
	return nil, syscall.ENOENT
}
func (d *zoneDir) Create(string, fs.CreateAttr) (fs.Inode, error) { return nil, syscall.EROFS }
func (d *zoneDir) Link(string, fs.Inode) error                    { return syscall.EROFS }
func (d *zoneDir) Remove(string, bool) error                      { return syscall.EROFS }
func (d *zoneDir) Rename(string, fs.Dir, string, int) error       { return syscall.EROFS }
func (d *zoneDir) ReadDir(cursor uint64, n int) ([]fs.Dirent, error) {
	d.ready()
	var out []fs.Dirent
	for i := cursor; i < uint64(len(d.names)) && len(out) < n; i++ {
		name := d.names[i]
		e := fs.Dirent{Name: name, Next: i + 1, Type: linux.DT_REG}
		switch k := d.kids[name].(type) {
		case *zoneDir:
			e.Ino, e.Type = k.ino, linux.DT_DIR
		case *zoneFile:
			e.Ino = k.ino
		}
		out = append(out, e)
	}
	return out, nil
}

type zoneFile struct {
	ino  uint64
	data string
}

func (f *zoneFile) Stat() fs.Stat {
	return fs.Stat{Ino: f.ino, Mode: linux.S_IFREG | 0o644, Nlink: 1, Size: int64(len(f.data)), Blksize: 4096,
		Blocks: (int64(len(f.data)) + 511) / 512, Atime: mtime, Mtime: mtime, Ctime: mtime}
}
func (f *zoneFile) SetAttr(fs.Attr) error { return syscall.EROFS }
func (f *zoneFile) Open(flags int) (fs.Handle, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY || flags&linux.O_TRUNC != 0 {
		return nil, syscall.EROFS
	}
	return roHandle(f.data), nil
}

// roHandle reads a string.
type roHandle string

func (h roHandle) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if off >= int64(len(h)) {
		return 0, nil
	}
	return copy(p, h[off:]), nil
}
func (h roHandle) WriteAt([]byte, int64) (int, error) { return 0, syscall.EBADF }
func (h roHandle) Close() error                       { return nil }

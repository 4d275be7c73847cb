package posix

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// procFS is a minimal read-only /proc: /proc/meminfo, cpuinfo,
// /proc/self/exe, cmdline, stat and fd/.
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
	procMeminfoIno = 6
	procCPUInfoIno = 7
	procStatIno    = 8
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

func (n *procNode) SetAttr(fs.Attr) error { return linux.EPERM }

func (n *procNode) Open(flags int) (fs.Handle, error) {
	if flags&linux.O_ACCMODE != linux.O_RDONLY {
		return nil, linux.EACCES
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
func (procHandle) WriteAt([]byte, int64) (int, error) { return 0, linux.EINVAL }
func (procHandle) Close() error                       { return nil }

type procDir struct {
	f   *procFS
	ino uint64
}

func (d *procDir) node() *procNode {
	mode := uint32(linux.S_IFDIR | 0o555)
	if d.ino == procFDDirIno {
		mode = linux.S_IFDIR | 0o500
	}
	return &procNode{f: d.f, ino: d.ino, mode: mode}
}

func (d *procDir) Stat() fs.Stat                     { return d.node().Stat() }
func (d *procDir) SetAttr(a fs.Attr) error           { return d.node().SetAttr(a) }
func (d *procDir) Open(flags int) (fs.Handle, error) { return d.node().Open(flags) }

func (d *procDir) Create(string, fs.CreateAttr) (fs.Inode, error) { return nil, linux.EACCES }
func (d *procDir) Link(string, fs.Inode) error                    { return linux.EACCES }
func (d *procDir) Remove(string, bool) error                      { return linux.EACCES }
func (d *procDir) Rename(string, fs.Dir, string, int) error       { return linux.EACCES }

// The names in /proc and /proc/self, in getdents order.
var (
	procRootNames = [...]string{"meminfo", "self", "cpuinfo"}
	procSelfNames = [...]string{"exe", "cmdline", "stat", "fd"}
)

// child is the entry name of /proc or /proc/self, or nil. Lookup asks
// for one by name without making the others (it listed the whole
// directory and compared each entry's name, taken from its Stat: code
// that ran at every boot for the C library's look at /proc/self/exe).
func (d *procDir) child(name string) fs.Inode {
	f := d.f
	switch d.ino {
	case procRootIno:
		switch name {
		case "meminfo":
			return &procFile{procNode{f, procMeminfoIno, linux.S_IFREG | 0o444}}
		case "self":
			return &procDir{f: f, ino: procSelfIno}
		case "cpuinfo":
			return &procText{procNode{f, procCPUInfoIno, linux.S_IFREG | 0o444}, cpuInfo}
		}
	case procSelfIno:
		switch name {
		case "exe":
			if exe := f.exe(); exe != "" {
				return &procLink{procNode{f, procExeIno, linux.S_IFLNK | 0o777}, exe}
			}
		case "cmdline":
			return &procFile{procNode{f, procCmdlineIno, linux.S_IFREG | 0o444}}
		case "stat":
			return &procText{procNode{f, procStatIno, linux.S_IFREG | 0o444}, f.p.stat}
		case "fd":
			return &procDir{f: f, ino: procFDDirIno}
		}
	}
	return nil
}

// entries lists the directory now, in getdents order.
func (d *procDir) entries() []fs.Inode {
	var names []string
	switch d.ino {
	case procRootIno:
		names = procRootNames[:]
	case procSelfIno:
		names = procSelfNames[:]
	case procFDDirIno:
		var out []fs.Inode
		d.f.p.fds.each(func(fd int, of *openFile) {
			out = append(out, &fdNode{procNode{d.f, procFDIno + uint64(fd), linux.S_IFLNK | 0o700}, of})
		})
		return out
	}
	var out []fs.Inode
	for _, name := range names {
		if n := d.child(name); n != nil {
			out = append(out, n)
		}
	}
	return out
}

func procName(n fs.Inode) string {
	switch ino := n.Stat().Ino; ino {
	case procSelfIno:
		return "self"
	case procExeIno:
		return "exe"
	case procCmdlineIno:
		return "cmdline"
	case procMeminfoIno:
		return "meminfo"
	case procFDDirIno:
		return "fd"
	case procCPUInfoIno:
		return "cpuinfo"
	case procStatIno:
		return "stat"
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
	if n := d.child(name); n != nil {
		return n, nil
	}
	return nil, linux.ENOENT
}

// fdLink is /proc/self/fd/<name>, made for that descriptor alone (a
// link's target may cost directory scans: listing them all for every
// lookup made each readlink grow with the number of open files).
func (d *procDir) fdLink(name string) (fs.Inode, error) {
	fd, err := strconv.Atoi(name)
	if err != nil || fd < 0 || strconv.Itoa(fd) != name {
		return nil, linux.ENOENT // not a descriptor's canonical name ("01", "+1")
	}
	of, e := d.f.p.fds.file(fd)
	if e != 0 {
		return nil, linux.ENOENT
	}
	return &fdNode{procNode{d.f, procFDIno + uint64(fd), linux.S_IFLNK | 0o700}, of}, nil
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
	if exe == "" || f.p.fs.exeNoFile {
		return exe
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

// procText is a file whose text is made when it is opened.
type procText struct {
	procNode
	text func() string
}

func (c *procText) Open(flags int) (fs.Handle, error) {
	if _, err := c.procNode.Open(flags); err != nil {
		return nil, err
	}
	return procHandle{data: []byte(c.text())}, nil
}

// cpuInfo is /proc/cpuinfo as Linux writes it on riscv64: a paragraph
// per online CPU. The hart layer's version (hartcpu_riscv64.go) adds
// the hart ids and the ISA string from the device tree.
var cpuInfo = func() string {
	var b []byte
	for k := 0; k < ncpu(); k++ {
		b = append(b, "processor\t: "+strconv.Itoa(k)+"\nhart\t\t: "+strconv.Itoa(k)+"\nmmu\t\t: sv39\n\n"...)
	}
	return string(b)
}

type procFile struct{ procNode }

func (c *procFile) Open(flags int) (fs.Handle, error) {
	if _, err := c.procNode.Open(flags); err != nil {
		return nil, err
	}
	if c.ino == procMeminfoIno {
		return procHandle{data: c.f.p.meminfo()}, nil
	}
	var b []byte
	for _, a := range c.f.p.cfg.Args {
		b = append(append(b, a...), 0)
	}
	return procHandle{data: b}, nil
}

// memFree is the RAM not in use, in bytes: the kernel's figure, or half
// the machine when it gives none.
func (p *Process) memFree() uint64 {
	if p.cfg.MemoryFree != nil {
		return min(p.cfg.MemoryFree(), p.cfg.MemoryBytes)
	}
	return p.cfg.MemoryBytes / 2
}

// meminfo is /proc/meminfo's first lines, as Linux writes them (kB):
// everything not in use is free and available (no page cache here).
func (p *Process) meminfo() []byte {
	kb := func(name string, v uint64) []byte {
		line := []byte(name + ":")
		n := strconv.FormatUint(v>>10, 10)
		for i := len(name) + 1 + len(n); i < 24; i++ {
			line = append(line, ' ')
		}
		return append(append(line, n...), " kB\n"...)
	}
	free := p.memFree()
	var b []byte
	b = append(b, kb("MemTotal", p.cfg.MemoryBytes)...)
	b = append(b, kb("MemFree", free)...)
	return append(b, kb("MemAvailable", free)...)
}

// resident is the application's resident memory now and at its most,
// in bytes (0 when the kernel gives no figure).
func (p *Process) resident() (now, peak uint64) {
	if p.cfg.MemoryResident == nil {
		return 0, 0
	}
	now, peak = p.cfg.MemoryResident()
	return now, max(now, peak)
}

// stat is /proc/self/stat: Linux's 52 fields, of which this kernel
// knows the process's identity, its thread count and its resident set
// (field 24, in pages: Redis and others read their memory use there).
// Times, fault counts and addresses it does not keep are 0; rsslim is
// unlimited; the exit signal is SIGCHLD, as for a process Linux forked.
func (p *Process) stat() string {
	name := "init"
	if len(p.cfg.Args) > 0 && p.cfg.Args[0] != "" {
		name = path.Base(p.cfg.Args[0]) // Linux takes exec's file name; argv[0] is the nearest here
	}
	if len(name) > 15 {
		name = name[:15] // TASK_COMM_LEN less its NUL
	}
	p.mu.Lock()
	nthreads := len(p.threads)
	p.mu.Unlock()
	rss, _ := p.resident()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	f := []string{
		"1", "(" + name + ")", "R", // pid, comm, state
		"0", "1", "1", "0", "-1", "0", // ppid, pgrp, session, tty_nr, tpgid, flags
		"0", "0", "0", "0", // minflt, cminflt, majflt, cmajflt
		"0", "0", "0", "0", // utime, stime, cutime, cstime
		"20", "0", u(uint64(max(nthreads, 1))), "0", "0", // priority, nice, num_threads, itrealvalue, starttime
		"0", u(rss / linux.PageSize), u(^uint64(0)), // vsize, rss, rsslim
	}
	for len(f) < 37 { // startcode to cnswap
		f = append(f, "0")
	}
	f = append(f, "17", "0") // exit_signal, processor
	for len(f) < 52 {
		f = append(f, "0")
	}
	return strings.Join(f, " ") + "\n"
}

// fdNode is /proc/self/fd/N: a magic link to the open file itself
// (fs.FileLink). Through it the VFS reaches a VFS file's inode, and the
// posix layer reopens the others (pipes, the console).
type fdNode struct {
	procNode
	of *openFile
}

func (n *fdNode) Readlink() (string, error) { return n.of.f.Name(n.f.p), nil }
func (n *fdNode) FileLoc() (fs.Loc, bool)   { return n.of.f.Loc() }

// each calls fn for every open descriptor in order (outside the
// table's lock: fn may look at the files).
func (ft *fdTable) each(fn func(fd int, of *openFile)) {
	ft.mu.Lock()
	var ofs []*openFile
	var fds []int
	for fd, e := range ft.fds {
		if e.of != nil {
			ofs, fds = append(ofs, e.of), append(fds, fd)
		}
	}
	ft.mu.Unlock()
	for i, of := range ofs {
		fn(fds[i], of)
	}
}

package posix

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
	"github.com/runikraft/runikraft/kernel/fs/devfs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// The process's filesystem: a writable ramfs at /, devfs at /dev, a
// minimal /proc (procfs.go), the
// optional root filesystem archive unpacked into /, and the few files
// every libc expects (/etc/passwd, /etc/group, /etc/hosts).

// fsState is the process's view of the VFS.
type fsState struct {
	v    *fs.VFS
	root *ramfs.FS // for statfs
	exe  string    // /proc/self/exe's target
	// exeNoFile: the program came from memory (the initrd), not from a
	// file here; exe is then its name, which never reads as deleted.
	exeNoFile bool

	mu  sync.Mutex
	cwd fs.Loc // the zero Loc is the root
}

func (s *fsState) getCwd() fs.Loc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cwd
}

func (s *fsState) setCwd(l fs.Loc) {
	s.mu.Lock()
	s.cwd = l
	s.mu.Unlock()
}

// initFS builds the filesystem before the first thread runs.
func (p *Process) initFS() error {
	if r, rest := rootMount(p.cfg.Mounts); r != nil { // a host view (hostroot.go)
		return p.initHostRoot(r.FS, rest)
	}
	root := ramfs.New(ramfs.Options{Room: p.cfg.MemoryRoom})
	p.fs.root = root
	p.fs.v = fs.New(root, fs.Cred{})
	v := p.fs.v
	if p.cfg.RootFS != nil {
		if err := unpack(v, p.cfg.RootFS); err != nil {
			return fmt.Errorf("root filesystem: %w", err)
		}
	}
	// Nothing unpacked and nothing to mount but /dev and /proc: the
	// default tree goes straight into the root's ramfs.
	t := tree{v: v}
	if p.cfg.RootFS == nil && len(p.cfg.Mounts) == 0 {
		t.seed = root
	}
	p.fs.exe = exePath(v, p.cfg.Args, p.cfg.RootFS != nil)
	if p.fs.exe == "" && len(p.cfg.Args) > 0 && p.cfg.Args[0] != "" {
		// Linux's /proc/self/exe always has a path: the program's name
		// as the host gave it, made absolute.
		p.fs.exe, p.fs.exeNoFile = absName(p.cfg.Args[0]), true
	}
	if err := t.dir("/tmp", 0o1777); err != nil {
		return fmt.Errorf("/tmp: %w", err)
	}
	if err := t.dir("/dev", 0o755); err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	dev := devfs.New(devfs.Config{Random: p.cfg.Random})
	if err := v.Mount(fs.Loc{}, "/dev", dev); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	if err := t.dir("/proc", 0o555); err != nil {
		return fmt.Errorf("/proc: %w", err)
	}
	if err := v.Mount(fs.Loc{}, "/proc", &procFS{p: p, start: time.Now()}); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := p.mountAll(); err != nil { // mounts.go
		return err
	}
	if err := p.cpuFiles(t); err != nil { // sysfs.go
		return err
	}
	return p.etcDefaults(t)
}

// tree makes the default directories and files: through the VFS, or,
// where seed is set (a fresh ramfs root with nothing unpacked or
// mounted below those names), straight in the ramfs. Both leave what is
// already there alone; the direct way only saves the walk, open, write
// and close code a boot would otherwise run (and QEMU translate) once.
type tree struct {
	v    *fs.VFS
	seed *ramfs.FS
}

// dir makes dir with perm unless something is already there.
func (t tree) dir(dir string, perm uint32) error {
	if t.seed != nil {
		return t.seed.Seed(dir, linux.S_IFDIR|perm, nil)
	}
	return ensureDir(t.v, dir, perm)
}

// file makes the file name with body and perm unless something (even a
// dangling symbolic link) is already there.
func (t tree) file(name string, body []byte, perm uint32) error {
	if t.seed != nil {
		return t.seed.Seed(name, linux.S_IFREG|perm, body)
	}
	if _, err := t.v.Stat(fs.Loc{}, name, linux.AT_SYMLINK_NOFOLLOW); err == nil {
		return nil
	}
	return writeFile(t.v, name, body, perm)
}

// absName is path.Join("/", name), without path's code for the
// common case of a plain name (a boot otherwise runs it only here).
func absName(name string) string {
	if name != "." && name != ".." && strings.IndexByte(name, '/') < 0 {
		return "/" + name
	}
	return path.Join("/", name)
}

// exePath is the file the program was loaded from, as the stock kernel
// chooses it from a root filesystem archive: argv[0] taken from the root,
// else /init (runikraft run packs the program there, and argv[0] is
// then the host's path). Without an archive, only an absolute argv[0]
// that names a file can be it.
func exePath(v *fs.VFS, args []string, archive bool) string {
	var cands []string
	if len(args) > 0 && (archive || strings.HasPrefix(args[0], "/")) {
		cands = append(cands, "/"+strings.TrimLeft(args[0], "/"))
	}
	if archive {
		cands = append(cands, "/init")
	}
	for _, c := range cands {
		if st, err := v.Stat(fs.Loc{}, c, 0); err == nil && st.Mode&linux.S_IFMT == linux.S_IFREG {
			return c
		}
	}
	return ""
}

// ensureDir makes dir with perm unless something is already there (an
// archive's own directory keeps its mode).
func ensureDir(v *fs.VFS, dir string, perm uint32) error {
	st, err := v.Stat(fs.Loc{}, dir, 0)
	if err == nil {
		if !st.IsDir() {
			return linux.ENOTDIR
		}
		return nil
	}
	if err := v.Mkdir(fs.Loc{}, dir, perm); err != nil {
		return err
	}
	return v.Chmod(fs.Loc{}, dir, perm, 0) // Mkdir may not set the sticky bit
}

// etcDefaults writes the identity files C libraries read (getpwuid,
// getaddrinfo("localhost")) unless the root filesystem has its own.
func (p *Process) etcDefaults(t tree) error {
	if err := t.dir("/etc", 0o755); err != nil {
		return fmt.Errorf("/etc: %w", err)
	}
	if err := t.dir("/root", 0o700); err != nil {
		return fmt.Errorf("/root: %w", err)
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if h := p.cfg.Hostname; h != "" && h != "localhost" {
		hosts += "127.0.1.1\t" + h + "\n"
	}
	files := []struct{ name, body string }{
		{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"},
		{"/etc/group", "root:x:0:\n"},
		{"/etc/hosts", hosts},
	}
	if n := p.cfg.Net; n != nil { // the network's names and name servers
		files[2].body = n.Hosts()
		files = append(files, struct{ name, body string }{"/etc/resolv.conf", n.ResolvConf()})
	}
	for _, f := range files {
		if err := t.file(f.name, []byte(f.body), 0o644); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func writeFile(v *fs.VFS, name string, body []byte, perm uint32) error {
	f, err := v.Open(fs.Loc{}, name, linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// unpack extracts a newc archive into v's root, as Linux unpacks an
// initramfs: modes, owners, mtimes, symlinks, devices and hard links
// (entries sharing an inode) are kept.
func unpack(v *fs.VFS, r io.Reader) error {
	cr := cpio.NewReader(r, cpio.MaxSize)
	links := map[[3]uint32]string{} // (dev major, dev minor, ino) → first name
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := unpackEntry(v, cr, h, links); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

func unpackEntry(v *fs.VFS, cr *cpio.Reader, h *cpio.Header, links map[[3]uint32]string) error {
	name := "/" + h.Name
	perm := uint32(h.Mode.Perm())
	switch {
	case h.Name == ".":
	case h.Mode.IsDir():
		if err := v.Mkdir(fs.Loc{}, name, perm); err != nil && err != linux.EEXIST {
			return err
		}
	case h.Mode.IsSymlink():
		target, err := cr.Readlink()
		if err != nil {
			return err
		}
		if err := v.Symlink(target, fs.Loc{}, name); err != nil {
			return err
		}
	case h.Mode.IsRegular():
		return unpackFile(v, cr, h, name, links)
	default:
		rdev := linux.Makedev(h.RdevMajor, h.RdevMinor)
		if err := v.Mknod(fs.Loc{}, name, uint32(h.Mode), rdev); err != nil {
			return err
		}
	}
	return setMeta(v, h, name)
}

// unpackFile writes a regular file, or links it to the earlier entry of
// the same inode (the last link carries the data, so it is written
// through whichever name has it).
func unpackFile(v *fs.VFS, cr *cpio.Reader, h *cpio.Header, name string, links map[[3]uint32]string) error {
	key := [3]uint32{h.DevMajor, h.DevMinor, h.Ino}
	flags := linux.O_WRONLY | linux.O_CREAT | linux.O_TRUNC
	if first, ok := links[key]; ok && h.Nlink > 1 {
		if err := v.Link(fs.Loc{}, first, fs.Loc{}, name, 0); err != nil {
			return err
		}
		flags = linux.O_WRONLY // keep what earlier links wrote
	} else if h.Nlink > 1 {
		links[key] = name
	}
	f, err := v.Open(fs.Loc{}, name, flags, uint32(h.Mode.Perm()))
	if err != nil {
		return err
	}
	_, err = io.Copy(f.IO(), cr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return setMeta(v, h, name)
}

// setMeta applies the archive's mode, owner and mtime (symlinks keep
// 0777, as on Linux).
func setMeta(v *fs.VFS, h *cpio.Header, name string) error {
	if !h.Mode.IsSymlink() {
		if err := v.Chmod(fs.Loc{}, name, uint32(h.Mode.Perm()), 0); err != nil {
			return err
		}
	}
	if err := v.Chown(fs.Loc{}, name, int(h.UID), int(h.GID), linux.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	mt := time.Unix(h.Mtime, 0)
	return v.Utimes(fs.Loc{}, name, fs.Attr{Mask: fs.SetAtime | fs.SetMtime, Atime: mt, Mtime: mt}, linux.AT_SYMLINK_NOFOLLOW)
}

package posix

import (
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/devfs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// A Mount at "/" is a host view (runikraft run --host-view, binfmt_misc):
// the host's whole tree is the application's root, live, and the kernel
// keeps only what would make no sense read from the host: its own /dev
// (the guest's devices, not the host's device nodes), /proc (this
// process, not QEMU's), /tmp (a tmpfs, so scratch files stay in the
// guest) and an empty /sys (the host's sysfs describes other hardware:
// a C library would count the host's CPUs there). They are mounted over
// the host's directories of those names; a host without one of them
// keeps its own tree there untouched, as nothing is ever created in the
// host's root. No root filesystem archive is unpacked and no /etc
// defaults are written: the host's /etc is the application's.

// rootMount returns the Mount at "/" among ms, if any, and the others.
func rootMount(ms []Mount) (root *Mount, rest []Mount) {
	for i := range ms {
		if ms[i].Path == "/" && root == nil {
			root = &ms[i]
			continue
		}
		rest = append(rest, ms[i])
	}
	return root, rest
}

// initHostRoot builds the filesystem of a host view whose root is f.
func (p *Process) initHostRoot(f fs.Filesystem, rest []Mount) error {
	if f == nil {
		return errors.New("mount /: no filesystem")
	}
	if p.cfg.RootFS != nil {
		return errors.New("a root filesystem archive and a volume at / exclude each other")
	}
	tmp := ramfs.New(ramfs.Options{Room: p.cfg.MemoryRoom})
	p.fs.root = tmp
	p.fs.v = fs.New(f, fs.Cred{})
	v := p.fs.v
	p.fs.exe, p.fs.exeNoFile = hostExePath(v, p.cfg.Args, p.cfg.Cwd)
	own := []struct {
		dir  string
		perm uint32 // of a tmpfs's root, as the kernel's own tree has it
		fs   fs.Filesystem
	}{
		{"/dev", 0, devfs.New(devfs.Config{Random: p.cfg.Random})},
		{"/proc", 0, &procFS{p: p, start: time.Now()}},
		{"/sys", 0o555, ramfs.New(ramfs.Options{})},
		{"/tmp", 0o1777, tmp},
	}
	for _, o := range own {
		st, err := v.Stat(fs.Loc{}, o.dir, 0)
		if err != nil || !st.IsDir() {
			fmt.Fprintf(p.cfg.Log, "runikraft: host view: the host has no directory %s, so the kernel's own is not mounted there\n", o.dir)
			continue
		}
		if err := v.Mount(fs.Loc{}, o.dir, o.fs); err != nil {
			return fmt.Errorf("mount %s: %w", o.dir, err)
		}
		if o.perm != 0 {
			if err := v.Chmod(fs.Loc{}, o.dir, o.perm, 0); err != nil {
				return fmt.Errorf("%s: %w", o.dir, err)
			}
		}
	}
	saved := p.cfg.Mounts
	p.cfg.Mounts = rest
	defer func() { p.cfg.Mounts = saved }()
	return p.mountAll() // other volumes, e.g. the host's /tmp over the kernel's
}

// hostExePath is /proc/self/exe's target in a host view: argv[0] as the
// host named the program, made absolute from the working directory the
// application starts in (binfmt_misc passes the path exec was given,
// often ./conftest), and whether no file is there.
func hostExePath(v *fs.VFS, args []string, cwd string) (exe string, noFile bool) {
	if len(args) == 0 || args[0] == "" {
		return "", false
	}
	exe = args[0]
	if !path.IsAbs(exe) {
		exe = path.Join("/", cwd, exe)
	}
	exe = path.Clean(exe)
	if st, err := v.Stat(fs.Loc{}, exe, 0); err == nil && st.Mode&linux.S_IFMT == linux.S_IFREG {
		return exe, false
	}
	return exe, true
}

package posix

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// hostTree stands in for the host's tree of a host view: a filesystem
// with the host's /dev, /proc, /sys, /tmp (each holding a file), /etc
// without passwd, and the directory the application starts in.
func hostTree(t *testing.T) (*fs.VFS, fs.Filesystem) {
	t.Helper()
	host := ramfs.New(ramfs.Options{})
	v := fs.New(host, fs.Cred{})
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/etc", "/work", "/work/sub", "/usr", "/usr/bin"} {
		if err := v.Mkdir(fs.Loc{}, d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"/dev/host-dev", "/proc/host-proc", "/sys/host-sys", "/tmp/host-tmp", "/etc/hostname", "/work/in.txt", "/usr/bin/prog"} {
		if err := writeFile(v, f, []byte("host "+f+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return v, host
}

func TestHostRoot(t *testing.T) {
	hv, host := hostTree(t)
	runProcess(t, Config{Mounts: []Mount{{Path: "/", FS: host}}, Cwd: "/work/sub", Args: []string{"../../usr/bin/prog"}}, func(u *fsUser) {
		if cwd := u.getcwd(); cwd != "/work/sub" {
			u.failf("getcwd %q, want /work/sub", cwd)
		}
		if got := u.readFile("../in.txt"); got != "host /work/in.txt\n" {
			u.failf("../in.txt: %q", got)
		}
		u.writeFile("out.txt", "guest\n")
		u.writeFile("/tmp/guest-tmp", "guest\n")
		// The kernel's own: the host's files there are hidden.
		for _, p := range []string{"/dev/host-dev", "/proc/host-proc", "/sys/host-sys", "/tmp/host-tmp"} {
			if _, _, _, _, e := u.stat(p, 0); e != -int64(linux.ENOENT) {
				u.failf("stat %s: %d, want ENOENT (the kernel's own directory)", p, e)
			}
		}
		if _, _, _, _, e := u.stat("/dev/null", 0); e != 0 {
			u.failf("stat /dev/null: %d", e)
		}
		if got := u.readlink("/proc/self/exe"); got != "/usr/bin/prog" {
			u.failf("/proc/self/exe -> %q, want the program's host path", got)
		}
		if m, _, _, _, e := u.stat("/tmp", 0); e != 0 || m != linux.S_IFDIR|0o1777 {
			u.failf("/tmp: mode %o, %d", m, e)
		}
	})
	// What the guest wrote in the host's tree is there; what it wrote in
	// /tmp is not, and nothing was added to the host's /etc.
	if st, err := hv.Stat(fs.Loc{}, "/work/sub/out.txt", 0); err != nil || st.Size != 6 {
		t.Errorf("/work/sub/out.txt in the host's tree: %+v, %v", st, err)
	}
	for _, p := range []string{"/tmp/guest-tmp", "/etc/passwd", "/etc/hosts", "/root"} {
		if _, err := hv.Stat(fs.Loc{}, p, 0); err == nil {
			t.Errorf("%s was made in the host's tree", p)
		}
	}
}

// A second volume at /tmp (the host's /tmp, asked for) goes over the
// kernel's.
func TestHostRootHostTmp(t *testing.T) {
	_, host := hostTree(t)
	_, tmp := hostTree(t)
	runProcess(t, Config{Mounts: []Mount{{Path: "/", FS: host}, {Path: "/tmp", FS: tmp}}, Cwd: "/tmp/work"}, func(u *fsUser) {
		if got := u.readFile("in.txt"); got != "host /work/in.txt\n" {
			u.failf("in.txt in the second volume: %q", got)
		}
	})
}

// A root filesystem archive cannot be unpacked into the host's tree.
func TestHostRootRefusesArchive(t *testing.T) {
	_, host := hostTree(t)
	cfg := Config{CPU: newFakeCPU(), Random: rand.Reader, BrkStart: 0x40_0000, Mounts: []Mount{{Path: "/", FS: host}}, RootFS: strings.NewReader("")}
	if _, err := Start(cfg); err == nil {
		t.Error("Start with a host root and a root filesystem archive: no error")
	}
}

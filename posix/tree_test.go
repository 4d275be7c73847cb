package posix

import (
	"io"
	"path"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// The default tree made straight in the ramfs (tree.seed) must be the
// tree the VFS makes: same names, types, modes, owners, sizes, link
// counts and contents, and the same space charged.
func TestTreeSeedMatchesVFS(t *testing.T) {
	build := func(seed bool) (*fs.VFS, *ramfs.FS) {
		root := ramfs.New(ramfs.Options{})
		v := fs.New(root, fs.Cred{})
		tr := tree{v: v}
		if seed {
			tr.seed = root
		}
		p := &Process{}
		for _, d := range []struct {
			name string
			perm uint32
		}{{"/tmp", 0o1777}, {"/dev", 0o755}, {"/proc", 0o555}} {
			if err := tr.dir(d.name, d.perm); err != nil {
				t.Fatalf("seed=%v: dir %s: %v", seed, d.name, err)
			}
		}
		if err := p.cpuFiles(tr); err != nil {
			t.Fatalf("seed=%v: cpuFiles: %v", seed, err)
		}
		if err := p.etcDefaults(tr); err != nil {
			t.Fatalf("seed=%v: etcDefaults: %v", seed, err)
		}
		// A second pass leaves everything as it is.
		if err := p.etcDefaults(tr); err != nil {
			t.Fatalf("seed=%v: etcDefaults again: %v", seed, err)
		}
		return v, root
	}
	vv, vr := build(false)
	sv, sr := build(true)
	names := []string{"/", "/tmp", "/dev", "/proc", "/sys", "/sys/devices", "/sys/devices/system",
		"/sys/devices/system/cpu", "/sys/devices/system/cpu/online", "/sys/devices/system/cpu/possible",
		"/sys/devices/system/cpu/present", "/etc", "/root", "/etc/passwd", "/etc/group", "/etc/hosts"}
	for _, n := range names {
		a, err := vv.Stat(fs.Loc{}, n, linux.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			t.Fatalf("VFS tree: stat %s: %v", n, err)
		}
		b, err := sv.Stat(fs.Loc{}, n, linux.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			t.Fatalf("seeded tree: stat %s: %v", n, err)
		}
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Size != b.Size || a.Nlink != b.Nlink || a.Blocks != b.Blocks {
			t.Errorf("%s: VFS %+v, seeded %+v", n, a, b)
		}
		if a.IsDir() {
			if x, y := list(t, vv, n), list(t, sv, n); x != y {
				t.Errorf("%s lists %q through the VFS, %q seeded", n, x, y)
			}
			continue
		}
		if x, y := read(t, vv, n), read(t, sv, n); x != y {
			t.Errorf("%s holds %q through the VFS, %q seeded", n, x, y)
		}
	}
	if a, _ := vr.Usage(); a == 0 {
		t.Fatal("the VFS tree charged no space")
	} else if b, _ := sr.Usage(); a != b {
		t.Errorf("space charged: VFS %d, seeded %d", a, b)
	}
}

func list(t *testing.T, v *fs.VFS, dir string) string {
	t.Helper()
	f, err := v.Open(fs.Loc{}, dir, linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer f.Close()
	var s string
	if err := f.ReadDir(func(d fs.Dirent) bool { s += d.Name + " "; return true }); err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	return s
}

func read(t *testing.T, v *fs.VFS, name string) string {
	t.Helper()
	f, err := v.Open(fs.Loc{}, name, linux.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	// The VFS's Read gives 0 bytes and no error at the end, as read(2).
	var b []byte
	buf := make([]byte, 512)
	for i := 0; i < 64; i++ {
		n, err := f.Read(buf)
		if err != nil && err != io.EOF {
			t.Fatalf("read %s: %v", name, err)
		}
		if n == 0 {
			return string(b)
		}
		b = append(b, buf[:n]...)
	}
	t.Fatalf("read %s: no end after %d bytes", name, len(b))
	return ""
}

func TestAbsName(t *testing.T) {
	for _, n := range []string{"hello", "a.out", ".hidden", "..x", ".", "..", "./hello", "bin/../hello", "/usr/bin/x", "a//b/", "x/."} {
		if got, want := absName(n), path.Join("/", n); got != want {
			t.Errorf("absName(%q) = %q, want %q", n, got, want)
		}
	}
}

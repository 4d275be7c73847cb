package tzdata

import (
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// The database mounted in a VFS reads as /usr/share/zoneinfo does on
// Linux, and refuses changes.
func TestFSMounted(t *testing.T) {
	zip := goZoneinfo(t)
	old := data
	data = string(zip)
	defer func() { data = old }()
	z, err := FS()
	if err != nil || z == nil {
		t.Fatalf("FS: %v", err)
	}
	v := fs.New(ramfs.New(ramfs.Options{}), fs.Cred{})
	for _, d := range []string{"/usr", "/usr/share", "/usr/share/zoneinfo"} {
		if err := v.Mkdir(fs.Loc{}, d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Mount(fs.Loc{}, "/usr/share/zoneinfo", z); err != nil {
		t.Fatal(err)
	}
	// Mounting asks the root only its inode number: the tree is built on
	// the first look inside, not at every boot.
	if root := z.Root().(*zoneDir); len(root.kids) != 0 {
		t.Fatalf("mounting built the tree (%d top-level names)", len(root.kids))
	}
	f, err := v.Open(fs.Loc{}, "/usr/share/zoneinfo/Europe/../Europe/Paris", linux.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(readerOf{f})
	f.Close()
	if err != nil || !strings.HasPrefix(string(b), "TZif") || len(b) < 100 {
		t.Fatalf("Europe/Paris: %d bytes %q..., %v", len(b), b[:min(len(b), 8)], err)
	}
	d, err := v.Open(fs.Loc{}, "/usr/share/zoneinfo/America", linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := d.ReadDir(func(e fs.Dirent) bool { names = append(names, e.Name); return true }); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if !strings.Contains(strings.Join(names, " "), "New_York") || len(names) < 50 {
		t.Errorf("America/ lists %d names: %q", len(names), names)
	}
	if _, err := v.Open(fs.Loc{}, "/usr/share/zoneinfo/UTC", linux.O_WRONLY, 0); err != syscall.EROFS {
		t.Errorf("open for writing: %v, want EROFS", err)
	}
	if _, err := v.Open(fs.Loc{}, "/usr/share/zoneinfo/Mine", linux.O_WRONLY|linux.O_CREAT, 0o644); err != syscall.EROFS {
		t.Errorf("create: %v, want EROFS", err)
	}
	if _, err := v.Open(fs.Loc{}, "/usr/share/zoneinfo/Nowhere/City", linux.O_RDONLY, 0); err != syscall.ENOENT {
		t.Errorf("missing zone: %v, want ENOENT", err)
	}
}

type readerOf struct{ f *fs.File }

func (r readerOf) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return n, err
}

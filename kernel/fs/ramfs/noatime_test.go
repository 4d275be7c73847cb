package ramfs_test

import (
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// O_NOATIME reads leave the access time alone (gnulib's "working
// fcntl.h" check reads confdefs.h so and compares st_atime).
func TestNoatime(t *testing.T) {
	now := time.Unix(1000, 0)
	v := fs.New(ramfs.New(ramfs.Options{Clock: func() time.Time { return now }}), fs.Cred{})
	f, err := v.Open(root, "/f", linux.O_RDWR|linux.O_CREAT, 0o644)
	ok(t, err)
	_, err = f.Write([]byte("data"))
	ok(t, err)
	ok(t, f.Close())
	atime := func() time.Time {
		st, err := v.Stat(root, "/f", 0)
		ok(t, err)
		return st.Atime
	}
	read := func(flags int) {
		f, err := v.Open(root, "/f", flags, 0)
		ok(t, err)
		_, err = f.ReadAt(make([]byte, 4), 0)
		ok(t, err)
		ok(t, f.Close())
	}
	now = time.Unix(2000, 0)
	read(linux.O_RDONLY | linux.O_NOATIME)
	if got := atime(); !got.Equal(time.Unix(1000, 0)) {
		t.Errorf("atime after an O_NOATIME read: %v, want unchanged", got)
	}
	read(linux.O_RDONLY)
	if got := atime(); !got.Equal(now) {
		t.Errorf("atime after a read: %v, want %v", got, now)
	}
}

package ramfs_test

import (
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// A handle used after Close fails instead of writing into a file whose
// pages were freed (it was unlinked, and that was its last open).
func TestHandleAfterClose(t *testing.T) {
	v := fs.New(ramfs.New(ramfs.Options{}), fs.Cred{})
	f, err := v.Open(root, "/f", linux.O_RDWR|linux.O_CREAT, 0o644)
	ok(t, err)
	_, err = f.Write([]byte("data"))
	ok(t, err)
	ok(t, f.Close())
	l, err := v.Lookup(root, "/f", false)
	ok(t, err)
	h, err := l.Inode().Open(linux.O_RDWR)
	ok(t, err)
	ok(t, v.Unlink(root, "/f", 0))
	ok(t, h.Close())
	if _, err := h.WriteAt([]byte("x"), 0); !is(err, syscall.EBADF) {
		t.Errorf("WriteAt after Close: %v", err)
	}
	if _, err := h.ReadAt(make([]byte, 4), 0); !is(err, syscall.EBADF) {
		t.Errorf("ReadAt after Close: %v", err)
	}
	if _, _, err := h.(fs.Appender).Append([]byte("x")); !is(err, syscall.EBADF) {
		t.Errorf("Append after Close: %v", err)
	}
}

//go:build unix

package rootfs

import (
	"io/fs"
	"os"
	"syscall"
)

// fileKey identifies an inode on the host.
type fileKey struct{ dev, ino uint64 }

type fileID struct {
	key      fileKey
	nlink    uint64
	uid, gid uint32
}

func sysInfo(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		key:   fileKey{uint64(st.Dev), uint64(st.Ino)},
		nlink: uint64(st.Nlink),
		uid:   st.Uid,
		gid:   st.Gid,
	}, true
}

func openNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

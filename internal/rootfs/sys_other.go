//go:build !unix

package rootfs

import (
	"io/fs"
	"os"
)

// Without Unix stat data there are no inode numbers or owners to keep:
// every file is packed as its own copy, owned by Options.UID/GID.
type fileKey struct{}

type fileID struct {
	key      fileKey
	nlink    uint64
	uid, gid uint32
}

func sysInfo(fs.FileInfo) (fileID, bool) { return fileID{}, false }

func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

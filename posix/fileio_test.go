package posix

import (
	"encoding/binary"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// copy_file_range refuses to copy a file onto an overlapping range of
// itself (Go's io.Copy(f, f) expects EINVAL to fall back), but copies
// between disjoint ranges of one file.
func TestCopyFileRangeOverlap(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		u.writeFile("/tmp/f", "hello world!")
		fd := uint64(u.ok("open", u.open("/tmp/f", 2, 0)))
		dup := uint64(u.ok("open again", u.open("/tmp/f", 2, 0)))
		u.want("same description, same position", s.call(linux.SYS_COPY_FILE_RANGE, fd, 0, fd, 0, 1<<30, 0), errno(linux.EINVAL))
		u.want("another description of the file", s.call(linux.SYS_COPY_FILE_RANGE, fd, 0, dup, 0, 1<<30, 0), errno(linux.EINVAL))
		offs := u.buf() + 1024
		s.poke(offs, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0), 6))
		u.want("overlapping offsets", s.call(linux.SYS_COPY_FILE_RANGE, fd, uint64(offs), fd, uint64(offs+8), 7, 0), errno(linux.EINVAL))
		u.want("disjoint offsets", s.call(linux.SYS_COPY_FILE_RANGE, fd, uint64(offs), fd, uint64(offs+8), 5, 0), 5)
		s.poke(offs, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 12), 0))
		u.want("from the end of the file", s.call(linux.SYS_COPY_FILE_RANGE, fd, uint64(offs), fd, uint64(offs+8), 5, 0), 0)
		if got := u.readFile("/tmp/f"); got != "hello hello!" {
			u.failf("file %q", got)
		}
	})
}

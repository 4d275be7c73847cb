package posix

import (
	"encoding/binary"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// F_GETLK on a ramfs file reports F_UNLCK, as Linux does when nothing
// conflicts; SQLite reads anything else as another process's lock.
func TestGetlkOnLocalFile(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		u.writeFile("/tmp/db", "x")
		fd := uint64(u.ok("open", u.open("/tmp/db", linux.O_RDWR, 0)))
		fl := u.buf()
		for _, cmd := range []uint64{linux.F_GETLK, linux.F_OFD_GETLK} {
			var b [flockSize]byte
			binary.LittleEndian.PutUint16(b[0:], uint16(linux.F_WRLCK))
			binary.LittleEndian.PutUint64(b[16:], 10) // l_len, left alone
			s.poke(fl, b[:])
			u.want("fcntl GETLK", s.call(linux.SYS_FCNTL, fd, cmd, uint64(fl)), 0)
			got := s.peek(fl, flockSize)
			if typ := int16(binary.LittleEndian.Uint16(got)); typ != linux.F_UNLCK {
				u.failf("cmd %d: l_type = %d, want F_UNLCK", cmd, typ)
			}
			if l := binary.LittleEndian.Uint64(got[16:]); l != 10 {
				u.failf("cmd %d: l_len = %d, want it left as 10", cmd, l)
			}
			binary.LittleEndian.PutUint16(b[0:], 7) // no such lock type
			s.poke(fl, b[:])
			u.want("fcntl GETLK bad type", s.call(linux.SYS_FCNTL, fd, cmd, uint64(fl)), -int64(linux.EINVAL))
		}
		u.want("fcntl GETLK bad pointer", s.call(linux.SYS_FCNTL, fd, linux.F_GETLK, 8), -int64(linux.EFAULT))
	})
}

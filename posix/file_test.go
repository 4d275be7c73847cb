package posix

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Every descriptor call works on every kind of file and answers as
// Linux answers for that kind (one file model, no "not a VFS file").
func TestOneFileModel(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		rfd, wfd := u.pipe(0)
		efd := uint64(u.ok("eventfd2", s.call(linux.SYS_EVENTFD2, 0, 0)))
		epfd := uint64(u.ok("epoll_create1", s.call(linux.SYS_EPOLL_CREATE1, 0)))
		u.writeFile("/tmp/f", "data")
		ffd := uint64(u.ok("open file", u.open("/tmp/f", linux.O_RDWR, 0)))
		dfd := uint64(u.ok("open dir", u.open("/tmp", linux.O_RDONLY|linux.O_DIRECTORY, 0)))
		scratch := uint64(u.buf())
		for _, c := range []struct {
			name      string
			fd        uint64
			mode      uint32
			lseek     int64 // 0: allowed
			getdents  int64
			fsync     int64
			ftruncate int64
			fchdir    int64
			mmap      int64 // 0: allowed
		}{
			{"pipe read end", rfd, linux.S_IFIFO, -29, -20, -22, -22, -20, -19},
			{"pipe write end", wfd, linux.S_IFIFO, -29, -20, -22, -22, -20, -19},
			{"eventfd", efd, 0, -29, -20, -22, -22, -20, -19},
			{"epoll", epfd, 0, -29, -20, -22, -22, -20, -19},
			{"stdin", 0, linux.S_IFCHR, -29, -20, -22, -22, -20, -19},
			{"stdout", 1, linux.S_IFCHR, -29, -20, -22, -22, -20, -19},
			{"regular file", ffd, linux.S_IFREG, 0, -20, 0, 0, -20, 0},
			{"directory", dfd, linux.S_IFDIR, 0, 0, 0, -22, 0, -19},
		} {
			what := func(call string) string { return fmt.Sprintf("%s on %s", call, c.name) }
			u.ok(what("fstat"), s.call(linux.SYS_FSTAT, c.fd, scratch))
			if got := binary.LittleEndian.Uint32(s.peek(uintptr(scratch)+16, 4)) & linux.S_IFMT; got != c.mode {
				u.failf("%s: mode %#o, want %#o", what("fstat"), got, c.mode)
			}
			if r := s.call(linux.SYS_LSEEK, c.fd, 0, linux.SEEK_SET); c.lseek != 0 || r < 0 {
				u.want(what("lseek"), r, c.lseek)
			}
			if r := s.call(linux.SYS_GETDENTS64, c.fd, scratch, 4096); c.getdents != 0 || r < 0 {
				u.want(what("getdents64"), r, c.getdents)
			}
			u.want(what("fsync"), s.call(linux.SYS_FSYNC, c.fd), c.fsync)
			if c.name != "directory" {
				u.want(what("ftruncate"), s.call(linux.SYS_FTRUNCATE, c.fd, 4), c.ftruncate)
			}
			if c.fchdir != 0 {
				u.want(what("fchdir"), s.call(linux.SYS_FCHDIR, c.fd), c.fchdir)
			}
			r := s.call(linux.SYS_MMAP, 0, 4096, linux.PROT_READ, linux.MAP_PRIVATE, c.fd, 0)
			if c.mmap != 0 || r < 0 {
				u.want(what("mmap"), r, c.mmap)
			}
			link := fmt.Sprintf("/proc/self/fd/%d", c.fd)
			if n := s.call(linux.SYS_READLINKAT, fdcwd, u.str(link), scratch, 256); n <= 0 {
				u.failf("%s: readlink %d", what("readlink "+link), n)
			}
		}
		// FIONREAD counts what waits in a pipe.
		s.poke(u.buf(), []byte("12345"))
		u.want("write to the pipe", s.call(linux.SYS_WRITE, wfd, uint64(u.buf()), 5), 5)
		u.ok("FIONREAD on the pipe", s.call(linux.SYS_IOCTL, rfd, linux.FIONREAD, scratch))
		u.want("bytes FIONREAD reports", int64(binary.LittleEndian.Uint32(s.peek(uintptr(scratch), 4))), 5)
		u.want("FIONREAD on an eventfd", s.call(linux.SYS_IOCTL, efd, linux.FIONREAD, scratch), -int64(linux.ENOTTY))
	})
}

// /proc/self/fd/N reopens files that have no place in the VFS: a pipe's
// read end read through a second open, the console through /dev/stdin.
func TestReopenThroughProcFD(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		rfd, wfd := u.pipe(0)
		s.poke(u.buf(), []byte("through proc"))
		u.want("write", s.call(linux.SYS_WRITE, wfd, uint64(u.buf()), 12), 12)
		again := u.ok("reopen the read end", u.open(fmt.Sprintf("/proc/self/fd/%d", rfd), linux.O_RDONLY, 0))
		u.want("read through the reopened end", s.call(linux.SYS_READ, uint64(again), uint64(u.buf()), 64), 12)
		if got := string(s.peek(u.buf(), 12)); got != "through proc" {
			u.failf("read %q through the reopened end", got)
		}
		w2 := u.ok("reopen as a writer", u.open(fmt.Sprintf("/dev/fd/%d", rfd), linux.O_WRONLY, 0))
		u.want("write through the reopened writer", s.call(linux.SYS_WRITE, uint64(w2), uint64(u.buf()), 3), 3)
		mode, _, _, _, e := u.stat(fmt.Sprintf("/proc/self/fd/%d", rfd), 0)
		u.want("stat of the link", e, 0)
		if mode&linux.S_IFMT != linux.S_IFIFO {
			u.failf("stat through /proc/self/fd: mode %#o, want a FIFO", mode)
		}
		u.ok("open /dev/stdout", u.open("/dev/stdout", linux.O_WRONLY, 0))
		u.ok("open /dev/tty", u.open("/dev/tty", linux.O_RDWR, 0))
		efd := u.ok("eventfd2", s.call(linux.SYS_EVENTFD2, 0, 0))
		u.want("reopen an eventfd", u.open(fmt.Sprintf("/proc/self/fd/%d", efd), linux.O_RDWR, 0), -int64(linux.ENXIO))
	})
}

// Arguments that are out of range get EINVAL, never a kernel panic.
func TestDescriptorArgumentsBounded(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		const einval = -int64(linux.EINVAL)
		u.want("fcntl(0, F_DUPFD, -1)", s.call(linux.SYS_FCNTL, 0, linux.F_DUPFD, ^uint64(0)), einval)
		u.want("fcntl(0, F_DUPFD, INT_MIN)", s.call(linux.SYS_FCNTL, 0, linux.F_DUPFD, 1<<31), einval)
		u.want("fcntl(0, F_DUPFD_CLOEXEC, 4096)", s.call(linux.SYS_FCNTL, 0, linux.F_DUPFD_CLOEXEC, 4096), einval)
		u.want("fcntl(-1, F_GETFD)", s.call(linux.SYS_FCNTL, ^uint64(0), linux.F_GETFD), -int64(linux.EBADF))
		u.want("dup3 to a negative fd", s.call(linux.SYS_DUP3, 0, ^uint64(0), 0), -int64(linux.EBADF))
		u.want("read of 2^63 bytes", s.call(linux.SYS_READ, 0, uint64(u.buf()), 1<<63), einval)
		u.want("pread64 at a negative offset", s.call(linux.SYS_PREAD64, 0, uint64(u.buf()), 1, ^uint64(0)), einval)
		u.want("readv of 1025 iovecs", s.call(linux.SYS_READV, 0, uint64(u.buf()), 1025), einval)
		// Two iovecs whose lengths overflow ssize_t.
		iov := make([]byte, 32)
		binary.LittleEndian.PutUint64(iov[0:], uint64(u.buf()))
		binary.LittleEndian.PutUint64(iov[8:], 1<<62)
		binary.LittleEndian.PutUint64(iov[16:], uint64(u.buf()))
		binary.LittleEndian.PutUint64(iov[24:], 1<<62)
		s.poke(u.buf()+8192, iov)
		u.want("writev whose total overflows", s.call(linux.SYS_WRITEV, 1, uint64(u.buf()+8192), 2), einval)
		u.want("preadv2 with RWF_NOWAIT", s.call(linux.SYS_PREADV2, 0, uint64(u.buf()+8192), 1, 0, 0, linux.RWF_NOWAIT), -int64(linux.EOPNOTSUPP))
	})
}

// A request larger than the kernel's chunk never returns 0: writev of
// one 4 MiB iovec moves a positive count to a pipe (what fits) and all
// of it to a file, and reading it back across iovecs gives it whole.
func TestLargeVectorIO(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		const size = 4 << 20
		big, e := s.cpu.Map(0, size, linux.PROT_READ|linux.PROT_WRITE, 0)
		if e != 0 {
			u.failf("map: %v", e)
			return
		}
		pattern := make([]byte, size)
		for i := range pattern {
			pattern[i] = byte(i * 7 >> 3)
		}
		s.poke(big, pattern)
		iov := u.buf() + 8192
		putIov := func(i int, base uintptr, n uint64) {
			b := make([]byte, 16)
			binary.LittleEndian.PutUint64(b, uint64(base))
			binary.LittleEndian.PutUint64(b[8:], n)
			s.poke(iov+uintptr(16*i), b)
		}
		putIov(0, big, size)
		_, wfd := u.pipe(linux.O_NONBLOCK)
		u.want("writev of 4 MiB to a non-blocking pipe", s.call(linux.SYS_WRITEV, wfd, uint64(iov), 1), pipeSize)
		fd := uint64(u.ok("open", u.open("/tmp/big", linux.O_RDWR|linux.O_CREAT, 0o600)))
		u.want("writev of 4 MiB to a file", s.call(linux.SYS_WRITEV, fd, uint64(iov), 1), size)
		s.poke(big, make([]byte, size))
		putIov(0, big, 1000)
		putIov(1, big+1000, size-1000)
		u.want("preadv back in two iovecs", s.call(linux.SYS_PREADV, fd, uint64(iov), 2, 0), size)
		if got := s.peek(big, size); string(got) != string(pattern) {
			u.failf("preadv gave different bytes")
		}
		u.want("pwritev at 1 MiB", s.call(linux.SYS_PWRITEV, fd, uint64(iov), 1, 1<<20), 1000)
		u.want("pread64 of 4 MiB", s.call(linux.SYS_PREAD64, fd, uint64(big), size, 0), size)
	})
}

// pipe makes a pipe with pipe2(flags) and returns its read and write ends.
func (u *fsUser) pipe(flags uint64) (r, w uint64) {
	fds := u.buf() + 30<<10 // the buffer's last KiB: tests keep their data below
	u.ok("pipe2", u.s.call(linux.SYS_PIPE2, uint64(fds), flags))
	p := u.s.peek(fds, 8)
	return uint64(binary.LittleEndian.Uint32(p)), uint64(binary.LittleEndian.Uint32(p[4:]))
}

// The close-on-exec flag is the descriptor's, not the file's: F_SETFD,
// FIOCLEX and FIONCLEX set it, F_GETFD reads it, a dup starts without it
// (F_DUPFD_CLOEXEC with it), and a closed descriptor is EBADF.
func TestCloexecFlag(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		fd := uint64(u.ok("dup 1", s.call(linux.SYS_DUP, 1)))
		u.want("F_GETFD of a dup", s.call(linux.SYS_FCNTL, fd, linux.F_GETFD), 0)
		u.want("F_SETFD FD_CLOEXEC", s.call(linux.SYS_FCNTL, fd, linux.F_SETFD, linux.FD_CLOEXEC), 0)
		u.want("F_GETFD after F_SETFD", s.call(linux.SYS_FCNTL, fd, linux.F_GETFD), linux.FD_CLOEXEC)
		u.want("F_GETFD of the original", s.call(linux.SYS_FCNTL, 1, linux.F_GETFD), 0)
		u.want("FIONCLEX", s.call(linux.SYS_IOCTL, fd, linux.FIONCLEX), 0)
		u.want("F_GETFD after FIONCLEX", s.call(linux.SYS_FCNTL, fd, linux.F_GETFD), 0)
		u.want("FIOCLEX", s.call(linux.SYS_IOCTL, fd, linux.FIOCLEX), 0)
		u.want("F_GETFD after FIOCLEX", s.call(linux.SYS_FCNTL, fd, linux.F_GETFD), linux.FD_CLOEXEC)
		d2 := uint64(u.ok("F_DUPFD_CLOEXEC", s.call(linux.SYS_FCNTL, fd, linux.F_DUPFD_CLOEXEC, 0)))
		u.want("F_GETFD of F_DUPFD_CLOEXEC's", s.call(linux.SYS_FCNTL, d2, linux.F_GETFD), linux.FD_CLOEXEC)
		u.want("close", s.call(linux.SYS_CLOSE, fd), 0)
		u.want("F_SETFD of a closed descriptor", s.call(linux.SYS_FCNTL, fd, linux.F_SETFD, linux.FD_CLOEXEC), -int64(linux.EBADF))
		u.want("FIOCLEX of a closed descriptor", s.call(linux.SYS_IOCTL, fd, linux.FIOCLEX), -int64(linux.EBADF))
		d3 := uint64(u.ok("dup 1 again (the lowest free number)", s.call(linux.SYS_DUP, 1)))
		u.want("the reused number starts without the flag", s.call(linux.SYS_FCNTL, d3, linux.F_GETFD), 0)
	})
}

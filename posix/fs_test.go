package posix

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// riscv64 syscall numbers used below.
const (
	fdcwd = uint64(1<<64 + linux.AT_FDCWD) // AT_FDCWD as a register value
)

// fsUser is a fake program's view: a scratch area for strings and
// buffers, and a list of failures reported after the process exits.
type fsUser struct {
	s    *userSide
	base uintptr // 16 string slots of 512 bytes, then a 32 KiB buffer
	slot int
	mu   *sync.Mutex
	errs *[]string
}

func (u *fsUser) str(v string) uint64 {
	a := u.base + uintptr(u.slot%16)*512
	u.slot++
	u.s.poke(a, append([]byte(v), 0))
	return uint64(a)
}

func (u *fsUser) buf() uintptr { return u.base + 16*512 }

func (u *fsUser) failf(format string, args ...any) {
	u.mu.Lock()
	*u.errs = append(*u.errs, fmt.Sprintf(format, args...))
	u.mu.Unlock()
}

// want checks a syscall result.
func (u *fsUser) want(what string, got, want int64) {
	if got != want {
		u.failf("%s = %d, want %d", what, got, want)
	}
}

// ok checks a syscall did not fail and returns its result.
func (u *fsUser) ok(what string, got int64) int64 {
	if got < 0 && got > -4096 {
		u.failf("%s failed: %v", what, linux.Errno(-got))
	}
	return got
}

func (u *fsUser) open(path string, flags, mode uint64) int64 {
	return u.s.call(linux.SYS_OPENAT, fdcwd, u.str(path), flags, mode)
}

// writeFile creates path with body.
func (u *fsUser) writeFile(path, body string) {
	fd := u.ok("open "+path, u.open(path, 0o1101, 0o644)) // O_WRONLY|O_CREAT|O_TRUNC
	u.s.poke(u.buf(), []byte(body))
	u.ok("write "+path, u.s.call(linux.SYS_WRITE, uint64(fd), uint64(u.buf()), uint64(len(body))))
	u.s.call(linux.SYS_CLOSE, uint64(fd))
}

// readFile reads path whole (up to 32 KiB).
func (u *fsUser) readFile(path string) string {
	fd := u.open(path, 0, 0)
	if fd < 0 {
		u.failf("open %s: %v", path, linux.Errno(-fd))
		return ""
	}
	defer u.s.call(linux.SYS_CLOSE, uint64(fd))
	var out []byte
	for {
		n := u.s.call(linux.SYS_READ, uint64(fd), uint64(u.buf()), 32<<10)
		if n <= 0 {
			return string(out)
		}
		out = append(out, u.s.peek(u.buf(), int(n))...)
	}
}

// stat returns (mode, size, nlink, ino) of path via newfstatat.
func (u *fsUser) stat(path string, flags uint64) (mode uint32, size int64, nlink uint32, ino uint64, e int64) {
	e = u.s.call(linux.SYS_NEWFSTATAT, fdcwd, u.str(path), uint64(u.buf()), flags)
	if e != 0 {
		return
	}
	b := u.s.peek(u.buf(), 128)
	le := binary.LittleEndian
	return le.Uint32(b[16:]), int64(le.Uint64(b[48:])), le.Uint32(b[20:]), le.Uint64(b[8:]), 0
}

// runFS runs prog in a process made from cfg (CPU, entry and streams
// are filled in) and fails t with what prog reported.
func runFS(t *testing.T, cfg Config, prog func(u *fsUser)) string {
	t.Helper()
	return runFSThreads(t, cfg, nil, prog)
}

// runFSThreads is runFS with more programs (thread entry PC → program).
func runFSThreads(t *testing.T, cfg Config, threads map[uint64]func(*userSide), prog func(u *fsUser)) string {
	t.Helper()
	cpu := newFakeCPU()
	for pc, f := range threads {
		cpu.progs[pc] = f
	}
	var mu sync.Mutex
	var errs []string
	cpu.progs[0x1000] = func(s *userSide) {
		base, e := s.cpu.Map(0, 16*linux.PageSize, linux.PROT_READ|linux.PROT_WRITE, 0)
		if e != 0 {
			panic(e)
		}
		prog(&fsUser{s: s, base: base, mu: &mu, errs: &errs})
		s.call(linux.SYS_EXIT_GROUP, 0)
	}
	var out, log bytes.Buffer
	cfg.CPU, cfg.Entry, cfg.SP, cfg.BrkStart = cpu, 0x1000, 0x7000_0000, 0x40_0000
	cfg.Stdin, cfg.Stdout, cfg.Stderr, cfg.Log = strings.NewReader(""), &out, &out, &log
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 0 {
		t.Errorf("exit %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
	return out.String()
}

func TestFSFileLifecycle(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		s.call(linux.SYS_UMASK, 0o027)
		u.writeFile("/tmp/a", "hello, world")
		mode, size, nlink, _, _ := u.stat("/tmp/a", 0)
		u.want("mode", int64(mode), 0o100640) // 0644 &^ 027
		u.want("size", size, 12)
		u.want("nlink", int64(nlink), 1)

		fd := uint64(u.ok("open rw", u.open("/tmp/a", 2, 0)))
		u.want("lseek end", s.call(linux.SYS_LSEEK, fd, 0, 2), 12)
		s.poke(u.buf(), []byte("!"))
		u.want("write at end", s.call(linux.SYS_WRITE, fd, uint64(u.buf()), 1), 1)
		u.want("pread", s.call(linux.SYS_PREAD64, fd, uint64(u.buf()), 5, 7), 5)
		if got := string(s.peek(u.buf(), 5)); got != "world" {
			u.failf("pread got %q", got)
		}
		s.poke(u.buf(), []byte("H"))
		u.want("pwrite", s.call(linux.SYS_PWRITE64, fd, uint64(u.buf()), 1, 0), 1)
		u.want("ftruncate", s.call(linux.SYS_FTRUNCATE, fd, 5), 0)
		u.want("fchmod", s.call(linux.SYS_FCHMOD, fd, 0o600), 0)
		u.want("fstat", s.call(linux.SYS_FSTAT, fd, uint64(u.buf())), 0)
		if b := s.peek(u.buf(), 128); binary.LittleEndian.Uint32(b[16:]) != 0o100600 || binary.LittleEndian.Uint64(b[48:]) != 5 {
			u.failf("fstat mode %o size %d", binary.LittleEndian.Uint32(b[16:]), binary.LittleEndian.Uint64(b[48:]))
		}
		pfd := u.buf() + 1024 // struct pollfd: POLLIN|POLLOUT on fd
		s.poke(pfd, []byte{byte(fd), 0, 0, 0, 5, 0, 0, 0})
		u.want("ppoll regular file", s.call(linux.SYS_PPOLL, uint64(pfd), 1, 0, 0, 8), 1)
		if r := s.peek(pfd+6, 1)[0]; r != 5 {
			u.failf("revents %#x", r)
		}
		s.call(linux.SYS_CLOSE, fd)
		if got := u.readFile("/tmp/a"); got != "Hello" {
			u.failf("content %q", got)
		}

		// O_APPEND, links, symlinks, rename, unlink.
		fd = uint64(u.ok("open append", u.open("/tmp/a", 0o2001, 0)))
		s.poke(u.buf(), []byte("++"))
		s.call(linux.SYS_WRITE, fd, uint64(u.buf()), 2)
		s.call(linux.SYS_CLOSE, fd)
		u.want("linkat", s.call(linux.SYS_LINKAT, fdcwd, u.str("/tmp/a"), fdcwd, u.str("/tmp/b"), 0), 0)
		if _, _, n, _, _ := u.stat("/tmp/b", 0); n != 2 {
			u.failf("nlink after link %d", n)
		}
		u.want("symlinkat", s.call(linux.SYS_SYMLINKAT, u.str("a"), fdcwd, u.str("/tmp/l")), 0)
		u.want("readlinkat", s.call(linux.SYS_READLINKAT, fdcwd, u.str("/tmp/l"), uint64(u.buf()), 100), 1)
		if got := u.readFile("/tmp/l"); got != "Hello++" {
			u.failf("through symlink %q", got)
		}
		if m, _, _, _, _ := u.stat("/tmp/l", 0x100); m&0o170000 != 0o120000 {
			u.failf("lstat mode %o", m)
		}
		u.want("rename", s.call(linux.SYS_RENAMEAT2, fdcwd, u.str("/tmp/b"), fdcwd, u.str("/tmp/c"), 0), 0)
		u.want("unlink a", s.call(linux.SYS_UNLINKAT, fdcwd, u.str("/tmp/a"), 0), 0)
		u.want("dangling", u.open("/tmp/l", 0, 0), errno(linux.ENOENT))
		if got := u.readFile("/tmp/c"); got != "Hello++" {
			u.failf("renamed %q", got)
		}
		u.want("truncate", s.call(linux.SYS_TRUNCATE, u.str("/tmp/c"), 1), 0)
		if got := u.readFile("/tmp/c"); got != "H" {
			u.failf("truncated %q", got)
		}
	})
}

func TestFSDirectories(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		u.want("mkdir", s.call(linux.SYS_MKDIRAT, fdcwd, u.str("/tmp/d"), 0o755), 0)
		for _, n := range []string{"x", "y", "z"} {
			u.writeFile("/tmp/d/"+n, n)
		}
		u.want("chdir", s.call(linux.SYS_CHDIR, u.str("/tmp/d")), 0)
		u.want("getcwd", s.call(linux.SYS_GETCWD, uint64(u.buf()), 100), 7)
		if got := string(s.peek(u.buf(), 7)); got != "/tmp/d\x00" {
			u.failf("cwd %q", got)
		}
		u.want("getcwd small", s.call(linux.SYS_GETCWD, uint64(u.buf()), 3), errno(linux.ERANGE))
		if got := u.readFile("y"); got != "y" {
			u.failf("relative read %q", got)
		}
		dfd := uint64(u.ok("open dir", u.open(".", 0x10000, 0))) // O_DIRECTORY
		var names []string
		for {
			n := s.call(linux.SYS_GETDENTS64, dfd, uint64(u.buf()), 64) // small: several calls
			if n <= 0 {
				u.want("getdents end", n, 0)
				break
			}
			b := s.peek(u.buf(), int(n))
			for len(b) > 0 {
				rl := binary.LittleEndian.Uint16(b[16:])
				names = append(names, strings.TrimRight(string(b[19:rl]), "\x00"))
				b = b[rl:]
			}
		}
		if got := strings.Join(names, ","); got != ".,..,x,y,z" {
			u.failf("getdents %q", got)
		}
		u.want("getdents tiny", s.call(linux.SYS_LSEEK, dfd, 0, 0), 0)
		u.want("getdents tiny", s.call(linux.SYS_GETDENTS64, dfd, uint64(u.buf()), 8), errno(linux.EINVAL))
		// openat relative to a dirfd, fchdir back.
		fd := u.ok("openat dirfd", s.call(linux.SYS_OPENAT, dfd, u.str("z"), 0, 0))
		s.call(linux.SYS_CLOSE, uint64(fd))
		u.want("chdir /", s.call(linux.SYS_CHDIR, u.str("/")), 0)
		u.want("fchdir", s.call(linux.SYS_FCHDIR, dfd), 0)
		u.want("getcwd again", s.call(linux.SYS_GETCWD, uint64(u.buf()), 100), 7)
		u.want("rmdir nonempty", s.call(linux.SYS_UNLINKAT, fdcwd, u.str("/tmp/d"), 0x200), errno(linux.ENOTEMPTY))
		u.want("statfs", s.call(linux.SYS_STATFS, u.str("/tmp"), uint64(u.buf())), 0)
		if m := binary.LittleEndian.Uint64(s.peek(u.buf(), 8)); m != 0x01021994 {
			u.failf("statfs magic %#x", m)
		}
		s.call(linux.SYS_CLOSE, dfd)
	})
}

// Error cases, each a call and the errno Linux gives.
func TestFSErrors(t *testing.T) {
	type tc struct {
		name string
		call func(u *fsUser) int64
		want linux.Errno
	}
	cases := []tc{
		{"open missing", func(u *fsUser) int64 { return u.open("/nope", 0, 0) }, linux.ENOENT},
		{"open excl existing", func(u *fsUser) int64 { return u.open("/etc/passwd", 0xc1, 0o644) }, linux.EEXIST},
		{"open dir for write", func(u *fsUser) int64 { return u.open("/tmp", 1, 0) }, linux.EISDIR},
		{"O_DIRECTORY on file", func(u *fsUser) int64 { return u.open("/etc/passwd", 0x10000, 0) }, linux.ENOTDIR},
		{"O_NOFOLLOW on symlink", func(u *fsUser) int64 { return u.open("/dev/stdin", 0x20000, 0) }, linux.ELOOP},
		{"file as directory", func(u *fsUser) int64 { return u.open("/etc/passwd/x", 0, 0) }, linux.ENOTDIR},
		{"name too long", func(u *fsUser) int64 { return u.open("/tmp/"+strings.Repeat("n", 256), 0x41, 0o644) }, linux.ENAMETOOLONG},
		{"relative to a pipe-less bad fd", func(u *fsUser) int64 { return u.s.call(linux.SYS_OPENAT, 99, u.str("x"), 0, 0) }, linux.EBADF},
		{"relative to the console", func(u *fsUser) int64 { return u.s.call(linux.SYS_OPENAT, 1, u.str("x"), 0, 0) }, linux.ENOTDIR},
		{"mkdir existing", func(u *fsUser) int64 { return u.s.call(linux.SYS_MKDIRAT, fdcwd, u.str("/tmp"), 0o755) }, linux.EEXIST},
		{"mkdir under missing", func(u *fsUser) int64 { return u.s.call(linux.SYS_MKDIRAT, fdcwd, u.str("/a/b"), 0o755) }, linux.ENOENT},
		{"mknod directory", func(u *fsUser) int64 { return u.s.call(linux.SYS_MKNODAT, fdcwd, u.str("/tmp/f"), 0o40755, 0) }, linux.EPERM},
		{"unlink dir", func(u *fsUser) int64 { return u.s.call(linux.SYS_UNLINKAT, fdcwd, u.str("/tmp"), 0) }, linux.EISDIR},
		{"rmdir file", func(u *fsUser) int64 { return u.s.call(linux.SYS_UNLINKAT, fdcwd, u.str("/etc/passwd"), 0x200) }, linux.ENOTDIR},
		{"rmdir mount point", func(u *fsUser) int64 { return u.s.call(linux.SYS_UNLINKAT, fdcwd, u.str("/dev"), 0x200) }, linux.EBUSY},
		{"rename noreplace", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_RENAMEAT2, fdcwd, u.str("/etc/group"), fdcwd, u.str("/etc/hosts"), 1)
		}, linux.EEXIST},
		{"rename across mounts", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_RENAMEAT2, fdcwd, u.str("/etc/group"), fdcwd, u.str("/dev/group"), 0)
		}, linux.EXDEV},
		{"rename dir into itself", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_RENAMEAT2, fdcwd, u.str("/etc"), fdcwd, u.str("/etc/sub"), 0)
		}, linux.EINVAL},
		{"link a directory", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_LINKAT, fdcwd, u.str("/etc"), fdcwd, u.str("/etc2"), 0)
		}, linux.EPERM},
		{"readlink of a file", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_READLINKAT, fdcwd, u.str("/etc/passwd"), uint64(u.buf()), 10)
		}, linux.EINVAL},
		{"readlink zero size", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_READLINKAT, fdcwd, u.str("/dev/stdin"), uint64(u.buf()), 0)
		}, linux.EINVAL},
		{"lseek on the console", func(u *fsUser) int64 { return u.s.call(linux.SYS_LSEEK, 1, 0, 0) }, linux.ESPIPE},
		{"pread on the console", func(u *fsUser) int64 { return u.s.call(linux.SYS_PREAD64, 0, uint64(u.buf()), 1, 0) }, linux.ESPIPE},
		{"lseek bad whence", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_LSEEK, uint64(fd), 0, 9)
		}, linux.EINVAL},
		{"read a directory", func(u *fsUser) int64 {
			fd := u.open("/tmp", 0, 0)
			return u.s.call(linux.SYS_READ, uint64(fd), uint64(u.buf()), 10)
		}, linux.EISDIR},
		{"write read-only", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_WRITE, uint64(fd), uint64(u.buf()), 1)
		}, linux.EBADF},
		{"ftruncate read-only", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_FTRUNCATE, uint64(fd), 0)
		}, linux.EINVAL},
		{"getdents on a file", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_GETDENTS64, uint64(fd), uint64(u.buf()), 1024)
		}, linux.ENOTDIR},
		{"read O_PATH", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0x200000, 0)
			return u.s.call(linux.SYS_READ, uint64(fd), uint64(u.buf()), 1)
		}, linux.EBADF},
		{"chdir to a file", func(u *fsUser) int64 { return u.s.call(linux.SYS_CHDIR, u.str("/etc/passwd")) }, linux.ENOTDIR},
		{"access X_OK on a data file", func(u *fsUser) int64 { return u.s.call(linux.SYS_FACCESSAT, fdcwd, u.str("/etc/passwd"), 1) }, linux.EACCES},
		{"access missing", func(u *fsUser) int64 { return u.s.call(linux.SYS_FACCESSAT, fdcwd, u.str("/nope"), 0) }, linux.ENOENT},
		{"stat empty path", func(u *fsUser) int64 { return u.s.call(linux.SYS_NEWFSTATAT, fdcwd, u.str(""), uint64(u.buf()), 0) }, linux.ENOENT},
		{"statx bad flags", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_STATX, fdcwd, u.str("/"), 0x6000, 0x7ff, uint64(u.buf()))
		}, linux.EINVAL},
		{"utimensat bad nsec", func(u *fsUser) int64 {
			ts := u.buf() + 1024
			u.s.poke(ts, make([]byte, 32))
			u.s.poke(ts+8, []byte{0, 0, 0, 0x7f})
			return u.s.call(linux.SYS_UTIMENSAT, fdcwd, u.str("/etc/passwd"), uint64(ts), 0)
		}, linux.EINVAL},
		{"mmap shared writable, file open read-only", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_MMAP, 0, 4096, 3, 1, uint64(fd), 0)
		}, linux.EACCES},
		{"mmap write-only file", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 1, 0)
			return u.s.call(linux.SYS_MMAP, 0, 4096, 1, 2, uint64(fd), 0)
		}, linux.EACCES},
		{"mmap unaligned offset", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_MMAP, 0, 4096, 1, 2, uint64(fd), 1)
		}, linux.EINVAL},
		{"proc exe not in the VFS", func(u *fsUser) int64 {
			return u.s.call(linux.SYS_READLINKAT, fdcwd, u.str("/proc/self/exe"), uint64(u.buf()), 100)
		}, linux.ENOENT},
		{"epoll a regular file", func(u *fsUser) int64 {
			ep := u.s.call(linux.SYS_EPOLL_CREATE1, 0)
			fd := u.open("/etc/passwd", 0, 0)
			u.s.poke(u.buf(), make([]byte, 16))
			return u.s.call(linux.SYS_EPOLL_CTL, uint64(ep), 1, uint64(fd), uint64(u.buf()))
		}, linux.EPERM},
		{"sendfile from the console", func(u *fsUser) int64 { return u.s.call(linux.SYS_SENDFILE, 1, 0, 0, 10) }, linux.EINVAL},
		{"copy_file_range flags", func(u *fsUser) int64 {
			fd := u.open("/etc/passwd", 0, 0)
			return u.s.call(linux.SYS_COPY_FILE_RANGE, uint64(fd), 0, uint64(fd), 0, 1, 1)
		}, linux.EINVAL},
	}
	runFS(t, Config{}, func(u *fsUser) {
		for _, c := range cases {
			u.want(c.name, c.call(u), errno(c.want))
		}
	})
}

func TestFSDevicesAndEtc(t *testing.T) {
	out := runFS(t, Config{Hostname: "box"}, func(u *fsUser) {
		s := u.s
		fd := uint64(u.ok("urandom", u.open("/dev/urandom", 0, 0)))
		u.want("read urandom", s.call(linux.SYS_READ, fd, uint64(u.buf()), 64), 64)
		if bytes.Equal(s.peek(u.buf(), 64), make([]byte, 64)) {
			u.failf("urandom gave zeros")
		}
		if got := u.readFile("/etc/passwd"); !strings.HasPrefix(got, "root:x:0:0:") {
			u.failf("passwd %q", got)
		}
		if got := u.readFile("/etc/hosts"); !strings.Contains(got, "127.0.0.1\tlocalhost") || !strings.Contains(got, "box") {
			u.failf("hosts %q", got)
		}
		if m, _, _, _, _ := u.stat("/tmp", 0); m != 0o41777 {
			u.failf("/tmp mode %o", m)
		}
		tty := uint64(u.ok("tty", u.open("/dev/tty", 1, 0)))
		s.poke(u.buf(), []byte("via tty\n"))
		u.want("write tty", s.call(linux.SYS_WRITE, tty, uint64(u.buf()), 8), 8)
		u.want("write null", s.call(linux.SYS_WRITE, uint64(u.ok("null", u.open("/dev/null", 1, 0))), uint64(u.buf()), 8), 8)
	})
	if out != "via tty\n" {
		t.Errorf("console got %q", out)
	}
}

func TestFSMmapAndCopies(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		body := strings.Repeat("0123456789", 500) // 5000 bytes: two pages
		u.writeFile("/tmp/m", body)
		fd := uint64(u.open("/tmp/m", 0, 0))
		addr := s.call(linux.SYS_MMAP, 0, 8192, linux.PROT_READ, linux.MAP_PRIVATE, fd, 0)
		if addr < 0 {
			u.failf("mmap: %v", linux.Errno(-addr))
			return
		}
		if got := string(s.peek(uintptr(addr), 5000)); got != body {
			u.failf("mapping differs")
		}
		if tail := s.peek(uintptr(addr)+5000, 100); !bytes.Equal(tail, make([]byte, 100)) {
			u.failf("tail not zero")
		}
		addr = s.call(linux.SYS_MMAP, 0, 4096, linux.PROT_READ, linux.MAP_PRIVATE, fd, 4096)
		if got := string(s.peek(uintptr(addr), 4)); got != body[4096:4100] {
			u.failf("offset mapping %q", got)
		}
		// sendfile to stdout-like file, copy_file_range between files.
		out := uint64(u.open("/tmp/copy", 0o101, 0o644))
		off := u.buf() + 1024
		s.poke(off, []byte{10, 0, 0, 0, 0, 0, 0, 0})
		u.want("sendfile", s.call(linux.SYS_SENDFILE, out, fd, uint64(off), 20), 20)
		if b := s.peek(off, 1); b[0] != 30 {
			u.failf("sendfile offset %d", b[0])
		}
		u.want("copy_file_range", s.call(linux.SYS_COPY_FILE_RANGE, fd, 0, out, 0, 3, 0), 3)
		s.call(linux.SYS_CLOSE, out)
		if got := u.readFile("/tmp/copy"); got != body[10:30]+"012" {
			u.failf("copies %q", got)
		}
		u.want("statx", s.call(linux.SYS_STATX, fdcwd, u.str("/tmp/copy"), 0, 0x7ff, uint64(u.buf())), 0)
		if b := s.peek(u.buf(), 256); binary.LittleEndian.Uint64(b[40:]) != 23 || binary.LittleEndian.Uint16(b[28:]) != 0o100644 {
			u.failf("statx size %d mode %o", binary.LittleEndian.Uint64(b[40:]), binary.LittleEndian.Uint16(b[28:]))
		}
		u.want("statx empty path", s.call(linux.SYS_STATX, 1, u.str(""), 0x1000, 0x7ff, uint64(u.buf())), 0)
		u.want("fchmodat", s.call(linux.SYS_FCHMODAT, fdcwd, u.str("/tmp/copy"), 0o755), 0)
		u.want("access X_OK", s.call(linux.SYS_FACCESSAT, fdcwd, u.str("/tmp/copy"), 1), 0)
		ts := u.buf() + 2048
		s.poke(ts, make([]byte, 32))
		s.poke(ts, []byte{100})
		s.poke(ts+24, []byte{0xfe, 0xff, 0xff, 0x3f}) // mtime UTIME_OMIT
		u.want("utimensat", s.call(linux.SYS_UTIMENSAT, fdcwd, u.str("/tmp/copy"), uint64(ts), 0), 0)
		u.want("stat times", s.call(linux.SYS_NEWFSTATAT, fdcwd, u.str("/tmp/copy"), uint64(u.buf()), 0), 0)
		if at := binary.LittleEndian.Uint64(s.peek(u.buf()+72, 8)); at != 100 {
			u.failf("atime %d", at)
		}
	})
}

// rootfsArchive is a small root filesystem: a directory, an executable,
// a symlink, two hard links and an /etc/passwd that replaces the default.
func rootfsArchive(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	hdr := func(name string, mode cpio.Mode) cpio.Header {
		return cpio.Header{Name: name, Mode: mode, UID: 1000, GID: 100, Mtime: 1234567890}
	}
	entries := []cpio.Entry{
		{Header: hdr("bin", cpio.TypeDir|0o755)},
		{Header: hdr("bin/tool", cpio.TypeReg|0o755), Body: []byte("#!tool\n")},
		{Header: hdr("bin/sh", cpio.TypeSymlink|0o777), Body: []byte("tool")},
		{Header: hdr("etc", cpio.TypeDir|0o755)},
		{Header: hdr("etc/passwd", cpio.TypeReg|0o644), Body: []byte("app:x:1000:100::/:/bin/sh\n")},
		{Header: hdr("data", cpio.TypeDir|0o700)},
		{Header: hdr("data/one", cpio.TypeReg|0o600), Body: []byte("shared")},
		{Header: hdr("data/two", cpio.TypeReg|0o600), Link: "data/one"},
	}
	for i := range entries {
		entries[i].Size = int64(len(entries[i].Body))
	}
	if err := cpio.WriteArchive(&b, entries, cpio.ArchiveOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFSRootFS(t *testing.T) {
	runFS(t, Config{RootFS: bytes.NewReader(rootfsArchive(t))}, func(u *fsUser) {
		if got := u.readFile("/etc/passwd"); got != "app:x:1000:100::/:/bin/sh\n" {
			u.failf("passwd %q", got)
		}
		if got := u.readFile("/etc/group"); got != "root:x:0:\n" {
			u.failf("default group %q", got)
		}
		if m, size, _, _, _ := u.stat("/bin/sh", 0); m != 0o100755 || size != 7 {
			u.failf("/bin/sh mode %o size %d", m, size)
		}
		if m, _, _, _, _ := u.stat("/bin/sh", 0x100); m != 0o120777 {
			u.failf("symlink mode %o", m)
		}
		_, _, n1, ino1, _ := u.stat("/data/one", 0)
		_, _, n2, ino2, _ := u.stat("/data/two", 0)
		if n1 != 2 || n2 != 2 || ino1 != ino2 {
			u.failf("hard links: nlink %d %d ino %d %d", n1, n2, ino1, ino2)
		}
		if got := u.readFile("/data/two"); got != "shared" {
			u.failf("link content %q", got)
		}
		u.want("stat uid", u.s.call(linux.SYS_NEWFSTATAT, fdcwd, u.str("/bin/tool"), uint64(u.buf()), 0), 0)
		b := u.s.peek(u.buf(), 128)
		if uid, mt := binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint64(b[88:]); uid != 1000 || mt != 1234567890 {
			u.failf("uid %d mtime %d", uid, mt)
		}
	})
}

func TestFSRootFSMalformed(t *testing.T) {
	good := rootfsArchive(t)
	for name, data := range map[string][]byte{
		"garbage":   []byte("not a cpio archive at all, sorry"),
		"truncated": good[:200],
	} {
		_, err := Start(Config{CPU: newFakeCPU(), Random: rand.Reader, BrkStart: 0x40_0000, RootFS: bytes.NewReader(data)})
		if err == nil || !strings.Contains(err.Error(), "root filesystem") {
			t.Errorf("%s: Start error %v", name, err)
		}
	}
}

func (u *fsUser) readlink(path string) string {
	n := u.s.call(linux.SYS_READLINKAT, fdcwd, u.str(path), uint64(u.buf()), 512)
	if n < 0 {
		return "error: " + linux.Errno(-n).Error()
	}
	return string(u.s.peek(u.buf(), int(n)))
}

func TestFSProcSelf(t *testing.T) {
	cfg := Config{RootFS: bytes.NewReader(rootfsArchive(t)), Args: []string{"/bin/tool", "a b", ""}}
	runFS(t, cfg, func(u *fsUser) {
		s := u.s
		if got := u.readlink("/proc/self/exe"); got != "/bin/tool" {
			u.failf("exe %q", got)
		}
		if got := u.readFile("/proc/self/cmdline"); got != "/bin/tool\x00a b\x00\x00" {
			u.failf("cmdline %q", got)
		}
		s.call(linux.SYS_CHDIR, u.str("/etc"))
		fd := u.open("passwd", 0, 0)
		if got := u.readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); got != "/etc/passwd" {
			u.failf("fd link %q", got)
		}
		if got := u.readlink("/proc/self/fd/1"); got != "/dev/console" {
			u.failf("stdout link %q", got)
		}
		pipe := u.buf() + 4096
		u.want("pipe2", s.call(linux.SYS_PIPE2, uint64(pipe), 0), 0)
		rfd := binary.LittleEndian.Uint32(s.peek(pipe, 4))
		if got := u.readlink(fmt.Sprintf("/proc/self/fd/%d", rfd)); got != "pipe:[1]" {
			u.failf("pipe link %q", got)
		}
		dfd := uint64(u.ok("open fd dir", u.open("/proc/self/fd", 0x10000, 0)))
		n := s.call(linux.SYS_GETDENTS64, dfd, uint64(u.buf()), 4096)
		var names []string
		for b := s.peek(u.buf(), int(max(n, 0))); len(b) > 0; {
			rl := binary.LittleEndian.Uint16(b[16:])
			names = append(names, strings.TrimRight(string(b[19:rl]), "\x00"))
			b = b[rl:]
		}
		if got := strings.Join(names, ","); got != fmt.Sprintf(".,..,0,1,2,%d,%d,%d,%d", fd, rfd, rfd+1, dfd) {
			u.failf("fd dir %q", got)
		}
		if got := u.readlink(fmt.Sprintf("/proc/self/fd/%d", dfd)); got != "/proc/self/fd" {
			u.failf("dir link %q", got)
		}
		u.want("maps", u.open("/proc/self/maps", 0, 0), errno(linux.ENOENT))
		u.want("write cmdline", u.open("/proc/self/cmdline", 1, 0), errno(linux.EACCES))
		u.want("create in proc", u.open("/proc/x", 0x41, 0o644), errno(linux.EACCES))
		u.ok("open /dev/stdin", u.open("/dev/stdin", 0, 0)) // through the fd/0 link to the console
	})
}

func TestFSFifo(t *testing.T) {
	// The writer thread opens the FIFO (waiting for the reader), writes
	// the first two bytes of its name and closes it.
	writer := func(s *userSide) {
		path := s.u.X[abi.RegA5]
		fd := s.call(linux.SYS_OPENAT, fdcwd, path, 1, 0)
		s.call(linux.SYS_WRITE, uint64(fd), path, 2)
		s.call(linux.SYS_CLOSE, uint64(fd))
	}
	runFSThreads(t, Config{}, map[uint64]func(*userSide){0x2000: writer}, func(u *fsUser) {
		s := u.s
		fifo := u.str("/tmp/fifo")
		u.want("mkfifo", s.call(linux.SYS_MKNODAT, fdcwd, fifo, 0o10644, 0), 0)
		if m, _, _, _, _ := u.stat("/tmp/fifo", 0); m != 0o10644 {
			u.failf("fifo mode %o", m)
		}
		u.want("nonblocking writer without reader", s.call(linux.SYS_OPENAT, fdcwd, fifo, 0o4001, 0), errno(linux.ENXIO))
		s.u.X[abi.RegA5] = fifo
		s.u.PC = 0x2000 - 4
		if tid := s.call(linux.SYS_CLONE, linux.CLONE_VM|linux.CLONE_THREAD|linux.CLONE_SIGHAND|linux.CLONE_FS|linux.CLONE_FILES, 0, 0, 0, 0); tid <= 1 {
			u.failf("clone %d", tid)
		}
		s.u.PC = 0x1000
		fd := uint64(u.ok("open reader", s.call(linux.SYS_OPENAT, fdcwd, fifo, 0, 0))) // waits for the writer
		var got []byte
		for {
			n := s.call(linux.SYS_READ, fd, uint64(u.buf()), 100)
			if n <= 0 {
				u.want("read end", n, 0)
				break
			}
			got = append(got, s.peek(u.buf(), int(n))...)
		}
		if string(got) != "/t" {
			u.failf("fifo carried %q", got)
		}
		s.call(linux.SYS_CLOSE, fd)
		rw := uint64(u.ok("open rdwr", s.call(linux.SYS_OPENAT, fdcwd, fifo, 2, 0)))
		s.poke(u.buf(), []byte("xyz"))
		u.want("rdwr write", s.call(linux.SYS_WRITE, rw, uint64(u.buf()), 3), 3)
		u.want("rdwr read", s.call(linux.SYS_READ, rw, uint64(u.buf())+8, 10), 3)
		u.want("lseek fifo", s.call(linux.SYS_LSEEK, rw, 0, 0), errno(linux.ESPIPE))
	})
}

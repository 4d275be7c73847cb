package posix

import (
	"bytes"
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// mapShared maps length bytes of path shared and read-write, the file
// opened with flags, and returns the address and the descriptor.
func (u *fsUser) mapShared(path string, flags, length, prot uint64) (uintptr, uint64) {
	fd := uint64(u.ok("open "+path, u.open(path, flags, 0)))
	a := u.ok("mmap "+path, u.s.call(linux.SYS_MMAP, 0, length, prot, linux.MAP_SHARED, fd, 0))
	return uintptr(a), fd
}

func (u *fsUser) pread(fd uint64, off, n int) string {
	got := u.s.call(linux.SYS_PREAD64, fd, uint64(u.buf()), uint64(n), uint64(off))
	return string(u.s.peek(u.buf(), int(max(got, 0))))
}

func TestSharedFileMapping(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		u.writeFile("/tmp/m", strings.Repeat("a", 6000))
		m, fd := u.mapShared("/tmp/m", 2, 8192, linux.PROT_READ|linux.PROT_WRITE)
		if got := string(s.peek(m, 3)); got != "aaa" {
			u.failf("mapping starts %q", got)
		}
		s.poke(m+10, []byte("XYZ"))
		u.want("msync", s.call(linux.SYS_MSYNC, uint64(m), 8192, linux.MS_SYNC), 0)
		if got := u.pread(fd, 10, 3); got != "XYZ" {
			u.failf("after msync the file has %q", got)
		}
		// A write() meanwhile survives the write-back of other bytes, and
		// what lies past the end of the file is not written.
		s.poke(u.buf(), []byte("hello"))
		u.want("pwrite", s.call(linux.SYS_PWRITE64, fd, uint64(u.buf()), 5, 100), 5)
		s.poke(m+4000, []byte("Q"))
		s.poke(m+7000, []byte("past the end"))
		u.want("close", s.call(linux.SYS_CLOSE, fd), 0) // the mapping outlives it
		u.want("munmap", s.call(linux.SYS_MUNMAP, uint64(m), 8192), 0)
		got := u.readFile("/tmp/m")
		if len(got) != 6000 || got[100:105] != "hello" || got[4000] != 'Q' || got[10:13] != "XYZ" {
			u.failf("after munmap: size %d, %q %q %q", len(got), got[100:105], got[4000], got[10:13])
		}

		// Unmapping the middle page writes it back; the rest stays mapped
		// and shared.
		m, fd = u.mapShared("/tmp/m", 2, 3*4096, linux.PROT_READ|linux.PROT_WRITE)
		s.poke(m+4096, []byte("MID"))
		s.poke(m+2*4096, []byte("END"))
		u.want("munmap middle", s.call(linux.SYS_MUNMAP, uint64(m+4096), 4096), 0)
		if got := u.pread(fd, 4096, 3); got != "MID" {
			u.failf("middle page written back as %q", got)
		}
		if got := u.pread(fd, 2*4096, 3); got != "" {
			u.failf("last page past the end gave %q", got)
		}
		u.ok("ftruncate", s.call(linux.SYS_FTRUNCATE, fd, 3*4096))
		u.want("msync last page", s.call(linux.SYS_MSYNC, uint64(m+2*4096), 4096, linux.MS_ASYNC), 0)
		if got := u.pread(fd, 2*4096, 3); got != "END" {
			u.failf("last page written back as %q", got)
		}
		u.want("mremap grow", s.call(linux.SYS_MREMAP, uint64(m), 4096, 2*4096, 1), errno(linux.EINVAL))
		// A fixed mapping on top writes the old one back first.
		s.poke(m, []byte("FIX"))
		u.ok("mmap fixed", s.call(linux.SYS_MMAP, uint64(m), 4096, linux.PROT_READ|linux.PROT_WRITE, linux.MAP_PRIVATE|linux.MAP_FIXED|linux.MAP_ANONYMOUS, ^uint64(0), 0))
		if got := u.pread(fd, 0, 3); got != "FIX" {
			u.failf("replaced page written back as %q", got)
		}

		// A read-only shared mapping cannot become writable.
		r, _ := u.mapShared("/tmp/m", 0, 4096, linux.PROT_READ)
		u.want("mprotect read-only shared", s.call(linux.SYS_MPROTECT, uint64(r), 4096, linux.PROT_READ|linux.PROT_WRITE), errno(linux.EACCES))
		u.want("msync bad flags", s.call(linux.SYS_MSYNC, uint64(r), 4096, linux.MS_ASYNC|linux.MS_SYNC), errno(linux.EINVAL))
		u.want("msync unaligned", s.call(linux.SYS_MSYNC, uint64(r)+1, 4096, linux.MS_SYNC), errno(linux.EINVAL))
	})
}

// What a program wrote through a shared mapping is in the file once it
// has exited, munmap or not.
func TestSharedFileMappingAtExit(t *testing.T) {
	cpu := newFakeCPU()
	var mu sync.Mutex
	var errs []string
	cpu.progs[0x1000] = func(s *userSide) {
		base, _ := s.cpu.Map(0, 16*linux.PageSize, linux.PROT_READ|linux.PROT_WRITE, 0)
		u := &fsUser{s: s, base: base, mu: &mu, errs: &errs}
		u.writeFile("/tmp/out", strings.Repeat(".", 100))
		m, _ := u.mapShared("/tmp/out", 2, 4096, linux.PROT_READ|linux.PROT_WRITE)
		s.poke(m+50, []byte("bye"))
		s.call(linux.SYS_EXIT_GROUP, 0)
	}
	p, err := Start(Config{CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000, Random: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, p)
	for _, e := range errs {
		t.Error(e)
	}
	f, err := p.fs.v.Open(fs.Loc{}, "/tmp/out", linux.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 200)
	n, _ := f.Read(b)
	if want := strings.Repeat(".", 50) + "bye" + strings.Repeat(".", 47); !bytes.Equal(b[:n], []byte(want)) {
		t.Errorf("file after exit: %q", b[:n])
	}
}

// The pieces munmap leaves of a mapping share its file: the file stays
// open (here: not freed once unlinked) until the last piece goes.
func TestSharedFileMappingPieces(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		u.writeFile("/tmp/p", strings.Repeat("p", 3*4096))
		m, fd := u.mapShared("/tmp/p", 2, 3*4096, linux.PROT_READ|linux.PROT_WRITE)
		u.want("close", s.call(linux.SYS_CLOSE, fd), 0)
		u.want("unlink", s.call(linux.SYS_UNLINKAT, fdcwd, u.str("/tmp/p"), 0), 0)
		u.want("munmap middle", s.call(linux.SYS_MUNMAP, uint64(m+4096), 4096), 0)
		u.want("munmap first", s.call(linux.SYS_MUNMAP, uint64(m), 4096), 0)
		s.poke(m+2*4096, []byte("still here"))
		u.want("msync last", s.call(linux.SYS_MSYNC, uint64(m+2*4096), 4096, linux.MS_SYNC), 0)
		u.want("munmap last", s.call(linux.SYS_MUNMAP, uint64(m+2*4096), 4096), 0)
	})
}

package posix

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// Shared file mappings. The application's memory cannot alias the
// filesystem's pages, so a MAP_SHARED mapping of a regular file is a copy
// like a private one, and writes through it reach the file when they are
// written back: at msync, at munmap, when a MAP_FIXED mapping replaces
// it, and when the process exits. Only bytes the application changed
// since the last write-back are written (each writable mapping keeps the
// contents it last agreed with the file on), so write()s to other parts
// of the file meanwhile are not undone. Between write-backs, read() does
// not see the mapping's changes nor the mapping the file's.

// sharedMap is one MAP_SHARED mapping of a regular file (or what munmap
// left of one).
type sharedMap struct {
	addr, length uintptr // page-aligned
	off          int64   // file offset of addr
	// Writable mappings (the file was opened O_RDWR) have these; the
	// others are kept only so mprotect can refuse to make them writable.
	f    *mappedFile
	snap []byte // the mapping's contents as of the last write-back
}

// mappedFile is a file open for its writable shared mappings, as Linux
// keeps a mapped file open: closing the descriptor does not end them.
// The pieces munmap leaves of one mapping share it; guarded by memState.mu.
type mappedFile struct {
	n    fs.Inode // for the size
	h    fs.Handle
	refs int
}

func (f *mappedFile) release() {
	if f.refs--; f.refs == 0 {
		f.h.Close()
	}
}

func (s *sharedMap) end() uintptr { return s.addr + s.length }

// writeBack writes the changed bytes of [from, to) (page-aligned, within
// the mapping) to the file, up to its current size as Linux does (what
// lies past the end of a file in its last page is never written).
func (s *sharedMap) writeBack(cpu CPU, from, to uintptr) {
	if s.f == nil {
		return
	}
	size := s.f.n.Stat().Size
	var page [linux.PageSize]byte
	for a := from; a < to; a += linux.PageSize {
		fileOff := s.off + int64(a-s.addr)
		if fileOff >= size {
			return
		}
		if cpu.CopyIn(page[:], a) != 0 {
			continue // PROT_NONE now: the copy is kept until it is readable
		}
		old := s.snap[a-s.addr:][:linux.PageSize]
		i, j := diffSpan(old, page[:])
		if i == j {
			continue
		}
		j = int(min(int64(j), size-fileOff))
		if i >= j {
			continue
		}
		if n, err := s.f.h.WriteAt(page[i:j], fileOff+int64(i)); err == nil || n > 0 {
			copy(old[i:i+n], page[i:i+n])
		}
	}
}

// diffSpan is the smallest [i, j) outside which a and b agree.
func diffSpan(a, b []byte) (int, int) {
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return i, i
	}
	j := len(a)
	for a[j-1] == b[j-1] {
		j--
	}
	return i, j
}

// trackShared records a new mapping (after mapFile filled it with snap).
func (m *memState) trackShared(s *sharedMap) {
	m.mu.Lock()
	m.shared = append(m.shared, s)
	m.mu.Unlock()
}

// syncShared writes back what the application changed in [addr,
// addr+length) of its shared file mappings (msync).
func (m *memState) syncShared(addr, length uintptr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.shared {
		if from, to := max(addr, s.addr), min(addr+length, s.end()); from < to {
			s.writeBack(m.cpu, from, to)
		}
	}
}

// unshare writes back and forgets [addr, addr+length) of the shared
// mappings (munmap, or a MAP_FIXED mapping on top): the part of a
// mapping outside the range stays tracked.
func (m *memState) unshare(addr, length uintptr) {
	end := addr + length
	m.mu.Lock()
	defer m.mu.Unlock()
	var keep []*sharedMap
	for _, s := range m.shared {
		from, to := max(addr, s.addr), min(end, s.end())
		if from >= to {
			keep = append(keep, s)
			continue
		}
		s.writeBack(m.cpu, from, to)
		if s.addr < from {
			keep = append(keep, s.slice(s.addr, from))
		}
		if to < s.end() {
			keep = append(keep, s.slice(to, s.end()))
		}
		if s.f != nil {
			s.f.release() // this piece is gone (those kept took references)
		}
	}
	m.shared = keep
}

// slice is the part [from, to) of s, sharing its handle.
func (s *sharedMap) slice(from, to uintptr) *sharedMap {
	c := *s
	c.addr, c.length, c.off = from, to-from, s.off+int64(from-s.addr)
	if s.f != nil {
		s.f.refs++
		c.snap = s.snap[from-s.addr : to-s.addr]
	}
	return &c
}

// sharedIn reports whether [addr, addr+length) meets a shared mapping
// that match accepts.
func (m *memState) sharedIn(addr, length uintptr, match func(*sharedMap) bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.shared {
		if max(addr, s.addr) < min(addr+length, s.end()) && match(s) {
			return true
		}
	}
	return false
}

// msync flags.
const ()

// sysMsync writes shared file mappings back. MS_ASYNC does it at once
// too: it costs the same, and a later read() then sees the data.
func sysMsync(t *Thread, a *[6]uint64) int64 {
	addr, flags := uintptr(a[0]), a[2]
	if addr%linux.PageSize != 0 || flags&^(linux.MS_ASYNC|linux.MS_INVALIDATE|linux.MS_SYNC) != 0 || flags&(linux.MS_ASYNC|linux.MS_SYNC) == linux.MS_ASYNC|linux.MS_SYNC {
		return errno(linux.EINVAL)
	}
	length := uintptr(pageUp(a[1]))
	if addr+length < addr {
		return errno(linux.ENOMEM)
	}
	t.p.mem.syncShared(addr, length)
	return 0
}

// writeBackAll writes every shared mapping back, as the process exits
// (the files outlive it, on a host volume).
func (m *memState) writeBackAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.shared {
		s.writeBack(m.cpu, s.addr, s.end())
	}
}

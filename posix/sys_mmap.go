package posix

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// Memory: anonymous mappings and brk, backed lazily by the hart layer,
// which also enforces W^X and the overcommit rule (abi.MapCommit: an
// anonymous writable mapping larger than 4 times RAM, or a file's larger
// than RAM, is ENOMEM; a page fault that finds no RAM kills the
// application: thread.go). File mappings are copies
// (sys_fileio.go, sharedmap.go).

const (
	maxBrk = 1 << 30 // the heap brk may grow to
)

// sysBrk implements brk(2).
func sysBrk(t *Thread, a *[6]uint64) int64 {
	m := &t.p.mem
	m.mu.Lock()
	defer m.mu.Unlock()
	want := uintptr(a[0])
	if want < m.brkStart || want > m.brkStart+maxBrk {
		return int64(m.brk)
	}
	oldTop, newTop := uintptr(pageUp(uint64(m.brk))), uintptr(pageUp(uint64(want)))
	switch {
	case newTop > oldTop:
		if _, e := m.cpu.Map(oldTop, newTop-oldTop, linux.PROT_READ|linux.PROT_WRITE, abi.MapFixed|abi.MapNoReplace|abi.MapCommit|abi.MapAnon); e != 0 {
			return int64(m.brk) // failure: brk unchanged, as Linux reports it
		}
	case newTop < oldTop:
		m.cpu.Unmap(newTop, oldTop-newTop)
	}
	m.brk = want
	return int64(m.brk)
}

// sysMmap implements mmap(2).
func sysMmap(t *Thread, a *[6]uint64) int64 {
	addr, length, prot, flags, fd := uintptr(a[0]), uintptr(a[1]), uint32(a[2]), uint32(a[3]), int32(a[4])
	if length == 0 || length > 1<<40 || addr%linux.PageSize != 0 {
		return errno(linux.EINVAL)
	}
	if flags&(linux.MAP_SHARED|linux.MAP_PRIVATE) == 0 {
		return errno(linux.EINVAL)
	}
	if prot&linux.PROT_WRITE != 0 && prot&linux.PROT_EXEC != 0 {
		t.p.warnWX()
		return errno(linux.EACCES)
	}
	var hf uint32
	if flags&linux.MAP_FIXED != 0 {
		hf = abi.MapFixed
	}
	if flags&linux.MAP_FIXED_NOREPLACE != 0 {
		hf = abi.MapFixed | abi.MapNoReplace
	}
	if addr < linux.MmapMinAddr {
		if hf != 0 {
			return errno(linux.EPERM) // vm.mmap_min_addr: page 0 and its neighbours stay unmapped
		}
		addr = 0 // a hint down there is ignored, as Linux moves it up
	}
	if hf&abi.MapNoReplace == 0 && flags&linux.MAP_FIXED != 0 {
		t.p.mem.unshare(addr, uintptr(pageUp(uint64(length)))) // replaced: written back first
	}
	if flags&linux.MAP_ANONYMOUS == 0 {
		return t.mapFile(addr, length, prot, flags, hf, int(fd), a[5])
	}
	r, e := t.p.cpu.Map(addr, uintptr(pageUp(uint64(length))), prot&7, hf|abi.MapCommit|abi.MapAnon)
	if e != 0 {
		return errno(e)
	}
	return int64(r)
}

// sysMunmap implements munmap(2).
func sysMunmap(t *Thread, a *[6]uint64) int64 {
	if a[0]%linux.PageSize == 0 && a[1] != 0 {
		t.p.mem.unshare(uintptr(a[0]), uintptr(pageUp(a[1])))
	}
	return errno(t.p.cpu.Unmap(uintptr(a[0]), uintptr(a[1])))
}

// sysMprotect implements mprotect(2).
func sysMprotect(t *Thread, a *[6]uint64) int64 {
	prot := uint32(a[2])
	if prot&linux.PROT_WRITE != 0 && prot&linux.PROT_EXEC != 0 {
		t.p.warnWX()
		return errno(linux.EACCES)
	}
	readOnly := func(s *sharedMap) bool { return s.f == nil }
	if prot&linux.PROT_WRITE != 0 && t.p.mem.sharedIn(uintptr(a[0]), uintptr(pageUp(a[1])), readOnly) {
		return errno(linux.EACCES) // a shared mapping of a file not open for writing
	}
	return errno(t.p.cpu.Protect(uintptr(a[0]), uintptr(pageUp(a[1])), prot&7))
}

// sysMadvise implements madvise(2).
func sysMadvise(t *Thread, a *[6]uint64) int64 {
	return errno(t.p.cpu.Advise(uintptr(a[0]), uintptr(pageUp(a[1])), int(a[2])))
}

// sysMremap resizes an anonymous mapping: in place when it shrinks or the
// pages after it are free, otherwise (with MREMAP_MAYMOVE) by copying.
func sysMremap(t *Thread, a *[6]uint64) int64 {
	old, oldLen, newLen, flags := uintptr(a[0]), uintptr(pageUp(a[1])), uintptr(pageUp(a[2])), a[3]
	cpu := t.p.cpu
	if old%linux.PageSize != 0 || newLen == 0 || flags&^linux.MREMAP_MAYMOVE != 0 {
		return errno(linux.EINVAL)
	}
	if newLen <= oldLen {
		if newLen < oldLen {
			t.p.mem.unshare(old+newLen, oldLen-newLen)
			cpu.Unmap(old+newLen, oldLen-newLen)
		}
		return int64(old)
	}
	if t.p.mem.sharedIn(old, oldLen, func(*sharedMap) bool { return true }) {
		return errno(linux.EINVAL) // see the table note
	}
	if _, e := cpu.Map(old+oldLen, newLen-oldLen, linux.PROT_READ|linux.PROT_WRITE, abi.MapFixed|abi.MapNoReplace|abi.MapCommit|abi.MapAnon); e == 0 {
		return int64(old)
	}
	if flags&linux.MREMAP_MAYMOVE == 0 {
		return errno(linux.ENOMEM)
	}
	dst, e := cpu.Map(0, newLen, linux.PROT_READ|linux.PROT_WRITE, abi.MapCommit|abi.MapAnon)
	if e != 0 {
		return errno(e)
	}
	buf := make([]byte, 64<<10)
	for off := uintptr(0); off < oldLen; off += uintptr(len(buf)) {
		n := min(uintptr(len(buf)), oldLen-off)
		if e := cpu.CopyIn(buf[:n], old+off); e != 0 {
			cpu.Unmap(dst, newLen)
			return errno(linux.EFAULT)
		}
		cpu.CopyOut(dst+off, buf[:n])
	}
	cpu.Unmap(old, oldLen)
	return int64(dst)
}

// sysMlock implements mlock(2) and munlock: memory is never swapped.
func sysMlock(*Thread, *[6]uint64) int64 { return 0 }

// sysRiscvFlushIcache implements riscv_flush_icache(2). W^X means code
// becomes executable only through mprotect or mmap, and both execute
// fence.i (one hart), so there is nothing left to do.
func sysRiscvFlushIcache(*Thread, *[6]uint64) int64 { return 0 }

// devZero is /dev/zero, the one device that maps.
var devZero = linux.Makedev(linux.MEM_MAJOR, 5)

// mapFile maps a file by copying it: MAP_PRIVATE mappings see the file
// as it was at mmap time; MAP_SHARED ones of regular files are also
// written back (sharedmap.go).
func (t *Thread) mapFile(addr, length uintptr, prot, flags, hf uint32, fd int, off uint64) int64 {
	of, e := t.p.fds.file(fd)
	if e != 0 {
		return errno(e)
	}
	src, e := of.f.MapSource()
	if e != 0 {
		return errno(e) // pipes, eventfds, the console: ENODEV
	}
	if off%linux.PageSize != 0 || int64(off) < 0 {
		return errno(linux.EINVAL)
	}
	fl := src.Flags()
	shared := flags&linux.MAP_SHARED != 0
	if fl&linux.O_ACCMODE == linux.O_WRONLY || shared && prot&linux.PROT_WRITE != 0 && fl&linux.O_ACCMODE == linux.O_RDONLY {
		return errno(linux.EACCES)
	}
	st, err := src.Stat()
	if err != nil {
		return errno(fs.ToErrno(err))
	}
	if st.Mode&linux.S_IFMT != linux.S_IFREG && st.Rdev != devZero {
		return errno(linux.ENODEV) // only /dev/zero among devices maps
	}
	plen := uintptr(pageUp(uint64(length)))
	var sm *sharedMap
	if shared && st.Mode&linux.S_IFMT == linux.S_IFREG {
		sm = &sharedMap{length: plen, off: int64(off)}
		if fl&linux.O_ACCMODE == linux.O_RDWR {
			// The snapshot below is kernel memory as large as the
			// mapping: one larger than the machine cannot be honoured
			// (and must not exhaust the kernel's heap).
			if mem := t.p.cfg.MemoryBytes; mem != 0 && uint64(plen) > mem/2 {
				return errno(linux.ENOMEM)
			}
			// A handle of the mapping's own: the descriptor may be
			// closed while the mapping lives on.
			n := src.Loc().Inode()
			h, err := n.Open(linux.O_RDWR)
			if err != nil {
				return errno(fs.ToErrno(err))
			}
			sm.f, sm.snap = &mappedFile{n: n, h: h, refs: 1}, make([]byte, plen)
		}
	}
	r, e := t.p.cpu.Map(addr, plen, linux.PROT_READ|linux.PROT_WRITE, hf|abi.MapCommit)
	if e == 0 {
		e = t.fillMapping(src, r, length, int64(off), sm)
		if e != 0 {
			t.p.cpu.Unmap(r, plen)
		}
	}
	if e == 0 && prot&7 != linux.PROT_READ|linux.PROT_WRITE {
		if e = t.p.cpu.Protect(r, plen, prot&7); e != 0 {
			t.p.cpu.Unmap(r, plen)
		}
	}
	if e != 0 {
		if sm != nil && sm.f != nil {
			sm.f.h.Close()
		}
		return errno(e)
	}
	if sm != nil {
		sm.addr = r
		t.p.mem.trackShared(sm)
	}
	return int64(r)
}

// fillMapping copies the file from off into the fresh mapping at r;
// past the end of the file the mapping stays zero. A writable shared
// mapping's snapshot gets the same bytes.
func (t *Thread) fillMapping(src *fs.File, r, length uintptr, off int64, sm *sharedMap) Errno {
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	for done := uintptr(0); done < length; {
		n, err := src.ReadAt(b[:min(length-done, ioChunk)], off+int64(done))
		if err != nil {
			return fs.ToErrno(err)
		}
		if n == 0 {
			return 0
		}
		if e := t.p.cpu.CopyOut(r+done, b[:n]); e != 0 {
			// The pages were just mapped writable for this copy: the
			// only way to fail is that no RAM was left to back them.
			return linux.ENOMEM
		}
		if sm != nil && sm.snap != nil {
			copy(sm.snap[done:], b[:n])
		}
		done += uintptr(n)
	}
	return 0
}

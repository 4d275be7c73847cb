package posix

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi"
)

// Memory: anonymous mappings and brk, backed lazily by the hart layer,
// which also enforces W^X. File mappings are copies (sys_fileio.go,
// sharedmap.go).

const pageSize = 4096

var memCalls = []entry{
	{nr: 214, name: "brk", fn: sysBrk},
	{nr: 222, name: "mmap", fn: sysMmap, level: Partial, note: "files are copied in at map time; MAP_SHARED writes reach the file at msync, munmap and exit (read() does not see them before); W+X refused (W^X)"},
	{nr: 215, name: "munmap", fn: sysMunmap},
	{nr: 226, name: "mprotect", fn: sysMprotect, note: "W+X refused (W^X)"},
	{nr: 233, name: "madvise", fn: sysMadvise, level: Partial, note: "DONTNEED/FREE drop pages; other advice accepted and ignored"},
	{nr: 216, name: "mremap", fn: sysMremap, level: Partial, note: "anonymous and private mappings; a shared file mapping only shrinks (EINVAL)"},
	{nr: 227, name: "msync", fn: sysMsync, note: "writes shared file mappings back (MS_ASYNC too, at once)"},
	{nr: 228, name: "mlock", fn: func(*Thread, *[6]uint64) int64 { return 0 }, note: "memory is never swapped"},
	{nr: 229, name: "munlock", fn: func(*Thread, *[6]uint64) int64 { return 0 }},
	// W^X means code becomes executable only through mprotect or mmap,
	// and both execute fence.i (one hart), so there is nothing left to do.
	{nr: 259, name: "riscv_flush_icache", fn: func(*Thread, *[6]uint64) int64 { return 0 }, note: "nothing to do: code turns executable only through mprotect/mmap, which fence the instruction cache"},
}

const (
	protRead  = 1
	protWrite = 2
	protExec  = 4

	mapShared         = 0x01
	mapPrivate        = 0x02
	mapFixed          = 0x10
	mapAnonymous      = 0x20
	mapFixedNoReplace = 0x100000

	maxBrk = 1 << 30 // the heap brk may grow to
)

type memState struct {
	cpu      CPU
	mu       sync.Mutex
	brkStart uintptr
	brk      uintptr
	shared   []*sharedMap // MAP_SHARED file mappings (sharedmap.go)
}

func (m *memState) init(cpu CPU, brkStart uintptr) error {
	if brkStart%pageSize != 0 {
		return fmt.Errorf("brk start %#x is not page-aligned", brkStart)
	}
	m.cpu, m.brkStart, m.brk = cpu, brkStart, brkStart
	return nil
}

func pageUp(v uint64) uint64 { return (v + pageSize - 1) &^ (pageSize - 1) }

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
		if _, e := m.cpu.Map(oldTop, newTop-oldTop, protRead|protWrite, abi.MapFixed|abi.MapNoReplace); e != 0 {
			return int64(m.brk) // failure: brk unchanged, as Linux reports it
		}
	case newTop < oldTop:
		m.cpu.Unmap(newTop, oldTop-newTop)
	}
	m.brk = want
	return int64(m.brk)
}

func sysMmap(t *Thread, a *[6]uint64) int64 {
	addr, length, prot, flags, fd := uintptr(a[0]), uintptr(a[1]), uint32(a[2]), uint32(a[3]), int32(a[4])
	if length == 0 || length > 1<<40 || addr%pageSize != 0 {
		return errno(syscall.EINVAL)
	}
	if flags&(mapShared|mapPrivate) == 0 {
		return errno(syscall.EINVAL)
	}
	if prot&protWrite != 0 && prot&protExec != 0 {
		t.p.warnWX()
		return errno(syscall.EACCES)
	}
	var hf uint32
	if flags&mapFixed != 0 {
		hf = abi.MapFixed
	}
	if flags&mapFixedNoReplace != 0 {
		hf = abi.MapFixed | abi.MapNoReplace
	} else if flags&mapFixed != 0 {
		t.p.mem.unshare(addr, uintptr(pageUp(uint64(length)))) // replaced: written back first
	}
	if flags&mapAnonymous == 0 {
		return t.mapFile(addr, length, prot, flags, hf, int(fd), a[5])
	}
	r, e := t.p.cpu.Map(addr, uintptr(pageUp(uint64(length))), prot&7, hf)
	if e != 0 {
		return errno(e)
	}
	return int64(r)
}

func (p *Process) warnWX() {
	if _, seen := p.reported.LoadOrStore("wx", true); !seen {
		p.logf("refused a writable and executable mapping (W^X)")
	}
}

func sysMunmap(t *Thread, a *[6]uint64) int64 {
	if a[0]%pageSize == 0 && a[1] != 0 {
		t.p.mem.unshare(uintptr(a[0]), uintptr(pageUp(a[1])))
	}
	return errno(t.p.cpu.Unmap(uintptr(a[0]), uintptr(a[1])))
}

func sysMprotect(t *Thread, a *[6]uint64) int64 {
	prot := uint32(a[2])
	if prot&protWrite != 0 && prot&protExec != 0 {
		t.p.warnWX()
		return errno(syscall.EACCES)
	}
	readOnly := func(s *sharedMap) bool { return s.f == nil }
	if prot&protWrite != 0 && t.p.mem.sharedIn(uintptr(a[0]), uintptr(pageUp(a[1])), readOnly) {
		return errno(syscall.EACCES) // a shared mapping of a file not open for writing
	}
	return errno(t.p.cpu.Protect(uintptr(a[0]), uintptr(pageUp(a[1])), prot&7))
}

func sysMadvise(t *Thread, a *[6]uint64) int64 {
	return errno(t.p.cpu.Advise(uintptr(a[0]), uintptr(pageUp(a[1])), int(a[2])))
}

// sysMremap resizes an anonymous mapping: in place when it shrinks or the
// pages after it are free, otherwise (with MREMAP_MAYMOVE) by copying.
func sysMremap(t *Thread, a *[6]uint64) int64 {
	const mayMove = 1
	old, oldLen, newLen, flags := uintptr(a[0]), uintptr(pageUp(a[1])), uintptr(pageUp(a[2])), a[3]
	cpu := t.p.cpu
	if old%pageSize != 0 || newLen == 0 || flags&^mayMove != 0 {
		return errno(syscall.EINVAL)
	}
	if newLen <= oldLen {
		if newLen < oldLen {
			t.p.mem.unshare(old+newLen, oldLen-newLen)
			cpu.Unmap(old+newLen, oldLen-newLen)
		}
		return int64(old)
	}
	if t.p.mem.sharedIn(old, oldLen, func(*sharedMap) bool { return true }) {
		return errno(syscall.EINVAL) // see the table note
	}
	if _, e := cpu.Map(old+oldLen, newLen-oldLen, protRead|protWrite, abi.MapFixed|abi.MapNoReplace); e == 0 {
		return int64(old)
	}
	if flags&mayMove == 0 {
		return errno(syscall.ENOMEM)
	}
	dst, e := cpu.Map(0, newLen, protRead|protWrite, 0)
	if e != 0 {
		return errno(e)
	}
	buf := make([]byte, 64<<10)
	for off := uintptr(0); off < oldLen; off += uintptr(len(buf)) {
		n := min(uintptr(len(buf)), oldLen-off)
		if e := cpu.CopyIn(buf[:n], old+off); e != 0 {
			cpu.Unmap(dst, newLen)
			return errno(syscall.EFAULT)
		}
		cpu.CopyOut(dst+off, buf[:n])
	}
	cpu.Unmap(old, oldLen)
	return int64(dst)
}

//go:build riscv64

package loader

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi/linux"

	"github.com/runikraft/runikraft/kernel/hart"
	"github.com/runikraft/runikraft/kernel/mm"
)

// The copies in plan.go and elf.go must match the hart layer and mm:
// each array type has length 0 only if the two constants are equal, so a
// drift fails the build.
var (
	_ [0]int = [hart.UserLowStart - UserLowStart]int{}
	_ [0]int = [hart.UserLowEnd - UserLowEnd]int{}
	_ [0]int = [hart.UserHighStart - UserHighStart]int{}
	_ [0]int = [hart.UserHighEnd - UserHighEnd]int{}
	_ [0]int = [mm.PageSize - PageSize]int{}
	_ [0]int = [mm.ProtRead - ProtRead]int{}
	_ [0]int = [mm.ProtWrite - ProtWrite]int{}
	_ [0]int = [mm.ProtExec - ProtExec]int{}
)

const (
	// maxArgBytes bounds argv and envp (strings and pointers) like
	// Linux: a quarter of the stack.
	maxArgBytes = StackSize / 4
	// placeTries is how often a random placement that hits memory in
	// use is retried.
	placeTries = 8
	copyChunk  = 64 << 10
)

// errInUse is the placement failure worth retrying at another address.
var errInUse = errors.New("address range in use")

// Load maps img (whose file r is) into application memory and builds the
// initial stack with argv, envp and 16 AT_RANDOM bytes from rnd; a
// static-pie gets a random base from rnd. AT_EXECFN is argv[0]. On error
// nothing stays mapped.
func Load(img *Image, r io.ReaderAt, argv, envp []string, rnd io.Reader) (*Loaded, error) {
	return LoadAt(img, r, argv, envp, rnd, 0)
}

// LoadAt is Load with a static-pie placed at base instead of a random
// address when base is not 0 (a debugger's host side chose it, so that it
// can tell the debugger where the symbols are).
func LoadAt(img *Image, r io.ReaderAt, argv, envp []string, rnd io.Reader, base uint64) (*Loaded, error) {
	if err := checkArgs(argv, envp); err != nil {
		return nil, err
	}
	l := &Loaded{PIE: img.PIE()}
	fixed := base
	for try := 1; ; try++ {
		base, err := img.PickBase(rnd)
		if err != nil {
			return nil, err
		}
		if fixed != 0 && img.PIE() {
			base, try = fixed, placeTries // one try: the caller needs this address
		}
		if err := img.CheckBase(base); err != nil {
			return nil, err
		}
		maps := img.Plan(base)
		err = mapRuns(maps)
		if err == nil {
			l.Base, l.Bias, l.Mappings = base, img.Bias(base), maps
			break
		}
		if !errors.Is(err, errInUse) || !img.PIE() || try == placeTries {
			return nil, err
		}
	}
	if err := fill(l.Mappings, r); err != nil {
		l.Unload()
		return nil, err
	}
	if err := l.placeStack(rnd); err != nil {
		l.Unload()
		return nil, err
	}
	if err := l.placeVDSO(rnd); err != nil {
		l.Unload()
		return nil, err
	}
	var random [16]byte
	if _, err := io.ReadFull(rnd, random[:]); err != nil {
		l.Unload()
		return nil, fmt.Errorf("loader: read AT_RANDOM bytes: %w", err)
	}
	execfn := ""
	if len(argv) > 0 {
		execfn = argv[0]
	}
	auxv := append(img.AuxVector(l.Base), AuxEntry{linux.AT_SYSINFO_EHDR, l.VDSO})
	sp, mem := BuildStack(l.StackHi, argv, envp, auxv, random, execfn)
	if e := hart.CopyOut(uintptr(sp), mem); e != 0 {
		l.Unload()
		return nil, fmt.Errorf("loader: copy %d-byte initial stack to %#x: %w", len(mem), sp, e)
	}
	l.SP = sp
	l.Entry = img.Entry + l.Bias
	l.Phdr = img.PhdrAddr + l.Bias
	l.Brk = img.Brk(l.Base)
	if !img.PIE() {
		// A PIE's brk follows its random base; a static image's
		// would be the same in every run.
		b, err := RandomBrk(rnd, l.Brk)
		if err != nil {
			l.Unload()
			return nil, err
		}
		l.Brk = b
	}
	mb, err := RandomMmapBase(rnd)
	if err == nil {
		err = hart.SetUserMmapBase(uintptr(mb))
	}
	if err != nil {
		l.Unload()
		return nil, err
	}
	l.MmapBase = mb
	if t := img.TLS; t != nil {
		l.TLS = &TLS{Vaddr: t.Vaddr + l.Bias, Filesz: t.Filesz, Memsz: t.Memsz, Align: t.Align}
	}
	return l, nil
}

// checkArgs refuses strings the application could not see whole and
// argument lists that would not leave it most of its stack.
func checkArgs(argv, envp []string) error {
	n := uint64(0)
	for _, list := range [][]string{argv, envp} {
		for _, s := range list {
			if strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("loader: argument or environment string %q contains a NUL byte: %w", s, syscall.EINVAL)
			}
			n += uint64(len(s)) + 1 + 8
		}
	}
	if n > maxArgBytes {
		return fmt.Errorf("loader: arguments and environment take %d bytes of stack, more than %d: %w", n, maxArgBytes, syscall.E2BIG)
	}
	return nil
}

// mapRuns maps every run read-write (final protections come after the
// copies, so no page is ever writable and executable). Memory already
// in use gives errInUse; on error nothing stays mapped.
func mapRuns(maps []Mapping) error {
	for i, m := range maps {
		_, e := hart.UserMap(uintptr(m.Addr), uintptr(m.Len), ProtRead|ProtWrite, hart.MapFixed|hart.MapNoReplace)
		if e == 0 {
			continue
		}
		for _, d := range maps[:i] {
			hart.UserUnmap(uintptr(d.Addr), uintptr(d.Len))
		}
		if e == syscall.EEXIST {
			return fmt.Errorf("loader: map [%#x, %#x): %w", m.Addr, m.Addr+m.Len, errInUse)
		}
		return fmt.Errorf("loader: map [%#x, %#x): %w", m.Addr, m.Addr+m.Len, e)
	}
	return nil
}

// fill copies the file bytes into the runs and then sets their final
// protections. The pages are fresh, so the rest of each run is zero.
// From a File, whole pages of runs that will not be writable are the
// file's own pages instead of copies (File).
func fill(maps []Mapping, r io.ReaderAt) error {
	buf := make([]byte, copyChunk)
	file, _ := r.(File)
	for _, m := range maps {
		for _, c := range m.Copies {
			var skip, n uint64
			if file != nil && m.Prot&ProtWrite == 0 {
				skip, n = wholePages(c)
			}
			if err := copyFile(r, buf, c.Addr, c.FileOff, skip); err != nil {
				return err
			}
			for off := skip; off < skip+n; off += PageSize {
				if !adopt(file, c.Addr+off, c.FileOff+off) {
					if err := copyFile(r, buf, c.Addr+off, c.FileOff+off, PageSize); err != nil {
						return err
					}
				}
			}
			if err := copyFile(r, buf, c.Addr+skip+n, c.FileOff+skip+n, c.Len-skip-n); err != nil {
				return err
			}
		}
	}
	for _, m := range maps {
		if e := hart.UserProtect(uintptr(m.Addr), uintptr(m.Len), m.Prot); e != 0 {
			return fmt.Errorf("loader: protect [%#x, %#x) %s: %w", m.Addr, m.Addr+m.Len, ProtString(m.Prot), e)
		}
	}
	return nil
}

// copyFile copies n file bytes at off to the application's addr.
func copyFile(r io.ReaderAt, buf []byte, addr, off, n uint64) error {
	for done := uint64(0); done < n; {
		b := buf[:min(n-done, copyChunk)]
		if err := readFull(r, b, int64(off+done)); err != nil {
			return fmt.Errorf("loader: read file bytes at %#x for %#x: %w", off+done, addr+done, err)
		}
		if e := hart.CopyOut(uintptr(addr+done), b); e != 0 {
			return fmt.Errorf("loader: copy %d bytes to %#x: %w", len(b), addr+done, e)
		}
		done += uint64(len(b))
	}
	return nil
}

// adopt makes the file's page at off back the application's page at
// addr, and reports whether it did; when it cannot (the file's page is
// not one the hart layer hands over, say), the caller copies.
func adopt(file File, addr, off uint64) bool {
	if off > uint64(len(file)) || uint64(len(file))-off < PageSize {
		return false
	}
	return hart.AdoptInitrdPage(uintptr(addr), uintptr(unsafe.Pointer(&file[off]))) == 0
}

// placeStack maps the stack at a random place in the high region, with
// an inaccessible guard page below it, clear of the image.
func (l *Loaded) placeStack(rnd io.Reader) error {
	imgLo := l.Mappings[0].Addr
	last := l.Mappings[len(l.Mappings)-1]
	imgHi := last.Addr + last.Len
	for try := 0; try < placeTries; try++ {
		g, err := RandomBase(rnd, PageSize+StackSize)
		if err != nil {
			return err
		}
		lo, hi := g+PageSize, g+PageSize+StackSize
		if g < imgHi && imgLo < hi {
			continue
		}
		// The guard page is part of the mapping with no access, so it
		// stays reserved: an mmap without MAP_FIXED never lands on it.
		_, e := hart.UserMap(uintptr(g), PageSize+StackSize, ProtRead|ProtWrite, hart.MapFixed|hart.MapNoReplace)
		if e == syscall.EEXIST {
			continue
		}
		if e != 0 {
			return fmt.Errorf("loader: map stack [%#x, %#x): %w", lo, hi, e)
		}
		if e := hart.UserProtect(uintptr(g), PageSize, 0); e != 0 {
			hart.UserUnmap(uintptr(g), PageSize+StackSize)
			return fmt.Errorf("loader: stack guard page at %#x: %w", g, e)
		}
		l.Guard, l.StackLo, l.StackHi = g, lo, hi
		return nil
	}
	return fmt.Errorf("loader: no room for the %d-byte stack after %d random tries", StackSize, placeTries)
}

// placeVDSO maps the vDSO read+execute at a random page of the high
// region, clear of everything mapped so far.
func (l *Loaded) placeVDSO(rnd io.Reader) error {
	hz, wall := hart.Clock()
	page := VDSO(hz, wall)
	for try := 0; try < placeTries; try++ {
		at, err := RandomBase(rnd, VDSOSize)
		if err != nil {
			return err
		}
		_, e := hart.UserMap(uintptr(at), VDSOSize, ProtRead|ProtWrite, hart.MapFixed|hart.MapNoReplace)
		if e == syscall.EEXIST {
			continue
		}
		if e != 0 {
			return fmt.Errorf("loader: map the vDSO at %#x: %w", at, e)
		}
		if e := hart.CopyOut(uintptr(at), page); e != 0 {
			hart.UserUnmap(uintptr(at), VDSOSize)
			return fmt.Errorf("loader: fill the vDSO at %#x: %w", at, e)
		}
		if e := hart.UserProtect(uintptr(at), VDSOSize, ProtRead|ProtExec); e != 0 {
			hart.UserUnmap(uintptr(at), VDSOSize)
			return fmt.Errorf("loader: protect the vDSO at %#x: %w", at, e)
		}
		l.VDSO = at
		return nil
	}
	return fmt.Errorf("loader: no room for the vDSO after %d random tries", placeTries)
}

// Unload unmaps the image and the stack.
func (l *Loaded) Unload() {
	for _, m := range l.Mappings {
		hart.UserUnmap(uintptr(m.Addr), uintptr(m.Len))
	}
	if l.VDSO != 0 {
		hart.UserUnmap(uintptr(l.VDSO), VDSOSize)
	}
	if l.StackHi != 0 {
		hart.UserUnmap(uintptr(l.Guard), uintptr(l.StackHi-l.Guard))
	}
	l.Mappings, l.StackLo, l.StackHi = nil, 0, 0
}

// InitContext sets u up to start the application: PC at the entry, sp at
// the initial stack, every other register zero.
func (l *Loaded) InitContext(u *hart.UserContext) {
	*u = hart.UserContext{}
	u.PC = l.Entry
	u.X[1] = l.SP // X[n-1] is xn: x2 is sp
}

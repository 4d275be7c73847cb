//go:build riscv64

package hart

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fdt"
	"github.com/runikraft/runikraft/kernel/mm"
)

// The hart layer's interface to the rest of the kernel: ordinary Go,
// entering the hart layer through its own system calls so that the
// runtime treats a wait like a blocking syscall (the P is handed off).

// entryPC keeps the boot entry (and with it the whole boot path) linked.
var entryPC = entryAddr()

// WaitIRQ blocks until device interrupt irq fires. The source stays
// masked from the interrupt until the next WaitIRQ, so acknowledge the
// device in between.
//
// The wait keeps the goroutine's P, as a system call does, while the
// hart has other threads to run; when it has none, the hart layer ends
// the wait with EAGAIN and WaitIRQ waits again with the P handed off,
// so that the goroutines the caller made runnable run now (plic.go's
// yieldIRQIdle says why).
func WaitIRQ(irq uint32) error {
	_, _, e := syscall.Syscall(sysRKWaitIRQ, uintptr(irq), waitIRQYield, 0)
	if e == syscall.EAGAIN {
		e = waitIRQHandedOff(irq)
	}
	if e != 0 {
		return fmt.Errorf("hart: wait for irq %d: %w", irq, e)
	}
	return nil
}

// Reseed mixes seed material (e.g. from virtio-rng) into the kernel's
// random number generator.
func Reseed(seed []byte) error {
	if len(seed) == 0 {
		return nil
	}
	_, _, e := syscall.RawSyscall(sysRKReseed, uintptr(unsafe.Pointer(&seed[0])), uintptr(len(seed)), 0)
	if e != 0 {
		return fmt.Errorf("hart: reseed: %w", e)
	}
	return nil
}

// MemStats is the hart layer's view of memory.
type MemStats struct {
	InUse   uint64 // bytes of RAM handed out (page tables, stacks, heap pages)
	Total   uint64 // bytes of RAM the page allocator manages
	Areas   uint64 // virtual memory areas of the kernel's runtime
	Threads uint64 // kernel thread slots in use (high-water mark)
	App     uint64 // bytes of RAM backing the application's pages (in InUse)
	Spare   uint64 // bytes the application may still get: free RAM less the kernel's reserve

	// Where the kernel's part of InUse goes, and the image and RAM
	// outside the allocator (runikraft run --debug's memory account).
	PageTables  uint64 // the page table's own pages, the application's levels included
	Stacks      uint64 // the hart layer's stacks: the runtime's main thread, trap and emergency stacks
	Runtime     uint64 // pages backing the kernel runtime's mappings (its heap, goroutine stacks, metadata)
	DMA         uint64 // device memory (virtqueues), never freed
	AppPeak     uint64 // the most App has been
	Reserve     uint64 // pages the application may not take, free or not
	ImageText   uint64 // the kernel image's boot page and code
	ImageRodata uint64 // read-only data (pclntab among it)
	ImageData   uint64 // data and .bss
	RAM         uint64 // the machine's RAM (the device tree's memory)
	HartTables  uint64 // of ImageData: the hart layer's fixed tables (run queue, emergency frames, ...)
	Tables      uint64 // pages backing the hart layer's growing tables (threads, area maps)
}

// MemoryRoom reports whether the kernel's heap can take n more bytes
// for data the application asked it to keep (tmpfs files) and still
// leave the reserve and a margin for the runtime's own growth: the same
// rule the application's page faults obey, a little stricter, so that
// filling /tmp gives ENOSPC before the kernel's heap eats the reserve.
func MemoryRoom(n int64) bool {
	const margin = 256 << 10
	s := ReadMemStats()
	return n >= 0 && uint64(n)+margin <= s.Spare
}

// SetUserMmapBase makes mappings without a fixed address start their
// search at base (ASLR; the loader picks it). Call it before the
// application runs: the trap-context code reads it without a lock.
func SetUserMmapBase(base uintptr) error {
	if base%mm.PageSize != 0 || base < UserHighStart || base >= UserHighEnd {
		return fmt.Errorf("hart: mmap base %#x is not a page in [%#x, %#x)", base, UserHighStart, UserHighEnd)
	}
	uspace.mmapBase = base
	return nil
}

// ReadMemStats returns the current memory counters.
func ReadMemStats() MemStats {
	var s MemStats
	syscall.RawSyscall(sysRKMemStats, uintptr(unsafe.Pointer(&s)), 0, 0)
	return s
}

// Machine returns what the device tree said about this machine. Device
// base addresses are kernel virtual addresses (mapped read-write).
func Machine() fdt.Machine { return machine }

// Seeded reports whether the random generator got real entropy (rng-seed
// or Reseed), not only timer jitter.
func Seeded() bool { return rngSeeded }

// Clock says how the time CSR, which applications may read, maps to the
// kernel's clocks: it counts hz per second from 0 at CLOCK_MONOTONIC's
// zero, and the wall clock is wallNS nanoseconds ahead of it.
func Clock() (hz uint64, wallNS int64) { return machine.TimebaseHz, bootWall }

// Bootargs returns the kernel command line (/chosen/bootargs), or the
// default one baked into an application image when the boot loader gave
// none.
func Bootargs() string {
	a := machine.Bootargs
	if a.Size == 0 {
		return string(embedded(abi.CmdlineStart, abi.CmdlineSize))
	}
	return string(unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(a.Base))), a.Size))
}

// DefaultBootargs returns the command line baked into an application
// image ("" if none): the defaults that Bootargs' words are laid over.
func DefaultBootargs() string {
	return string(embedded(abi.CmdlineStart, abi.CmdlineSize))
}

// embedded returns a range of the image that bootInfo words i (address)
// and n (size) describe. The builder placed it below ImageEnd, which is
// mapped and never handed out as free memory.
func embedded(i, n int) []byte {
	base, size := bootInfo[i], bootInfo[n]
	if size == 0 || base < bootInfo[biDataStart] || base+size > bootInfo[biImageEnd] || base+size < base {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(base))), size)
}

// AllocDMA returns the address of n zeroed, physically contiguous pages
// that devices can reach: RAM is identity-mapped, so the address is the
// same for the kernel and the device. The pages are never freed; drivers
// allocate their rings once.
func AllocDMA(pages int) (uintptr, error) {
	p, _, e := syscall.RawSyscall(sysRKAllocDMA, uintptr(pages), 0, 0)
	if e != 0 {
		return 0, fmt.Errorf("hart: allocate %d DMA pages: %w", pages, e)
	}
	return p, nil
}

// EnterUser runs the application thread described by u in user mode until
// it makes a system call, faults, or is kicked; u then holds its registers
// and u.Cause/u.Tval say why. The goroutine blocks meanwhile (the runtime
// sees a blocking system call).
func EnterUser(u *UserContext) error {
	r := enterUserCall(uintptr(unsafe.Pointer(u))) // userentry.go
	runtime.KeepAlive(u)
	if e := -int64(r); e > 0 && e < 4096 {
		return fmt.Errorf("hart: enter user mode: %w", syscall.Errno(e))
	}
	return nil
}

// Kick makes the thread running u leave user mode soon (for signal
// delivery). Set u.Kick first so a thread about to enter returns at once.
func Kick(u *UserContext) {
	syscall.RawSyscall(sysRKKick, uintptr(unsafe.Pointer(u)), 0, 0)
}

// UserMap creates an application memory area (backed lazily), returning
// its address. prot is PROT_READ|PROT_WRITE|PROT_EXEC bits; writable and
// executable together is refused (W^X).
func UserMap(addr, length uintptr, prot, flags uint32) (uintptr, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(sysRKUserMap, addr, length, uintptr(prot), uintptr(flags), 0, 0)
	return r, e
}

// UserUnmap removes application memory.
func UserUnmap(addr, length uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall(sysRKUserUnmap, addr, length, 0)
	return e
}

// UserProtect changes the protection of application memory.
func UserProtect(addr, length uintptr, prot uint32) syscall.Errno {
	_, _, e := syscall.RawSyscall(sysRKUserProtect, addr, length, uintptr(prot))
	return e
}

// UserAdvise applies madvise advice (MADV_DONTNEED/MADV_FREE drop pages).
func UserAdvise(addr, length uintptr, advice int) syscall.Errno {
	_, _, e := syscall.RawSyscall(sysRKUserAdvise, addr, length, uintptr(advice))
	return e
}

// CopyIn copies len(dst) bytes from application address src.
func CopyIn(dst []byte, src uintptr) syscall.Errno {
	if len(dst) == 0 {
		return 0
	}
	// Without a trap: a word or two under bkl (peek.go), any present
	// range on one hart (copydirect.go). In that order: with the direct copy
	// first the futex ping-pong's round trip took 8,700 guest
	// instructions against 5,700 (bench/syscall -icount).
	if peekUser(dst, src) {
		return 0
	}
	if n := uintptr(len(dst)); n <= maxDirectCopy && nharts == 1 { // copydirect.go, without a call around it
		s := irqOff()
		ok := copyMapped(uintptr(unsafe.Pointer(&dst[0])), src, n, false)
		irqRestore(s)
		if ok {
			return 0
		}
	}
	_, _, e := syscall.RawSyscall(sysRKCopyIn, uintptr(unsafe.Pointer(&dst[0])), src, uintptr(len(dst)))
	return e
}

// CopyOut copies src to application address dst.
func CopyOut(dst uintptr, src []byte) syscall.Errno {
	if len(src) == 0 {
		return 0
	}
	if n := uintptr(len(src)); n <= maxDirectCopy && nharts == 1 { // copydirect.go, without a call around it
		s := irqOff()
		ok := copyMapped(uintptr(unsafe.Pointer(&src[0])), dst, n, true)
		irqRestore(s)
		if ok {
			return 0
		}
	}
	_, _, e := syscall.RawSyscall(sysRKCopyOut, dst, uintptr(unsafe.Pointer(&src[0])), uintptr(len(src)))
	return e
}

// Random fills p from the kernel's generator (the getrandom system call
// underneath, without linking crypto/rand's FIPS machinery, whose 32 MiB
// scratch buffer the kernel would have to map at boot).
func Random(p []byte) {
	for len(p) > 0 {
		n, _, e := syscall.RawSyscall(linux.SYS_GETRANDOM, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0)
		if e != 0 || n == 0 {
			panic("hart: getrandom failed")
		}
		p = p[n:]
	}
}

// RandomReader reads from Random; it never fails.
var RandomReader randomReader

type randomReader struct{}

func (randomReader) Read(p []byte) (int, error) {
	Random(p)
	return len(p), nil
}

// Initrd returns the bytes QEMU placed in RAM with -initrd, or else the
// application baked into the image (nil if neither). RAM is
// identity-mapped and neither range is handed out as free memory until
// ReleaseInitrd, so the slice stays valid until then; after it, Initrd
// returns nil.
func Initrd() []byte {
	if initrdReleased {
		return nil
	}
	r := machine.Initrd
	if r.Size == 0 {
		return embedded(abi.EmbedStart, abi.EmbedSize)
	}
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(r.Base))), r.Size)
}

// UserFutexWake wakes up to n application threads that the hart layer
// parked in a futex wait on addr (see ufutex.go) whose bitset meets
// bitset, and returns how many it woke.
func UserFutexWake(addr uintptr, n int, bitset uint32) int {
	// None parked: no trap. A thread parks only after reading the futex
	// word under bkl, which the caller's own system call took and
	// released after the application changed the word; so a waiter not
	// counted yet will see the new value and not park.
	if n <= 0 || atomic.LoadInt32(&userFutexParked) == 0 {
		return 0
	}
	r, _, _ := syscall.RawSyscall(sysRKFutexWake, addr, uintptr(n), uintptr(bitset))
	return int(r)
}

// UserFutexRequeue makes up to n application threads parked on from
// wait on to instead, and returns how many it moved.
func UserFutexRequeue(from, to uintptr, n int) int {
	if n <= 0 {
		return 0
	}
	r, _, _ := syscall.RawSyscall(sysRKFutexMove, from, to, uintptr(n))
	return int(r)
}

// UserFutexWaiters adds delta to the count of futex waiters on addr the
// posix layer keeps itself; while it is not zero, wakes on addr go
// through the posix layer. Count a waiter before reading its futex word.
func UserFutexWaiters(addr uintptr, delta int) {
	atomic.AddInt32(userFutexBucket(addr), int32(delta))
}

//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fdt"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// bootInfo is filled in by the image builder (internal/image) after the
// Go link; package abi describes it.
var bootInfo = [abi.Words]uint64{abi.Magic}

const (
	biVersion     = abi.Version
	biTextStart   = abi.TextStart
	biTextEnd     = abi.TextEnd
	biRodataStart = abi.RodataStart
	biRodataEnd   = abi.RodataEnd
	biDataStart   = abi.DataStart
	biImageEnd    = abi.ImageEnd
	biNSites      = abi.NSites
	biSites       = abi.Sites
	maxSites      = abi.MaxSites
	biGoEntry     = abi.GoEntry // entry_riscv64.s reads it (go_asm.h)
)

// scounterenTM lets U-mode read the time CSR: the application's vDSO
// reads the clock with rdtime instead of a system call.
const scounterenTM = 1 << 1

// boot runs once, on the boot hart, before the Go runtime: no g, a small
// stack in .bss, nosplit all the way down. It brings up memory, paging,
// traps and the main thread's stack, and returns the stack pointer at
// which the runtime's ELF entry finds argc, argv, envp and auxv.
//
//go:nosplit
func boot(hartid, dtb uintptr) uintptr {
	stamp(PhaseEntry) // boot timeline (timeline.go)
	if bootInfo[biVersion] != 1 {
		puts("runikraft: this kernel image was not baked (run it through runikraft's image builder)\n")
		powerOff(abi.ExitBadImage)
	}
	if e := fdt.Parse(dtb, &machine); e != 0 {
		puts("runikraft: cannot read the device tree: ")
		puts(fdt.ErrorString(e))
		puts("\n")
		powerOff(abi.ExitBadImage)
	}
	if bootargHas(abi.MarkerParam) {
		// runikraft run asked for it (see abi); a plain boot's console
		// starts with the application's first byte instead.
		puts(abi.ConsoleMarker)
	}
	if machine.TimebaseHz == 0 {
		machine.TimebaseHz = 10_000_000
	}
	initTicks()
	h := &harts[0]
	h.id = hartid
	nharts = 1
	initFrames(dtb)
	if !kpt.Init(&frames) || !mapKernel() {
		puts("runikraft: out of memory building the page table\n")
		powerOff(abi.ExitBadImage)
	}
	setSATP(kpt.SATP())
	if !initTables() || !initZeroPage() {
		puts("runikraft: out of memory for the hart tables\n")
		powerOff(abi.ExitBadImage)
	}
	remapDevices()
	stamp(PhasePaging) // boot timeline (timeline.go)

	mainTop := allocStack(mainStackSize)
	if !initHart(0, uint64(hartid)) || mainTop == 0 {
		puts("runikraft: out of memory for kernel stacks\n")
		powerOff(abi.ExitBadImage)
	}

	t := &threads[0]
	t.tid = 1
	t.state = tRunning
	t.fr.hart = hartAddr(h)
	nthreads = 1
	h.cur = 0
	h.fpOwner = frameAddr(0) // fp.go
	detectSstc(0)
	setTrapVector(trapVectorAddr(), frameAddr(0))

	initClock()
	reg.SetSCOUNTEREN(scounterenTM)
	initEntropy()
	h.timerAt = 0
	reg.WriteSIE(sieSTIE | sieSEIE | sieSSIE)
	sp := buildInitialStack(mainTop)
	stamp(PhaseHart) // boot timeline (timeline.go)
	startHarts()     // last: from here on, shared state is under bkl
	return sp
}

// bootargHas reports whether the device tree's command line has the
// word w (before the MMU is on: the blob is read where it lies).
//
//go:nosplit
func bootargHas(w string) bool {
	a := machine.Bootargs
	n := uintptr(a.Size)
	for i := uintptr(0); i+uintptr(len(w)) <= n; {
		for i < n && isBlank(*(*byte)(unsafe.Add(nil, uintptr(a.Base)+i))) {
			i++
		}
		j := i
		for j < n && !isBlank(*(*byte)(unsafe.Add(nil, uintptr(a.Base)+j))) {
			j++
		}
		if j-i == uintptr(len(w)) {
			k := 0
			for k < len(w) && *(*byte)(unsafe.Add(nil, uintptr(a.Base)+i+uintptr(k))) == w[k] {
				k++
			}
			if k == len(w) {
				return true
			}
		}
		if j == i {
			break
		}
		i = j
	}
	return false
}

//go:nosplit
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Exclusions from free RAM, sorted during boot (globals: the nosplit
// stack budget is too small for them).
var (
	excl  [fdt.MaxReserved + 2]fdt.Range
	nexcl int
)

// initFrames hands the page allocator every byte of RAM outside the image
// that is not reserved (OpenSBI, the device tree, the initrd): above the
// image, and below it (QEMU loads the image 2 MiB into RAM, and all of
// that but the firmware's own reserved range is free: 1.5 MiB, a tenth of
// a 16 MiB machine).
//
//go:nosplit
func initFrames(dtb uintptr) {
	nexcl = 0
	addExcl(uint64(dtb), uint64(machine.TotalSize))
	addExcl(machine.Initrd.Base, machine.Initrd.Size)
	for i := 0; i < machine.NReserved && i < fdt.MaxReserved; i++ {
		addExcl(machine.Reserved[i].Base, machine.Reserved[i].Size)
	}
	imageStart, imageEnd := imageLow(), uintptr(bootInfo[biImageEnd])
	ramBytes = 0
	for i := 0; i < machine.NMem && i < fdt.MaxMem; i++ {
		ramBytes += machine.Mem[i].Size
		start := uintptr(machine.Mem[i].Base)
		end := start + uintptr(machine.Mem[i].Size)
		if start < imageStart {
			addFree(start, min(end, imageStart)) // spans go in ascending order
		}
		addFree(max(start, imageEnd), end)
	}
	_, total := frames.Stats()
	frames.SetReserve(reservePages(total))
}

// imageLow is the image's lowest address: the boot stub's page, just
// below .text.
//
//go:nosplit
func imageLow() uintptr { return pageDown(uintptr(bootInfo[biTextStart])) - mm.PageSize }

// addFree hands the allocator [start, end) less the exclusions.
//
//go:nosplit
func addFree(start, end uintptr) {
	for j := 0; j < nexcl && j < len(excl) && start < end; j++ {
		xs, xe := uintptr(excl[j].Base), uintptr(excl[j].Base+excl[j].Size)
		if xe <= start || xs >= end {
			continue
		}
		if xs > start {
			frames.AddSpan(start, xs)
		}
		start = xe
	}
	if start < end {
		frames.AddSpan(start, end)
	}
}

// ramBytes is the machine's RAM as the device tree gives it (what sysinfo
// reports as totalram): the overcommit rule's limit.
var ramBytes uint64

// The kernel's reserve: pages the application's faults and mappings may
// not take, so that once it has run out of memory the kernel's runtime
// (its heap grows through kmmap), the console, a volume's last writes
// and the exit report still complete. A sixteenth of the allocator's
// pages, at least 2 MiB and at most 16 MiB; on machines under about 32
// MiB, where 2 MiB would be a good part of what the application has
// left, the floor is a twenty-fourth of the pages instead, and never
// under 512 KiB (512 KiB at -m 16M and 18M; the pages counted here are
// those the allocator has at boot, before the application's file goes
// back to it). What the kernel takes while an application runs out is
// far less: from the first user instruction to the out-of-memory kill of
// bench/memory's program at 18-19 MiB its pages grew by 56 KiB (page
// tables 24, thread stacks 32), and by 0.3 MiB more with --debug, whose
// ReadMemStats backs runtime metadata. A kernel that allocates while
// the application grows (a program filling memory while four goroutines
// churn files in /tmp and threads come and go: the kernel's runtime at
// 3 MiB, a dozen collections) takes its pages from the free ones first,
// and the application is killed, at 16, 17, 18 and 24 MiB, with
// --debug too (Sat Dec 5 2026). From 32 MiB up the reserve is what it
// was.
const (
	reserveMin      = (2 << 20) / mm.PageSize
	reserveMax      = (16 << 20) / mm.PageSize
	reserveSmallMin = (512 << 10) / mm.PageSize
)

//go:nosplit
func reservePages(total uint64) uint64 {
	if total/16 < reserveMin { // a small machine
		return min(max(total/24, reserveSmallMin), reserveMin)
	}
	return min(total/16, reserveMax)
}

// addExcl inserts a range into excl, kept sorted by base.
//
//go:nosplit
func addExcl(base, size uint64) {
	if size == 0 || nexcl >= len(excl) {
		return
	}
	i := nexcl
	for i > 0 && i < len(excl) && excl[i-1].Base > base {
		excl[i] = excl[i-1]
		i--
	}
	if i >= 0 && i < len(excl) {
		excl[i] = fdt.Range{Base: base, Size: size}
	}
	nexcl++
}

const (
	kernText = mm.PTERead | mm.PTEExec | mm.PTEGlobal | mm.PTEAccessed
	kernRO   = mm.PTERead | mm.PTEGlobal | mm.PTEAccessed
	kernRW   = mm.PTERead | mm.PTEWrite | mm.PTEGlobal | mm.PTEAccessed | mm.PTEDirty
)

//go:nosplit
func pageUp(v uintptr) uintptr { return (v + mm.PageSize - 1) &^ (mm.PageSize - 1) }

//go:nosplit
func pageDown(v uintptr) uintptr { return v &^ (mm.PageSize - 1) }

// mapKernel builds the kernel's half of the page table: W^X image
// sections, RAM outside the image (read-write, never executable) and the
// devices from the device tree. Page 0 stays unmapped.
//
//go:nosplit
func mapKernel() bool {
	ts := imageLow()
	ok := mapIdentity(ts, pageUp(uintptr(bootInfo[biTextEnd])), kernText) &&
		mapIdentity(uintptr(bootInfo[biRodataStart]), uintptr(bootInfo[biRodataEnd]), kernRO) &&
		mapIdentity(uintptr(bootInfo[biDataStart]), uintptr(bootInfo[biImageEnd]), kernRW)
	imageEnd := pageUp(uintptr(bootInfo[biImageEnd]))
	for i := 0; i < len(machine.Mem) && i < machine.NMem && ok; i++ {
		start := uintptr(machine.Mem[i].Base)
		end := start + uintptr(machine.Mem[i].Size)
		if start < ts {
			ok = mapIdentity(start, min(end, ts), kernRW) // RAM below the image (initFrames)
		}
		if start < imageEnd {
			start = imageEnd
		}
		ok = ok && mapIdentity(start, end, kernRW)
	}
	ok = ok && mapDevice(machine.UART) && mapDevice(machine.PLIC) &&
		mapDevice(machine.Test) && mapDevice(machine.RTC)
	for i := 0; i < len(machine.Virtio) && i < machine.NVirtio && ok; i++ {
		ok = mapDevice(machine.Virtio[i])
	}
	return ok
}

//go:nosplit
func mapIdentity(start, end uintptr, perm uint64) bool {
	start = pageDown(start)
	end = pageUp(end)
	if end <= start {
		return true
	}
	return kpt.MapRange(&frames, start, start, end-start, perm)
}

// Devices are mapped high, at mmioRegion + physical address, so the low
// 2 GiB stay free for applications linked at low addresses.
//
//go:nosplit
func mapDevice(d fdt.Device) bool {
	if d.Base == 0 {
		return true
	}
	if d.Base >= mmioLimit {
		return false
	}
	size := d.Size
	if size == 0 {
		size = mm.PageSize
	}
	start, end := pageDown(uintptr(d.Base)), pageUp(uintptr(d.Base+size))
	return kpt.MapRange(&frames, mmioRegion+start, start, end-start, kernRW)
}

// remapDevices switches the recorded device addresses to their kernel
// virtual addresses once paging is on.
//
//go:nosplit
func remapDevices() {
	machine.UART.Base = mmioVA(machine.UART.Base)
	machine.PLIC.Base = mmioVA(machine.PLIC.Base)
	machine.Test.Base = mmioVA(machine.Test.Base)
	machine.RTC.Base = mmioVA(machine.RTC.Base)
	for i := 0; i < machine.NVirtio && i < fdt.MaxVirtio; i++ {
		machine.Virtio[i].Base = mmioVA(machine.Virtio[i].Base)
	}
}

//go:nosplit
func mmioVA(pa uint64) uint64 {
	if pa == 0 {
		return 0
	}
	return pa + mmioRegion
}

// allocStack maps a kernel stack of size bytes in the stack region, with
// an unmapped guard page below it, and returns its top.
//
//go:nosplit
func allocStack(size uintptr) uintptr {
	base := stackNext + mm.PageSize // guard page stays unmapped
	for va := base; va < base+size; va += mm.PageSize {
		pa := frames.AllocZeroed()
		if pa == 0 || !kpt.Map(&frames, va, pa, kernRW) {
			return 0
		}
		stackPages++
	}
	stackNext = base + size
	return base + size
}

// The runtime's main thread starts like a Linux process: argc, argv,
// envp, auxv on the stack. The kernel's own Go runtime gets a fixed
// environment; GODEBUG turns off asynchronous preemption because the hart
// layer does not deliver signals to the kernel's runtime, and the
// runtime's heap profiling, which nothing in the kernel reads: its first
// sample, taken while the runtime starts, ran some 260 translation
// blocks of stack walking and bucket hashing in every boot.
const (
	kernArgv0 = "runikraft-kernel"
	kernEnv0  = "GODEBUG=asyncpreemptoff=1,memprofilerate=0"
)

//go:nosplit
func pushStr(sp uintptr, s string) uintptr {
	sp -= uintptr(len(s) + 1)
	for i := 0; i < len(s); i++ {
		*(*byte)(ptr(sp + uintptr(i))) = s[i]
	}
	*(*byte)(ptr(sp + uintptr(len(s)))) = 0
	return sp
}

// kernEnvLimit names the kernel runtime's soft memory limit: three
// quarters of the RAM the page allocator has less the reserve. Without one the runtime's
// heap can outgrow its collector and scavenger when the kernel allocates
// fast (a GC stress with 5 MB live held 78-122 MiB of a 128 MiB machine)
// and the frames run out; near the limit the runtime collects and
// returns memory harder instead.
const kernEnvLimit = "GOMEMLIMIT="

// pushMemLimit pushes kernEnvLimit and the limit in decimal, NUL
// ended, below sp, as pushStr does, and returns the string's address.
//
//go:nosplit
func pushMemLimit(sp uintptr) uintptr {
	_, total := frames.Stats() // pages
	v := (total - min(total, reservePages(total))) / 4 * 3 * mm.PageSize
	sp--
	*(*byte)(ptr(sp)) = 0
	for {
		sp--
		*(*byte)(ptr(sp)) = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	for i := len(kernEnvLimit) - 1; i >= 0; i-- {
		sp--
		*(*byte)(ptr(sp)) = kernEnvLimit[i]
	}
	return sp
}

//go:nosplit
func buildInitialStack(top uintptr) uintptr {
	argv0 := pushStr(top, kernArgv0)
	env0 := pushStr(argv0, kernEnv0)
	env1 := pushMemLimit(env0)
	rnd := (env1 - 16) &^ 15
	randomFill(rnd, 16)
	words := [...]uint64{
		1, uint64(argv0), 0, // argc, argv
		uint64(env0), uint64(env1), 0, // envp
		linux.AT_PAGESZ, mm.PageSize,
		linux.AT_RANDOM, uint64(rnd),
		linux.AT_HWCAP, linux.HWCAP_RV64IMAFDC,
		linux.AT_CLKTCK, linux.USER_HZ,
		linux.AT_SECURE, 0,
		linux.AT_UID, 0, linux.AT_EUID, 0, linux.AT_GID, 0, linux.AT_EGID, 0,
		linux.AT_NULL, 0,
	}
	sp := (rnd - uintptr(len(words))*8) &^ 15
	for i := range words {
		*mm.Word(sp + uintptr(i)*8) = words[i]
	}
	return sp
}

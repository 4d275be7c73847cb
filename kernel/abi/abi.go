// Package abi is the contract between the host tools (image builder,
// runikraft run) and the kernel: the layout of the bootInfo table that the
// builder fills in, the console marker, and the exit statuses the kernel
// uses for its own failures. Both sides import it, so they cannot drift.
package abi

// Magic is bootInfo's first word in an unbaked kernel; the image builder
// finds the table by symbol and checks it.
const Magic = 0x52554e494b524654 // "RUNIKRFT"

// Indices of bootInfo's words.
const (
	Version     = 1 // 1 once baked
	TextStart   = 2
	TextEnd     = 3
	RodataStart = 4
	RodataEnd   = 5
	DataStart   = 6
	GoEntry     = 7 // the runtime's ELF entry; entry_riscv64.s reads it
	ImageEnd    = 8
	NSites      = 9
	// An application image (internal/appimage) carries its application
	// after the kernel, inside ImageEnd: the initrd bytes (a program or a
	// cpio root filesystem), the default command line (bootargs format),
	// and a JSON manifest for tools. Address and size pairs; 0 if absent.
	EmbedStart    = 10
	EmbedSize     = 11
	CmdlineStart  = 12
	CmdlineSize   = 13
	ManifestStart = 14
	ManifestSize  = 15
	Sites         = 16 // sorted addresses of rewritten ECALLs follow
	MaxSites      = 2048
	Words         = Sites + MaxSites
)

// ConsoleMarker is the first thing the kernel prints when the command
// line has MarkerParam: an OSC "set title" sequence that terminals
// swallow. runikraft run passes MarkerParam and drops everything before
// the marker (the firmware's banner), so stdout carries only the guest's
// output. A plain boot (no MarkerParam) prints no marker, so the console
// starts with the application's first byte after the firmware's banner.
const ConsoleMarker = "\x1b]0;runikraft\x07"

// MarkerParam is the kernel command-line word that asks for
// ConsoleMarker (internal/bootargs.MarkerKey set to 1).
const MarkerParam = "runikraft.marker=1"

// Exit statuses of the kernel's own failures (the app's status otherwise).
const (
	ExitKernelPanic = 70 // unexpected trap, out of memory: EX_SOFTWARE
	ExitBadImage    = 97 // not baked, unreadable device tree, no memory at boot
	// ExitSyscallBug: a system-call handler panicked (a kernel bug the
	// application's arguments reached). The kernel logs the call, its
	// arguments and the Go stack, and ends the application: EX_OSERR.
	ExitSyscallBug = 71
)

// UserContext is an application thread's register state, shared by the
// hart layer (which runs it in U-mode) and the posix layer (which handles
// its system calls). Only the thread that owns it passes it to EnterUser.
//
// While the thread runs in user mode the hart layer uses it as the
// thread's trap frame, in place: up to FCSR it has the layout of the
// hart layer's frame (kernel/hart checks this at compile time), so a trap
// from user mode saves the registers straight into it and nothing is
// copied on the way in or out. It must therefore not move while in use:
// keep it on the heap, or on a goroutine stack only for EnterUser's
// duration (a stack does not move during a system call).
type UserContext struct {
	Hart   uint64     // the hart layer's: the hart running the thread
	X      [31]uint64 // x1..x31 (X[n-1] is register xn)
	PC     uint64
	Status uint64 // the hart layer's: sstatus while in user mode
	Cause  uint64 // why user mode was left: scause, or CauseKick
	Tval   uint64 // stval of that trap (fault address)
	F      [32]uint64
	FCSR   uint64
	Kick   uint32 // set before Kick; EnterUser returns at once while set
	Tid    uint32 // the application thread's id, for the kernel's fault report
	// Flags are set by the posix layer before EnterUser (UserSlowCalls).
	Flags uint32
	// Affinity is the CPUs (bit k = CPU k) the thread's user code may run
	// on; 0 is any (sched_setaffinity). The hart layer reads it whenever
	// it resumes the thread in user mode.
	Affinity uint32
	// ArgA0 is a0 as the call left it when the hart layer reports
	// CauseInterruptedCall (a0 then holds the result).
	ArgA0 uint64
}

// AppPid is the application's process id: it is init of its machine.
// The posix layer and the hart layer's trap-context getpid share it.
const AppPid = 1

// UserContext.Flags.
const (
	// UserSlowCalls: every system call leaves user mode for the posix
	// layer, none is answered in trap context (--strace logs them all).
	UserSlowCalls = 1
)

// Causes the hart layer reports besides scause values.
const (
	CauseKick = 1<<63 | 0xfff // a kick ended the user run
	// CauseInterruptedCall: the hart layer was running the system call
	// in the registers itself (a futex wait) and a kick interrupted it;
	// pc is past the ecall, ArgA0 holds its first argument. The posix
	// layer treats it like its own calls interrupted by a signal
	// (ERESTARTSYS: restarted, or EINTR).
	CauseInterruptedCall = 1<<63 | 0xffd
	CauseOOM             = 1<<63 | 0xffe // a page the app touched could not be backed: RAM is exhausted
)

// The application's address space: below 2 GiB (for binaries linked at
// fixed low addresses) and 64-192 GiB (mmap, the stack, PIE bases).
const (
	UserLowStart  = 0x1000
	UserLowEnd    = 0x8000_0000
	UserHighStart = 0x10_0000_0000
	UserHighEnd   = 0x30_0000_0000
)

// Flags of the hart layer's UserMap.
const (
	MapFixed     = 1 // place exactly at addr, replacing what is there
	MapNoReplace = 2 // with MapFixed: fail with EEXIST instead of replacing
	// MapCommit applies the overcommit rule to a writable mapping the
	// application asked for (mmap, brk, mremap): ENOMEM when it is larger
	// than the machine's RAM (4 times RAM with MapAnon). The loader's own
	// mappings (image, stack) go without it.
	MapCommit = 4
	// MapAnon, with MapCommit: the mapping is anonymous memory, charged
	// only when a page is first touched, so the rule lets it be a few
	// times RAM (the hart layer's commitLimit).
	MapAnon = 8
)

// Indices into UserContext.X (and the hart layer's trap frame, which
// keeps x1..x31 the same way) of the registers the kernel reads.
const (
	RegRA = 0  // x1
	RegSP = 1  // x2
	RegTP = 3  // x4
	RegA0 = 9  // x10: first argument, result
	RegA1 = 10 // x11
	RegA2 = 11
	RegA3 = 12
	RegA4 = 13
	RegA5 = 14
	RegA7 = 16 // x17: system-call number
)

package linux

import "unsafe"

// Layouts of the structures that cross the user/kernel boundary on
// riscv64 (LP64, little-endian, natural alignment). Field names follow
// the C members; padding is explicit, so each type's size is the C
// size. layout_test.go checks sizes and offsets against the riscv64 C
// compiler's view of the kernel and libc headers.

// Timespec is struct timespec (__kernel_timespec).
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Timeval is struct timeval.
type Timeval struct {
	Sec  int64
	Usec int64
}

// Itimerspec is struct itimerspec (timer_settime, timerfd_settime).
type Itimerspec struct {
	Interval Timespec
	Value    Timespec
}

// Itimerval is struct itimerval (setitimer).
type Itimerval struct {
	Interval Timeval
	Value    Timeval
}

// Stat is struct stat of asm-generic (riscv64), 128 bytes.
type Stat struct {
	Dev     uint64
	Ino     uint64
	Mode    uint32
	Nlink   uint32
	Uid     uint32
	Gid     uint32
	Rdev    uint64
	_       uint64 // __pad1
	Size    int64
	Blksize int32
	_       int32 // __pad2
	Blocks  int64
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
	_       [2]uint32 // __unused4, __unused5
}

// StatxTimestamp is struct statx_timestamp.
type StatxTimestamp struct {
	Sec  int64
	Nsec uint32
	_    int32
}

// Statx is struct statx, 256 bytes.
type Statx struct {
	Mask           uint32
	Blksize        uint32
	Attributes     uint64
	Nlink          uint32
	Uid            uint32
	Gid            uint32
	Mode           uint16
	_              uint16
	Ino            uint64
	Size           uint64
	Blocks         uint64
	AttributesMask uint64
	Atime          StatxTimestamp
	Btime          StatxTimestamp
	Ctime          StatxTimestamp
	Mtime          StatxTimestamp
	RdevMajor      uint32
	RdevMinor      uint32
	DevMajor       uint32
	DevMinor       uint32
	_              [14]uint64 // mnt_id and the newer fields: zero
}

// Statfs is struct statfs of asm-generic (64-bit), 120 bytes.
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Fsid    [2]int32
	Namelen int64
	Frsize  int64
	Flags   int64
	Spare   [4]int64
}

// Sigaction is the kernel's struct sigaction on riscv64 (no sa_restorer).
type Sigaction struct {
	Handler uint64
	Flags   uint64
	Mask    uint64
}

// StackT is stack_t (sigaltstack, uc_stack).
type StackT struct {
	SP    uint64
	Flags int32
	_     int32
	Size  uint64
}

// SigInfo is siginfo_t: 128 bytes, its union read through the helpers
// the signal code needs.
type SigInfo struct {
	Signo int32
	Errno int32
	Code  int32
	_     int32
	// Fields is the union: for SIGSEGV/SIGBUS si_addr at Fields[0]; for
	// kill/tkill si_pid (low 32 bits) and si_uid (high 32 bits) at
	// Fields[0]; for timers si_tid, si_overrun, si_value.
	Fields [14]uint64
}

// FPState is union __riscv_fp_state at its largest member, the Q
// extension's state (the D state is its prefix): 528 bytes.
type FPState struct {
	F    [64]uint64
	FCSR uint32
	_    [3]uint32
}

// SigContext is struct sigcontext (mcontext_t): pc and x1..x31 as
// struct user_regs_struct, then the floating-point state.
type SigContext struct {
	Regs [32]uint64 // Regs[0] is pc, Regs[n] is xn
	FP   FPState
}

// UContext is struct ucontext of riscv64.
type UContext struct {
	Flags    uint64
	Link     uint64
	Stack    StackT
	Sigmask  uint64
	_        [120]byte // the rest of the kernel's 1024-bit sigset area
	_        [8]byte   // uc_mcontext is 16-byte aligned
	MContext SigContext
}

// RtSigframe is what the kernel pushes on the stack to run a handler.
type RtSigframe struct {
	Info SigInfo
	UC   UContext
}

// EpollEvent is struct epoll_event (not packed on riscv64).
type EpollEvent struct {
	Events uint32
	_      uint32
	Data   uint64
}

// Iovec is struct iovec.
type Iovec struct {
	Base uint64
	Len  uint64
}

// Pollfd is struct pollfd.
type Pollfd struct {
	Fd      int32
	Events  int16
	Revents int16
}

// Rlimit is struct rlimit (prlimit64).
type Rlimit struct {
	Cur uint64
	Max uint64
}

// Utsname is struct new_utsname.
type Utsname struct {
	Sysname    [65]byte
	Nodename   [65]byte
	Release    [65]byte
	Version    [65]byte
	Machine    [65]byte
	Domainname [65]byte
}

// Sysinfo is struct sysinfo.
type Sysinfo struct {
	Uptime    int64
	Loads     [3]uint64
	Totalram  uint64
	Freeram   uint64
	Sharedram uint64
	Bufferram uint64
	Totalswap uint64
	Freeswap  uint64
	Procs     uint16
	_         [6]byte
	Totalhigh uint64
	Freehigh  uint64
	MemUnit   uint32
	_         [4]byte
}

// Dirent64Header is the fixed part of struct linux_dirent64; the name
// follows, NUL-terminated, the record padded to 8 bytes.
type Dirent64Header struct {
	Ino    uint64
	Off    int64
	Reclen uint16
	Type   uint8
}

// Dirent64NameOffset is where d_name starts in a record.
const Dirent64NameOffset = 19

// Winsize is struct winsize (TIOCGWINSZ).
type Winsize struct {
	Row    uint16
	Col    uint16
	Xpixel uint16
	Ypixel uint16
}

// Socket structures (the net issue's system calls).

// SockaddrIn is struct sockaddr_in (Port and Addr in network order).
type SockaddrIn struct {
	Family uint16
	Port   [2]byte
	Addr   [4]byte
	_      [8]byte
}

// SockaddrIn6 is struct sockaddr_in6.
type SockaddrIn6 struct {
	Family   uint16
	Port     [2]byte
	Flowinfo uint32
	Addr     [16]byte
	ScopeID  uint32
}

// SockaddrUn is struct sockaddr_un.
type SockaddrUn struct {
	Family uint16
	Path   [108]byte
}

// SockaddrNl is struct sockaddr_nl.
type SockaddrNl struct {
	Family uint16
	_      uint16
	Pid    uint32
	Groups uint32
}

// SockaddrStorage is struct sockaddr_storage: room for any address.
type SockaddrStorage struct {
	Family uint16
	_      [126]byte
}

// Msghdr is struct msghdr (user_msghdr).
type Msghdr struct {
	Name       uint64
	Namelen    uint32
	_          uint32
	Iov        uint64
	Iovlen     uint64
	Control    uint64
	Controllen uint64
	Flags      int32
	_          int32
}

// Mmsghdr is struct mmsghdr (sendmmsg, recvmmsg).
type Mmsghdr struct {
	Hdr Msghdr
	Len uint32
	_   uint32
}

// Cmsghdr is struct cmsghdr; the data follows at CmsgAlign(16).
type Cmsghdr struct {
	Len   uint64
	Level int32
	Type  int32
}

// CmsgAlign rounds a control-message length up as CMSG_ALIGN does.
func CmsgAlign(n uint64) uint64 { return (n + 7) &^ 7 }

// Linger is struct linger (SO_LINGER).
type Linger struct {
	Onoff  int32
	Linger int32
}

// Ucred is struct ucred (SO_PEERCRED, SCM_CREDENTIALS).
type Ucred struct {
	Pid int32
	Uid uint32
	Gid uint32
}

// AsBytes is v's memory as bytes, for copying a structure to or from
// the application. Only for the plain-data types of this package (no
// pointers); the kernel and its test hosts are little-endian.
func AsBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// Netlink (NETLINK_ROUTE) structures.

// NlMsghdr is struct nlmsghdr.
type NlMsghdr struct {
	Len   uint32
	Type  uint16
	Flags uint16
	Seq   uint32
	Pid   uint32
}

// IfInfomsg is struct ifinfomsg (RTM_NEWLINK).
type IfInfomsg struct {
	Family uint8
	_      uint8
	Type   uint16
	Index  int32
	Flags  uint32
	Change uint32
}

// IfAddrmsg is struct ifaddrmsg (RTM_NEWADDR).
type IfAddrmsg struct {
	Family    uint8
	Prefixlen uint8
	Flags     uint8
	Scope     uint8
	Index     uint32
}

// RtAttr is struct rtattr; its payload follows, padded to 4 bytes.
type RtAttr struct {
	Len  uint16
	Type uint16
}

// NlMsgerr is struct nlmsgerr: an error (or, with 0, an ack) and the
// header of the request it answers.
type NlMsgerr struct {
	Error int32
	Msg   NlMsghdr
}

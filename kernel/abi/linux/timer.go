package linux

// Timers, priorities and file advice: constants the Go toolchain's
// tables do not carry (ITIMER_*, TFD_*, SFD_* are in zconsts.go).
const (
	// MaxPosixTimers bounds timer_create per process (Linux bounds it by
	// RLIMIT_SIGPENDING); past it, EAGAIN.
	MaxPosixTimers = 4096

	// setpriority/getpriority "which" and the nice range.
	PRIO_PROCESS = 0
	PRIO_PGRP    = 1
	PRIO_USER    = 2
	PRIO_MIN     = -20
	PRIO_MAX     = 20

	// fadvise64 advice.
	POSIX_FADV_NORMAL     = 0
	POSIX_FADV_RANDOM     = 1
	POSIX_FADV_SEQUENTIAL = 2
	POSIX_FADV_WILLNEED   = 3
	POSIX_FADV_DONTNEED   = 4
	POSIX_FADV_NOREUSE    = 5
)

// Sigevent is struct sigevent (timer_create): 64 bytes; the union's
// first word is the thread id of SIGEV_THREAD_ID.
type Sigevent struct {
	Value  uint64 // sigev_value
	Signo  int32
	Notify int32
	Tid    int32 // _sigev_un._tid
	_      [44]byte
}

// SignalfdSiginfo is struct signalfd_siginfo: what a signalfd read
// returns for each signal, 128 bytes.
type SignalfdSiginfo struct {
	Signo    uint32
	Errno    int32
	Code     int32
	Pid      uint32
	Uid      uint32
	Fd       int32
	Tid      uint32
	Band     uint32
	Overrun  uint32
	Trapno   uint32
	Status   int32
	Int      int32
	Ptr      uint64
	Utime    uint64
	Stime    uint64
	Addr     uint64
	AddrLsb  uint16
	_        uint16
	Syscall  int32
	CallAddr uint64
	Arch     uint32
	_        [28]byte
}

package linux

// Constants the Go toolchain's tables do not carry.
const (
	// PageSize is riscv64's base page (and AT_PAGESZ).
	PageSize = 4096

	// MmapMinAddr is Linux's default vm.mmap_min_addr: MAP_FIXED below it
	// is refused.
	MmapMinAddr = 64 << 10

	// CLOCK_SGI_CYCLE is the unused clock ID 10, CLOCK_TAI 11 (zconsts).
	// The per-process/thread CPU clocks of other pids are negative IDs
	// built as below (clock_getcpuclockid).
	CPUCLOCK_PERTHREAD_MASK = 4
	CPUCLOCK_CLOCK_MASK     = 3
	CPUCLOCK_SCHED          = 2

	// TIMER_ABSTIME: clock_nanosleep and timer_settime take an absolute
	// time.
	TIMER_ABSTIME = 1

	// HWCAP_RV64IMAFDC is AT_HWCAP for rv64imafdc: one bit per
	// single-letter extension, as Linux reports it.
	HWCAP_RV64IMAFDC = 1<<('i'-'a') | 1<<('m'-'a') | 1<<('a'-'a') | 1<<('f'-'a') | 1<<('d'-'a') | 1<<('c'-'a')

	// getrusage(2)'s targets.
	RUSAGE_SELF     = 0
	RUSAGE_CHILDREN = -1
	RUSAGE_THREAD   = 1

	// USER_HZ (AT_CLKTCK, times(2)).
	USER_HZ = 100

	// UIO_MAXIOV is the most iovecs one readv/writev takes.
	UIO_MAXIOV = 1024

	// MAX_RW_COUNT is the most bytes one read or write moves (INT_MAX
	// rounded down to a page), as Linux clamps it.
	MAX_RW_COUNT = 0x7ffff000

	// AT_STATX_SYNC_TYPE masks statx's synchronisation choice.
	AT_STATX_SYNC_TYPE = AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC

	// PATH_MAX and NAME_MAX of limits.h.
	PATH_MAX = 4096
	NAME_MAX = 255

	// Major device numbers of the character devices the kernel serves.
	MEM_MAJOR = 1 // /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom
	TTY_MAJOR = 5 // /dev/tty, /dev/console, /dev/ptmx
)

// Makedev builds a dev_t as Linux's new_encode_dev does.
func Makedev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12 | uint64(major&^0xfff)<<32
}

// Major and Minor split a dev_t.
func Major(d uint64) uint32 { return uint32(d>>8&0xfff | d>>32&^0xfff) }
func Minor(d uint64) uint32 { return uint32(d&0xff | d>>12&^0xff) }

// ioctl requests of asm-generic/ioctls.h that the Go toolchain's tables
// lack for riscv64 (the TC*/TIOC* ones are in zconsts.go).
const (
	FIONREAD = 0x541b
	FIONBIO  = 0x5421
	FIONCLEX = 0x5450
	FIOCLEX  = 0x5451
	FIOASYNC = 0x5452
)

// access(2) modes (F_OK is in zconsts.go).
const (
	X_OK = 1
	W_OK = 2
	R_OK = 4
)

// splice(2) flags (linux/splice.h).
const (
	SPLICE_F_MOVE     = 1
	SPLICE_F_NONBLOCK = 2
	SPLICE_F_MORE     = 4
	SPLICE_F_GIFT     = 8
)

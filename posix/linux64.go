package posix

import (
	"fmt"
	"io"
	"sort"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// The system-call table: every call the kernel knows by name, sorted by
// number, each built by a constructor that states its support level, so
// no row is "supported" by default. `runikraft syscalls` prints it.
// Unknown numbers get ENOSYS and one log line.

// Level is how much of a call is implemented.
type Level int

const (
	// Full: the call behaves as on Linux.
	Full Level = iota + 1
	// Partial: the call works for what its note says and no more.
	Partial
	// Unimplemented: the call returns ENOSYS.
	Unimplemented
)

func (l Level) String() string {
	switch l {
	case Full:
		return "supported"
	case Partial:
		return "partial"
	case Unimplemented:
		return "ENOSYS"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

type handler func(t *Thread, a *[6]uint64) int64

// entry is one row of the syscall table.
type entry struct {
	name  string
	fn    handler
	level Level
	note  string
	quiet bool // an expected probe with a fallback: not logged
}

func supported(name string, fn handler) entry { return entry{name: name, fn: fn, level: Full} }

// supportedNote is a fully supported call with something worth saying.
func supportedNote(name string, fn handler, note string) entry {
	return entry{name: name, fn: fn, level: Full, note: note}
}

func partial(name string, fn handler, note string) entry {
	return entry{name: name, fn: fn, level: Partial, note: note}
}

func unimplemented(name, note string) entry {
	return entry{name: name, level: Unimplemented, note: note}
}

// probe is an unimplemented call that libraries try and fall back from:
// ENOSYS without a log line.
func probe(name, note string) entry {
	return entry{name: name, level: Unimplemented, note: note, quiet: true}
}

// row is one line of the table: a system-call number and its entry.
type row struct {
	nr uint64
	e  entry
}

// table holds the rows of numbers at or above denseMax (none in the stock
// kernel: only test builds' bug hook), built in init and never changed
// afterwards.
var table map[uint64]entry

// dense holds the rows of the numbers below denseMax by number, so the
// dispatch path indexes an array instead of hashing into a map (a
// measurable share of a system call's cost under QEMU); known marks the
// numbers the table has. init copies them from rows, which the linker
// lays out as data: building the table in code (a map literal of calls)
// was 38 KB of instructions that ran once, at boot, through QEMU's
// translator. dense cannot be the literal itself: handlers reach it
// through the thread loop, an initialisation cycle.
const denseMax = 512

var (
	dense [denseMax]entry
	known [denseMax]bool
)

func init() {
	table = map[uint64]entry{}
	for i := range rows {
		r := &rows[i]
		if r.nr < denseMax {
			dense[r.nr], known[r.nr] = r.e, true
		} else {
			table[r.nr] = r.e
		}
	}
	if bugHook {
		installBugHook()
	}
}

// linux64 returns the rows by number.
func linux64() map[uint64]entry {
	m := make(map[uint64]entry, len(rows))
	for _, r := range rows {
		m[r.nr] = r.e
	}
	return m
}

// rows is the table as written: every call the kernel knows by name
// (the constructors inline, so the compiler lays the rows out as static
// data).
var rows = [...]row{
	{linux.SYS_GETCWD, supported("getcwd", sysGetcwd)},
	{linux.SYS_EVENTFD2, supported("eventfd2", sysEventfd2)},
	{linux.SYS_EPOLL_CREATE1, supported("epoll_create1", sysEpollCreate1)},
	{linux.SYS_EPOLL_CTL, supported("epoll_ctl", sysEpollCtl)},
	{linux.SYS_EPOLL_PWAIT, partial("epoll_pwait", sysEpollPwait, "EPOLLET and EPOLLONESHOT honoured; EPOLLEXCLUSIVE ignored")},
	{linux.SYS_DUP, supported("dup", sysDup)},
	{linux.SYS_DUP3, supported("dup3", sysDup3)},
	{linux.SYS_FCNTL, partial("fcntl", sysFcntl, "F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL; record locks go to 9p volumes; elsewhere one process holds every lock, so F_GETLK reports F_UNLCK and F_SETLK(W) succeeds")},
	{linux.SYS_IOCTL, partial("ioctl", sysIoctl, "FIONBIO, FIONREAD, FIOCLEX; TCGETS/TIOCGWINSZ say ENOTTY (the console is not a terminal)")},
	{linux.SYS_MKNODAT, partial("mknodat", sysMknodat, "FIFOs are pipes; device nodes open with ENXIO (no drivers behind them)")},
	{linux.SYS_MKDIRAT, supported("mkdirat", sysMkdirat)},
	{linux.SYS_UNLINKAT, supported("unlinkat", sysUnlinkat)},
	{linux.SYS_SYMLINKAT, supported("symlinkat", sysSymlinkat)},
	{linux.SYS_LINKAT, supported("linkat", sysLinkat)},
	{linux.SYS_STATFS, partial("statfs", sysStatfs, "tmpfs figures; the size limit is the machine's memory")},
	{linux.SYS_FSTATFS, partial("fstatfs", sysFstatfs, "tmpfs figures; the size limit is the machine's memory")},
	{linux.SYS_TRUNCATE, supported("truncate", sysTruncate)},
	{linux.SYS_FTRUNCATE, supported("ftruncate", sysFtruncate)},
	{linux.SYS_FACCESSAT, supported("faccessat", sysFaccessat)},
	{linux.SYS_CHDIR, supported("chdir", sysChdir)},
	{linux.SYS_FCHDIR, supported("fchdir", sysFchdir)},
	{linux.SYS_FCHMOD, partial("fchmod", sysFchmod, "accepted and ignored on pipes, eventfds and the console")},
	{linux.SYS_FCHMODAT, supported("fchmodat", sysFchmodat)},
	{linux.SYS_FCHOWNAT, supported("fchownat", sysFchownat)},
	{linux.SYS_FCHOWN, partial("fchown", sysFchown, "accepted and ignored on pipes, eventfds and the console")},
	{linux.SYS_OPENAT, partial("openat", sysOpenat, "O_TMPFILE: EOPNOTSUPP; device nodes other than /dev's: ENXIO")},
	{linux.SYS_CLOSE, supported("close", sysClose)},
	{linux.SYS_PIPE2, supported("pipe2", sysPipe2)},
	{linux.SYS_GETDENTS64, supported("getdents64", sysGetdents64)},
	{linux.SYS_LSEEK, supportedNote("lseek", sysLseek, "SEEK_DATA/SEEK_HOLE see one data extent; ESPIPE on pipes and the console")},
	{linux.SYS_READ, supported("read", sysRead)},
	{linux.SYS_WRITE, supported("write", sysWrite)},
	{linux.SYS_READV, supported("readv", sysReadv)},
	{linux.SYS_WRITEV, supported("writev", sysWritev)},
	{linux.SYS_PREAD64, supportedNote("pread64", sysPread64, "ESPIPE on pipes and the console")},
	{linux.SYS_PWRITE64, supportedNote("pwrite64", sysPwrite64, "ESPIPE on pipes and the console")},
	{linux.SYS_PREADV, supported("preadv", sysPreadv)},
	{linux.SYS_PWRITEV, supported("pwritev", sysPwritev)},
	{linux.SYS_SENDFILE, partial("sendfile", sysSendfile, "from regular files only (EINVAL from pipes), as Linux")},
	{linux.SYS_SPLICE, partial("splice", sysSplice, "between a pipe and any file, by copying up to 64 KiB a call")},
	{linux.SYS_PSELECT6, supported("pselect6", sysPselect6)},
	{linux.SYS_PPOLL, supported("ppoll", sysPpoll)},
	{linux.SYS_READLINKAT, supported("readlinkat", sysReadlinkat)},
	{linux.SYS_NEWFSTATAT, supported("newfstatat", sysNewfstatat)},
	{linux.SYS_FSTAT, supported("fstat", sysFstat)},
	{linux.SYS_FSYNC, supportedNote("fsync", sysFsync, "files live in RAM: nothing to flush")},
	{linux.SYS_FDATASYNC, supported("fdatasync", sysFsync)},
	{linux.SYS_UTIMENSAT, supported("utimensat", sysUtimensat)},
	{linux.SYS_PERSONALITY, partial("personality", sysPersonality, "PER_LINUX only: any other persona is accepted and ignored")},
	{linux.SYS_EXIT, supported("exit", sysExit)},
	{linux.SYS_EXIT_GROUP, supported("exit_group", sysExitGroup)},
	{linux.SYS_WAITID, supportedNote("waitid", sysWaitid, "ECHILD: no fork, so never a child to wait for")},
	{linux.SYS_SET_TID_ADDRESS, supported("set_tid_address", sysSetTidAddress)},
	{linux.SYS_FUTEX, partial("futex", sysFutex, "WAIT, WAKE, (CMP_)REQUEUE, WAIT/WAKE_BITSET, private and shared; no PI futexes")},
	{linux.SYS_SET_ROBUST_LIST, partial("set_robust_list", sysSetRobustList, "recorded; robust futexes are not released when a thread dies")},
	{linux.SYS_GET_ROBUST_LIST, supported("get_robust_list", sysGetRobustList)},
	{linux.SYS_NANOSLEEP, supported("nanosleep", sysNanosleep)},
	{linux.SYS_GETITIMER, partial("getitimer", sysGetitimer, "ITIMER_VIRTUAL and ITIMER_PROF count elapsed time: no CPU-time accounting")},
	{linux.SYS_SETITIMER, partial("setitimer", sysSetitimer, "ITIMER_VIRTUAL and ITIMER_PROF count elapsed time: no CPU-time accounting; alarm(3) is setitimer on riscv64")},
	{linux.SYS_TIMER_CREATE, partial("timer_create", sysTimerCreate, "SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE; CPU-time clocks count elapsed time")},
	{linux.SYS_TIMER_GETTIME, supported("timer_gettime", sysTimerGettime)},
	{linux.SYS_TIMER_GETOVERRUN, supported("timer_getoverrun", sysTimerGetoverrun)},
	{linux.SYS_TIMER_SETTIME, supportedNote("timer_settime", sysTimerSettime, "an absolute CLOCK_REALTIME time is fixed when set: later clock changes do not move it")},
	{linux.SYS_TIMER_DELETE, supported("timer_delete", sysTimerDelete)},
	{linux.SYS_SIGNALFD4, partial("signalfd4", sysSignalfd4, "one pending instance per signal; a read takes the reader's signals first, then any thread's")},
	{linux.SYS_TIMERFD_CREATE, supported("timerfd_create", sysTimerfdCreate)},
	{linux.SYS_TIMERFD_SETTIME, partial("timerfd_settime", sysTimerfdSettime, "TFD_TIMER_CANCEL_ON_SET accepted; the clock is never set, so it never cancels")},
	{linux.SYS_TIMERFD_GETTIME, supported("timerfd_gettime", sysTimerfdGettime)},
	{linux.SYS_CLOCK_GETTIME, supported("clock_gettime", sysClockGettime)},
	{linux.SYS_CLOCK_GETRES, supported("clock_getres", sysClockGetres)},
	{linux.SYS_CLOCK_NANOSLEEP, supported("clock_nanosleep", sysClockNanosleep)},
	{linux.SYS_SCHED_SETSCHEDULER, partial("sched_setscheduler", sysSchedSetscheduler, "accepted, ignored: one scheduling policy")},
	{linux.SYS_SCHED_GETSCHEDULER, partial("sched_getscheduler", sysSchedGetscheduler, "always SCHED_OTHER")},
	{linux.SYS_SCHED_GETPARAM, partial("sched_getparam", sysSchedGetparam, "always priority 0")},
	{linux.SYS_SCHED_SETAFFINITY, partial("sched_setaffinity", sysSchedSetaffinity, "pins the thread's user code to the mask's online CPUs (up to 32); the kernel's work for it runs on any")},
	{linux.SYS_SCHED_GETAFFINITY, supported("sched_getaffinity", sysSchedGetaffinity)},
	{linux.SYS_SCHED_YIELD, supported("sched_yield", sysSchedYield)},
	{linux.SYS_SCHED_GET_PRIORITY_MAX, partial("sched_get_priority_max", sysSchedGetPriority, "0 for every policy: priorities are not implemented")},
	{linux.SYS_SCHED_GET_PRIORITY_MIN, partial("sched_get_priority_min", sysSchedGetPriority, "0 for every policy: priorities are not implemented")},
	{linux.SYS_KILL, partial("kill", sysKill, "to its own process only")},
	{linux.SYS_TKILL, supported("tkill", sysTkill)},
	{linux.SYS_TGKILL, supported("tgkill", sysTgkill)},
	{linux.SYS_SIGALTSTACK, supported("sigaltstack", sysSigaltstack)},
	{linux.SYS_RT_SIGSUSPEND, supported("rt_sigsuspend", sysRtSigsuspend)},
	{linux.SYS_RT_SIGACTION, supported("rt_sigaction", sysRtSigaction)},
	{linux.SYS_RT_SIGPROCMASK, supported("rt_sigprocmask", sysRtSigprocmask)},
	{linux.SYS_RT_SIGPENDING, supported("rt_sigpending", sysRtSigpending)},
	{linux.SYS_RT_SIGTIMEDWAIT, supportedNote("rt_sigtimedwait", sysRtSigtimedwait, "one pending instance per signal (no queue of real-time signals)")},
	{linux.SYS_RT_SIGRETURN, supported("rt_sigreturn", sysRtSigreturn)},
	{linux.SYS_SETPRIORITY, partial("setpriority", sysSetpriority, "the nice value is recorded and read back, not used: one scheduling class")},
	{linux.SYS_GETPRIORITY, supported("getpriority", sysGetpriority)},
	{linux.SYS_SETGID, partial("setgid", sysSetID, "only 0 is accepted")},
	{linux.SYS_SETUID, partial("setuid", sysSetID, "the app is root; only 0 is accepted")},
	{linux.SYS_GETRESUID, supported("getresuid", sysGetres)},
	{linux.SYS_GETRESGID, supported("getresgid", sysGetres)},
	{linux.SYS_TIMES, partial("times", sysTimes, "CPU times are not accounted: zeros")},
	{linux.SYS_SETPGID, partial("setpgid", sysSetpgid, "accepted, ignored: one process")},
	{linux.SYS_GETPGID, supported("getpgid", sysGetpid)},
	{linux.SYS_GETSID, supported("getsid", sysGetpid)},
	{linux.SYS_SETSID, partial("setsid", sysGetpid, "returns the pid: the app already leads its session")},
	{linux.SYS_GETGROUPS, supported("getgroups", sysGetgroups)},
	{linux.SYS_UNAME, supported("uname", sysUname)},
	{linux.SYS_GETRLIMIT, supported("getrlimit", sysGetrlimit)},
	{linux.SYS_SETRLIMIT, partial("setrlimit", sysSetrlimit, "accepted, not enforced")},
	{linux.SYS_GETRUSAGE, partial("getrusage", sysGetrusage, "ru_maxrss only (the application's most resident memory); no CPU times or counters")},
	{linux.SYS_UMASK, supported("umask", sysUmask)},
	{linux.SYS_PRCTL, partial("prctl", sysPrctl, "PR_SET_NAME, PR_GET_NAME; others EINVAL")},
	{linux.SYS_GETCPU, supported("getcpu", sysGetcpu)},
	{linux.SYS_GETTIMEOFDAY, supported("gettimeofday", sysGettimeofday)},
	{linux.SYS_GETPID, supported("getpid", sysGetpid)},
	{linux.SYS_GETPPID, supported("getppid", sysGetppid)},
	{linux.SYS_GETUID, supported("getuid", sysGetuid)},
	{linux.SYS_GETEUID, supported("geteuid", sysGetuid)},
	{linux.SYS_GETGID, supported("getgid", sysGetuid)},
	{linux.SYS_GETEGID, supported("getegid", sysGetuid)},
	{linux.SYS_GETTID, supported("gettid", sysGettid)},
	{linux.SYS_SYSINFO, supported("sysinfo", sysSysinfo)},
	{linux.SYS_SOCKET, partial("socket", sysSocket, "AF_UNIX (stream, datagram, seqpacket); AF_INET and AF_INET6 (TCP, UDP, ICMP echo, raw IP for ICMP, TCP and UDP) in the kernel with networking; AF_NETLINK NETLINK_ROUTE link and address dumps")},
	{linux.SYS_SOCKETPAIR, partial("socketpair", sysSocketpair, "AF_UNIX")},
	{linux.SYS_BIND, partial("bind", sysBind, "AF_UNIX: filesystem, abstract and autobound names")},
	{linux.SYS_LISTEN, supported("listen", sysListen)},
	{linux.SYS_ACCEPT, supported("accept", sysAccept)},
	{linux.SYS_CONNECT, supported("connect", sysConnect)},
	{linux.SYS_GETSOCKNAME, supported("getsockname", sysGetsockname)},
	{linux.SYS_GETPEERNAME, supported("getpeername", sysGetpeername)},
	{linux.SYS_SENDTO, supported("sendto", sysSendto)},
	{linux.SYS_RECVFROM, supported("recvfrom", sysRecvfrom)},
	{linux.SYS_SETSOCKOPT, partial("setsockopt", sysSetsockopt, "SO_RCVTIMEO/SO_SNDTIMEO enforced (EAGAIN; EINPROGRESS from connect); SO_OOBINLINE and SO_PRIORITY accepted without effect; IP options as the stack keeps them")},
	{linux.SYS_GETSOCKOPT, supported("getsockopt", sysGetsockopt)},
	{linux.SYS_SHUTDOWN, supported("shutdown", sysShutdown)},
	{linux.SYS_SENDMSG, partial("sendmsg", sysSendmsg, "SCM_RIGHTS and SCM_CREDENTIALS")},
	{linux.SYS_RECVMSG, partial("recvmsg", sysRecvmsg, "SCM_RIGHTS and SCM_CREDENTIALS")},
	{linux.SYS_BRK, supported("brk", sysBrk)},
	{linux.SYS_MUNMAP, supported("munmap", sysMunmap)},
	{linux.SYS_MREMAP, partial("mremap", sysMremap, "anonymous and private mappings; a shared file mapping only shrinks (EINVAL)")},
	{linux.SYS_CLONE, partial("clone", sysClone, "threads (CLONE_VM|CLONE_THREAD); no fork or vfork")},
	{linux.SYS_EXECVE, unimplemented("execve", "one application per image")},
	{linux.SYS_MMAP, partial("mmap", sysMmap, "files are copied in at map time; MAP_SHARED writes reach the file at msync, munmap and exit (read() does not see them before); W+X refused (W^X)")},
	{linux.SYS_MPROTECT, supportedNote("mprotect", sysMprotect, "W+X refused (W^X)")},
	{linux.SYS_MSYNC, supportedNote("msync", sysMsync, "writes shared file mappings back (MS_ASYNC too, at once)")},
	{linux.SYS_MLOCK, supportedNote("mlock", sysMlock, "memory is never swapped")},
	{linux.SYS_MUNLOCK, supported("munlock", sysMlock)},
	{linux.SYS_MINCORE, unimplemented("mincore", "")},
	{linux.SYS_MADVISE, partial("madvise", sysMadvise, "DONTNEED/FREE drop pages; other advice accepted and ignored")},
	{linux.SYS_FADVISE64, partial("fadvise64", sysFadvise64, "advice checked and accepted: files live in RAM, nothing to read ahead or drop")},
	{linux.SYS_ACCEPT4, supported("accept4", sysAccept4)},
	{linux.SYS_RECVMMSG, partial("recvmmsg", sysRecvmmsg, "the timeout bounds all the call's waiting (Linux checks it only between messages)")},
	{linux.SYS_SENDMMSG, supported("sendmmsg", sysSendmmsg)},
	{linux.SYS_RISCV_HWPROBE, probe("riscv_hwprobe", "callers fall back to AT_HWCAP")},
	{linux.SYS_RISCV_FLUSH_ICACHE, supportedNote("riscv_flush_icache", sysRiscvFlushIcache, "nothing to do: code turns executable only through mprotect/mmap, which fence the instruction cache")},
	{linux.SYS_WAIT4, supportedNote("wait4", sysWait4, "ECHILD: no fork, so never a child to wait for")},
	{linux.SYS_PRLIMIT64, supported("prlimit64", sysPrlimit)},
	{linux.SYS_RENAMEAT2, partial("renameat2", sysRenameat2, "RENAME_NOREPLACE, RENAME_EXCHANGE; no RENAME_WHITEOUT (riscv64 has no plain renameat)")},
	{linux.SYS_GETRANDOM, supportedNote("getrandom", sysGetrandom, "ChaCha20 seeded from virtio-rng / the device tree")},
	{linux.SYS_MEMBARRIER, probe("membarrier", "")},
	{linux.SYS_COPY_FILE_RANGE, partial("copy_file_range", sysCopyFileRange, "by copying; flags must be 0")},
	{linux.SYS_PREADV2, partial("preadv2", sysPreadv2, "flags must be 0 (RWF_* refused with EOPNOTSUPP)")},
	{linux.SYS_PWRITEV2, partial("pwritev2", sysPwritev2, "flags must be 0 (RWF_* refused with EOPNOTSUPP)")},
	{linux.SYS_STATX, partial("statx", sysStatx, "no birth time (STATX_BTIME not reported)")},
	{linux.SYS_RSEQ, probe("rseq", "glibc falls back")},
	{linux.SYS_CLONE3, probe("clone3", "libcs fall back to clone")},
	{linux.SYS_FACCESSAT2, supported("faccessat2", sysFaccessat2)},
}

// lookup returns the row of nr, or nil if the table does not know it.
// The row is shared: read it, never change it.
func lookup(nr uint64) *entry {
	if nr < denseMax {
		if !known[nr] {
			return nil
		}
		return &dense[nr]
	}
	if e, ok := table[nr]; ok {
		return &e
	}
	return nil
}

// WriteTable prints the compatibility table as Markdown.
func WriteTable(w io.Writer) error {
	tab := linux64()
	for nr, e := range table {
		tab[nr] = e
	}
	nrs := make([]uint64, 0, len(tab))
	for nr := range tab {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	if _, err := fmt.Fprintln(w, "| nr | syscall | support | note |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, nr := range nrs {
		e := tab[nr]
		if _, err := fmt.Fprintf(w, "| %d | %s | %s | %s |\n", nr, e.name, e.level, e.note); err != nil {
			return err
		}
	}
	return nil
}

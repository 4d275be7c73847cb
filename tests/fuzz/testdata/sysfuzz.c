/* sysfuzz: a seeded system-call fuzzer for the Runikraft kernel.
 *
 *   sysfuzz SEED CALLS
 *
 * Issues CALLS random system calls chosen from SEED (xorshift64*), with
 * boundary values for arguments: negative fds and counts, INT_MIN/MAX,
 * lengths near 2^63, pointers into its own scratch memory (some near its
 * end), into its read-only code, and kernel-half and device addresses.
 * Before each call it prints one line "FZ <i> <nr> <args...>" on fd 1000
 * (a copy of stdout), so whatever happens the last line names the call;
 * "FZ done <calls>" ends a run that survived.
 *
 * Watchdog: SIGALRM (with a handler, without SA_RESTART) is re-armed 200
 * ms ahead of every call and unblocked, so a call that blocks ends with
 * EINTR. Calls that would end or wreck the fuzzer itself rather than
 * test the kernel are left out or tamed: exit, exit_group, rt_sigreturn,
 * clone, execve; signals other than harmless ones; memory calls never
 * touch its code, stack or data, only the scratch area; signal masks
 * never block SIGALRM; timers never send a stopping or fatal signal. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define LOGFD 1000
#define SCRATCH (256 * 1024)

static uint64_t rng;
static uint64_t next(void) {
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}
static uint64_t below(uint64_t n) { return n ? next() % n : 0; }

int main(int argc, char **argv);

static unsigned char *scratch; /* mmap'ed: the only memory calls may change */
static unsigned char *safemask; /* a sigset without SIGALRM */

static void on_alarm(int sig) { (void)sig; }

/* Calls the fuzzer never makes. */
static int banned(long nr) {
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn: case SYS_clone:
	case SYS_execve: case SYS_clone3: case SYS_execveat: case SYS_close_range:
		return 1;
	}
	return 0;
}

static const uint64_t hostile_addr[] = {
	0, 1, 8, 0xfff, 0x1000, 0x10000000 /* UART */, 0x10001000 /* virtio */, 0x2000000 /* CLINT */,
	0xc000000 /* PLIC */, 0x80000000 /* firmware */, 0x80200000 /* kernel */, 0xffffffc000000000ULL,
	0xffffffff80000000ULL, 0xffffffffffffffffULL, 0x7ffffffffffff000ULL, 0x8000000000000000ULL,
	0x3000000000ULL, 0x0fffffffffULL,
};

static const uint64_t boundary[] = {
	0, 1, 2, 3, 7, 8, 16, 64, 255, 256, 4095, 4096, 4097, 65536, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ULL, (uint64_t)-1, (uint64_t)-2, (uint64_t)-4096, (uint64_t)(int64_t)INT32_MIN,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, 0x7ffffffffffff000ULL, 1ULL << 62, 1ULL << 40,
	(uint64_t)-100 /* AT_FDCWD */, 0x7ffff000, 1ULL << 31, 1ULL << 32,
};

static uint64_t fd_arg(void) {
	static const int64_t fds[] = {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 63, 64, 1023, 1024, 4096, -100, INT32_MIN, INT32_MAX};
	uint64_t v = (uint64_t)fds[below(sizeof fds / sizeof fds[0])];
	return v == LOGFD ? 3 : v;
}

static uint64_t ptr_arg(void) {
	switch (below(6)) {
	case 0: return (uint64_t)(scratch + below(SCRATCH));
	case 1: return (uint64_t)(scratch + SCRATCH - below(64)); /* runs off the end */
	case 2: return (uint64_t)(scratch + 4096 * below(SCRATCH / 4096));
	case 3: return (uint64_t)(uintptr_t)&main; /* read-only code */
	default: return hostile_addr[below(sizeof hostile_addr / sizeof hostile_addr[0])];
	}
}

static uint64_t any_arg(void) {
	switch (below(5)) {
	case 0: return boundary[below(sizeof boundary / sizeof boundary[0])];
	case 1: return fd_arg();
	case 2: return ptr_arg();
	case 3: return below(64);
	default: return next();
	}
}

/* mm_len: a length for a memory call at addr: inside scratch if addr is
 * there (a length that reaches past it would unmap the fuzzer's own stack
 * and code, as on Linux), or one whose end wraps around (must fail). */
static uint64_t mm_len(uint64_t addr) {
	uint64_t end = (uint64_t)scratch + SCRATCH;
	if (addr < (uint64_t)scratch || addr >= end || below(4) == 0) {
		static const uint64_t wrap[] = {0, 0x8000000000000000ULL, 0xfffffffffffff000ULL, 0xffffffffffffffffULL, 0x7ffffffffffff000ULL + 0x1000};
		uint64_t l = wrap[below(sizeof wrap / sizeof wrap[0])];
		return l && addr + l > addr && addr + l > end ? -addr : l; /* keep it wrapping */
	}
	return below(end - addr + 1);
}

/* mm_addr: the address argument of a memory call: scratch or hostile. */
static uint64_t mm_addr(void) {
	if (below(3) == 0)
		return hostile_addr[below(sizeof hostile_addr / sizeof hostile_addr[0])];
	return (uint64_t)(scratch + 4096 * below(SCRATCH / 4096)) + (below(8) == 0 ? below(4096) : 0);
}

static int tame_signal(uint64_t s) {
	switch ((int64_t)s) {
	case 0: case SIGALRM: case SIGURG: case SIGCHLD: case SIGWINCH: case SIGCONT: case 65: case -1:
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: sysfuzz SEED CALLS\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 0);
	long calls = strtol(argv[2], NULL, 0);
	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	if (dup2(1, LOGFD) != LOGFD)
		return 3;
	FILE *log = fdopen(LOGFD, "w");
	setvbuf(log, NULL, _IONBF, 0);
	scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	safemask = malloc(64);
	if (scratch == MAP_FAILED || !safemask)
		return 4;
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm; /* no SA_RESTART: blocked calls end EINTR */
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a write to a pipe it closed is EPIPE, not the end */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	/* Descriptors of every kind for the random calls to find at 3..10:
	 * a regular file, a directory, a pipe, an eventfd, an epoll, a
	 * timerfd, a signalfd, /dev/null. */
	int pfd[2];
	uint64_t set = 1ULL << (SIGUSR1 - 1);
	if (syscall(SYS_openat, -100, "/tmp/fz", 0102 /* O_RDWR|O_CREAT */, 0600) < 0 ||
	    syscall(SYS_openat, -100, "/tmp", 0200000 /* O_DIRECTORY */) < 0 || pipe(pfd) != 0 ||
	    syscall(SYS_eventfd2, 0, 0) < 0 || syscall(SYS_epoll_create1, 0) < 0 ||
	    syscall(SYS_timerfd_create, 1, 0) < 0 || syscall(SYS_signalfd4, -1, &set, 8, 0) < 0 ||
	    syscall(SYS_openat, -100, "/dev/null", 2) < 0)
		fprintf(log, "FZ note: some descriptor kinds could not be made\n");
	fprintf(log, "FZ seed %llu calls %ld\n", (unsigned long long)seed, calls);
	for (long i = 0; i < calls; i++) {
		long nr = below(8) == 0 ? (long)below(600) : (long)below(300);
		if (banned(nr))
			continue;
		uint64_t a[6];
		for (int k = 0; k < 6; k++)
			a[k] = any_arg();
		/* Fresh random bytes where pointers lead. */
		for (int k = 0; k < 64; k++)
			scratch[below(SCRATCH)] = next();
		if (below(4) == 0)
			memset(scratch + 4096 * below(SCRATCH / 4096), 0, 4096);
		uint64_t m = next() & ~(1ULL << (SIGALRM - 1));
		memcpy(safemask, &m, 8);
		int mm = 0;
		switch (nr) {
		case SYS_mmap: case SYS_munmap: case SYS_mprotect: case SYS_madvise: case SYS_mremap:
		case SYS_mlock: case SYS_munlock: case SYS_msync: case SYS_mincore: case SYS_remap_file_pages:
		case SYS_mlock2: case SYS_pkey_mprotect:
			mm = 1;
			a[0] = mm_addr();
			a[1] = mm_len(a[0]);
			if (nr == SYS_mremap) {
				a[2] = mm_len(a[0]);
				a[4] = mm_addr();
			}
			break;
		case SYS_brk: case SYS_shmdt: case SYS_shmat: case SYS_set_tid_address: case SYS_set_robust_list:
			a[0] = hostile_addr[below(sizeof hostile_addr / sizeof hostile_addr[0])];
			break;
		case SYS_kill: case SYS_tkill:
			if (!tame_signal(a[1]))
				a[1] = 0;
			break;
		case SYS_tgkill: case SYS_rt_sigqueueinfo:
			if (!tame_signal(a[2]))
				a[2] = 0;
			break;
		case SYS_rt_tgsigqueueinfo:
			if (!tame_signal(a[2]))
				a[2] = 0;
			break;
		case SYS_rt_sigaction: /* never install a handler: query, or an unreadable action */
			a[1] = below(2) ? 0 : hostile_addr[below(sizeof hostile_addr / sizeof hostile_addr[0])];
			break;
		case SYS_rt_sigprocmask: case SYS_rt_sigsuspend:
			a[nr == SYS_rt_sigsuspend ? 0 : 1] = below(2) ? (uint64_t)safemask : hostile_addr[below(4)];
			break;
		case SYS_ppoll:
			a[3] = below(2) ? (uint64_t)safemask : 0;
			break;
		case SYS_epoll_pwait: case SYS_epoll_pwait2:
			a[4] = below(2) ? (uint64_t)safemask : 0;
			break;
		case SYS_pselect6:
			a[5] = 0;
			break;
		case SYS_timer_create: { /* SIGEV_NONE, SIGALRM, or no sigevent */
			uint64_t ev[8] = {next(), SIGALRM | (uint64_t)(below(2) ? 0 /* SIGEV_SIGNAL */ : 1) << 32, 0};
			memcpy(scratch, ev, sizeof ev);
			a[1] = below(2) ? (uint64_t)scratch : hostile_addr[below(4)];
			break;
		}
		case SYS_prctl: /* PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS and friends stay out */
			a[0] = below(20);
			break;
		}
		for (int k = 0; k < 6; k++)
			if (a[k] == LOGFD)
				a[k] = 3;
		fprintf(log, "FZ %ld %ld %#llx %#llx %#llx %#llx %#llx %#llx\n", i, nr, (unsigned long long)a[0],
			(unsigned long long)a[1], (unsigned long long)a[2], (unsigned long long)a[3],
			(unsigned long long)a[4], (unsigned long long)a[5]);
		struct itimerval it = {{0, 0}, {0, 200000}};
		setitimer(ITIMER_REAL, &it, NULL);
		sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (mm) /* the call may have unmapped or protected scratch: map it anew */
			if (mmap(scratch, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != scratch) {
				fprintf(log, "FZ cannot restore scratch after call %ld\n", i);
				return 5;
			}
	}
	struct itimerval off = {0};
	setitimer(ITIMER_REAL, &off, NULL);
	fprintf(log, "FZ done %ld\n", calls);
	return 0;
}

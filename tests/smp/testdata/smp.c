/* Multi-hart checks for tests/smp, one per mode (argv[1]):
 *
 *   futex MS     8 threads hammer one mutex and a condition variable for
 *                MS milliseconds; the shared counter must equal the sum
 *                of the per-thread counts, and every item a producer
 *                queued must be consumed exactly once.
 *   mmap MS      4 threads mmap/mprotect/munmap in a loop while 4 others
 *                write to memory of their own; then a page several
 *                threads keep writing to is unmapped: every one of them
 *                must fault (SIGSEGV) within a second.
 *   signal       a thread spins with no system calls; SIGUSR1 sent to it
 *                with pthread_kill must arrive and end the spin.
 *   cpus         online CPUs by sysconf, sched_getaffinity and
 *                /proc/cpuinfo, and the distinct CPUs that spinning
 *                threads see with getcpu.
 *   pin MS       2 threads per CPU, each pinned to one CPU with
 *                sched_setaffinity, spin for MS milliseconds calling
 *                getcpu: every answer must be the thread's CPU, and
 *                sched_getaffinity must give back its mask; a mask with
 *                no online CPU must be refused (EINVAL).
 *
 * Each prints one summary line and exits 0 only if its check held.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- futex ---- */

#define NT 8
#define QCAP 64
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notempty = PTHREAD_COND_INITIALIZER, notfull = PTHREAD_COND_INITIALIZER;
static long shared_count, produced, consumed, consumed_sum, produced_sum;
static int queue[QCAP], qhead, qlen;
static atomic_int stop;
static long per_thread[NT];

static void *hammer(void *arg) {
	long id = (long)arg, n = 0;
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&mu);
		shared_count++;
		pthread_mutex_unlock(&mu);
		n++;
	}
	per_thread[id] = n;
	return NULL;
}

static void *producer(void *arg) {
	long id = (long)arg, n = 0;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (qlen == QCAP && !atomic_load(&stop))
			pthread_cond_wait(&notfull, &mu);
		/* stop is checked under the lock, as consumers do: nothing is
		 * queued after they may have seen it with an empty queue */
		if (atomic_load(&stop)) {
			pthread_mutex_unlock(&mu);
			break;
		}
		if (qlen < QCAP) {
			int v = (int)(n % 1000) + 1;
			queue[(qhead + qlen) % QCAP] = v;
			qlen++;
			produced++;
			produced_sum += v;
			n++;
			pthread_cond_signal(&notempty);
		}
		pthread_mutex_unlock(&mu);
	}
	per_thread[id] = n;
	return NULL;
}

static void *consumer(void *arg) {
	long id = (long)arg, n = 0;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (qlen == 0 && !atomic_load(&stop))
			pthread_cond_wait(&notempty, &mu);
		if (qlen == 0) { /* stopped and drained */
			pthread_mutex_unlock(&mu);
			break;
		}
		int v = queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qlen--;
		consumed++;
		consumed_sum += v;
		n++;
		pthread_cond_signal(&notfull);
		pthread_mutex_unlock(&mu);
	}
	per_thread[id] = n;
	return NULL;
}

static int futex_mode(long ms) {
	pthread_t th[NT];
	/* 4 hammer the mutex, 2 produce, 2 consume */
	for (long i = 0; i < NT; i++) {
		void *(*fn)(void *) = i < 4 ? hammer : i < 6 ? producer : consumer;
		if (pthread_create(&th[i], NULL, fn, (void *)i) != 0)
			return 1;
	}
	long end = now_ms() + ms;
	while (now_ms() < end)
		usleep(10000);
	atomic_store(&stop, 1);
	pthread_mutex_lock(&mu);
	pthread_cond_broadcast(&notempty);
	pthread_cond_broadcast(&notfull);
	pthread_mutex_unlock(&mu);
	/* producers first; consumers drain what is left */
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	long hammered = 0;
	for (int i = 0; i < 4; i++)
		hammered += per_thread[i];
	int ok = hammered == shared_count && produced == consumed && produced_sum == consumed_sum &&
		 per_thread[4] + per_thread[5] == produced && per_thread[6] + per_thread[7] == consumed &&
		 hammered > 0 && produced > 0;
	printf("futex: %s counter=%ld sum=%ld produced=%ld consumed=%ld\n", ok ? "ok" : "FAIL",
	       shared_count, hammered, produced, consumed);
	return ok ? 0 : 1;
}

/* ---- mmap ---- */

static __thread sigjmp_buf fault_jmp;
static __thread volatile int armed;
static atomic_int faulted, touching, churned;
static volatile char *victim;

static void on_segv(int sig) {
	(void)sig;
	if (armed)
		siglongjmp(fault_jmp, 1);
	_exit(3);
}

static void *churn(void *arg) {
	(void)arg;
	long i = 0;
	while (!atomic_load(&stop)) {
		size_t len = 4096 * (1 + i % 16);
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(4);
		memset(p, (int)i, len);
		if (mprotect(p, len, PROT_READ) != 0 || p[len - 1] != (char)i)
			_exit(5);
		if (munmap(p, len) != 0)
			_exit(6);
		i++;
	}
	atomic_fetch_add(&churned, (int)i);
	return NULL;
}

static void *toucher(void *arg) {
	(void)arg;
	size_t len = 64 * 4096;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(4);
	unsigned round = 0;
	while (!atomic_load(&stop)) {
		for (size_t o = 0; o < len; o += 4096)
			p[o] = (unsigned char)(round + o / 4096);
		for (size_t o = 0; o < len; o += 4096)
			if (p[o] != (unsigned char)(round + o / 4096))
				_exit(7);
		round++;
	}
	munmap(p, len);
	return NULL;
}

/* Writes to the victim page until the write faults. */
static void *writer(void *arg) {
	(void)arg;
	if (sigsetjmp(fault_jmp, 1)) {
		atomic_fetch_add(&faulted, 1);
		return NULL;
	}
	armed = 1;
	atomic_fetch_add(&touching, 1);
	for (long long i = 0;; i++)
		victim[i % 4096] = (char)i;
}

static int mmap_mode(long ms) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);

	pthread_t th[8];
	for (long i = 0; i < 8; i++)
		if (pthread_create(&th[i], NULL, i < 4 ? churn : toucher, NULL) != 0)
			return 1;
	usleep(ms * 1000);
	atomic_store(&stop, 1);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);

	/* Stale TLB check: several writers, likely on several harts, keep
	 * the victim page hot; after munmap every one must fault. */
	enum { NW = 4 };
	victim = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (victim == MAP_FAILED)
		return 1;
	pthread_t w[NW];
	for (int i = 0; i < NW; i++)
		pthread_create(&w[i], NULL, writer, NULL);
	long deadline = now_ms() + 5000;
	while (atomic_load(&touching) < NW && now_ms() < deadline)
		usleep(1000);
	usleep(50000);
	munmap((void *)victim, 4096);
	deadline = now_ms() + 1000;
	while (atomic_load(&faulted) < NW && now_ms() < deadline)
		usleep(1000);
	int f = atomic_load(&faulted);
	if (f < NW) {
		printf("mmap: FAIL only %d of %d writers faulted after munmap\n", f, NW);
		return 1; /* the writers still spin: exiting ends them */
	}
	for (int i = 0; i < NW; i++)
		pthread_join(w[i], NULL);
	printf("mmap: ok churned=%d faulted=%d\n", atomic_load(&churned), f);
	return 0;
}

/* ---- signal ---- */

static volatile sig_atomic_t got;
static atomic_int spinning;

static void on_usr1(int sig) { got = sig; }

static void *spinner(void *arg) {
	(void)arg;
	atomic_store(&spinning, 1);
	while (!got) {
	} /* no system call: only a kick out of user mode ends this */
	return NULL;
}

static int signal_mode(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	alarm(20); /* a lost signal ends the run with SIGALRM, not a hang */
	pthread_t th;
	pthread_create(&th, NULL, spinner, NULL);
	while (!atomic_load(&spinning))
		usleep(1000);
	usleep(20000);
	long t0 = now_ms();
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	printf("signal: ok arrived in %ld ms\n", now_ms() - t0);
	return got == SIGUSR1 ? 0 : 1;
}

/* ---- cpus ---- */

static atomic_int seen_mask, cpus_stop;

static void *cpu_spinner(void *arg) {
	(void)arg;
	while (!atomic_load(&cpus_stop)) {
		unsigned cpu = 99;
		if (getcpu(&cpu, NULL) == 0 && cpu < 31)
			atomic_fetch_or(&seen_mask, 1 << cpu);
		for (volatile int i = 0; i < 100000; i++) {
		}
	}
	return NULL;
}

static int cpus_mode(void) {
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	long onln = sysconf(_SC_NPROCESSORS_ONLN);
	int aff = CPU_COUNT(&set);
	pthread_t th[8];
	int n = aff < 8 ? aff : 8;
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, cpu_spinner, NULL);
	long end = now_ms() + 3000;
	while (now_ms() < end && __builtin_popcount(atomic_load(&seen_mask)) < aff)
		usleep(10000);
	atomic_store(&cpus_stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	int procs = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[256];
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "processor", 9))
				procs++;
		fclose(f);
	}
	printf("cpus: online=%ld affinity=%d getcpu-seen=%d cpuinfo=%d\n", onln, aff,
	       __builtin_popcount(atomic_load(&seen_mask)), procs);
	return 0;
}

/* ---- pin ---- */

static long pin_ms;
static atomic_long pin_checks, pin_wrong;
static atomic_int pin_bad_mask;

static void *pinned(void *arg) {
	int want = (int)(long)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(want, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		atomic_fetch_add(&pin_bad_mask, 1);
		return NULL;
	}
	cpu_set_t got;
	CPU_ZERO(&got);
	if (sched_getaffinity(0, sizeof got, &got) != 0 || !CPU_EQUAL(&got, &set))
		atomic_fetch_add(&pin_bad_mask, 1);
	long end = now_ms() + pin_ms;
	while (now_ms() < end) {
		for (volatile int i = 0; i < 20000; i++) {
		}
		unsigned cpu = 99;
		if (getcpu(&cpu, NULL) != 0 || (int)cpu != want)
			atomic_fetch_add(&pin_wrong, 1);
		atomic_fetch_add(&pin_checks, 1);
	}
	return NULL;
}

static int pin_mode(long ms) {
	pin_ms = ms;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1 || n > 32)
		return 1;
	/* A mask of only offline CPUs is refused. */
	cpu_set_t off;
	CPU_ZERO(&off);
	CPU_SET(n, &off);
	int einval = sched_setaffinity(0, sizeof off, &off) != 0;
	pthread_t th[64];
	for (long i = 0; i < 2 * n; i++)
		if (pthread_create(&th[i], NULL, pinned, (void *)(i % n)) != 0)
			return 1;
	for (long i = 0; i < 2 * n; i++)
		pthread_join(th[i], NULL);
	long checks = atomic_load(&pin_checks), wrong = atomic_load(&pin_wrong);
	int bad = atomic_load(&pin_bad_mask);
	int ok = einval && bad == 0 && wrong == 0 && checks >= 2 * n;
	printf("pin: %s cpus=%ld checks=%ld wrong=%ld bad-mask=%d einval=%d\n", ok ? "ok" : "FAIL", n, checks,
	       wrong, bad, einval);
	return ok ? 0 : 1;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	long ms = argc > 2 ? atol(argv[2]) : 1000;
	if (!strcmp(argv[1], "futex"))
		return futex_mode(ms);
	if (!strcmp(argv[1], "mmap"))
		return mmap_mode(ms);
	if (!strcmp(argv[1], "signal"))
		return signal_mode();
	if (!strcmp(argv[1], "cpus"))
		return cpus_mode();
	if (!strcmp(argv[1], "pin"))
		return pin_mode(ms);
	return 2;
}

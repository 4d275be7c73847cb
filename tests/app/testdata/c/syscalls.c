/* System calls that the kernel answers on its fast paths (in trap
 * context, or by parking a futex wait in the hart layer) keep their
 * semantics; one mode per run:
 *   signal    a signal reaches a thread that makes only fast calls
 *   eintr     a futex wait interrupted by a handler without SA_RESTART
 *   restart   the same with SA_RESTART: the wait goes on until woken
 *   eintr-rt, restart-rt  the same with glibc's condition-variable wait
 *             (FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME), which only the
 *             posix layer answers
 *   timeouts  futex timeouts, relative and absolute, short and long
 *   blocking  a thread blocked in futex and pipe waits lets others run
 *   pingpong  two threads hand a futex back and forth (N rounds), alone
 *             and next to a thread whose waits the posix layer keeps
 *   fp        threads in different rounding modes keep their FP state
 *             across system calls, futex hand-offs and preemption
 *   sleeps    nanosleep and clock_nanosleep (relative, absolute, both
 *             clocks) never end early, short and long; a signal ends a
 *             short and a long sleep with EINTR (even with SA_RESTART)
 *             and the time left in rem
 * Each prints what it saw; the test checks it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long futex(atomic_int *w, int op, int val, const struct timespec *ts, int bitset) {
	return syscall(SYS_futex, w, op, val, ts, NULL, bitset);
}

/* The interrupt modes' wait: FUTEX_WAIT, or the realtime bitset wait. */
static int realtime_waits;

static long wait_on(atomic_int *w, int val, const struct timespec *ts) {
	if (realtime_waits && ts == NULL)
		return futex(w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, val, NULL, FUTEX_BITSET_MATCH_ANY);
	return futex(w, FUTEX_WAIT_PRIVATE, val, ts, 0);
}

static long wake(atomic_int *w, int n) { return futex(w, FUTEX_WAKE_PRIVATE, n, NULL, 0); }

static void pause_ms(int ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static atomic_int handled, ready, word;

static void on_usr1(int sig) {
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

static void handle(int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigaction(SIGUSR1, &sa, NULL);
}

/* signal: the worker's loop makes only calls answered in trap context. */
static void *fast_loop(void *arg) {
	long *calls = arg;
	atomic_store(&ready, 1);
	while (!atomic_load(&handled)) {
		syscall(SYS_getpid);
		syscall(SYS_gettid);
		(*calls)++;
	}
	return NULL;
}

static int signal_mode(void) {
	handle(0);
	long calls = 0;
	pthread_t th;
	pthread_create(&th, NULL, fast_loop, &calls);
	while (!atomic_load(&ready))
		sched_yield();
	pause_ms(20);
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	printf("fast-call loop saw the signal: %s\n", handled == 1 && calls > 0 ? "yes" : "no");
	return 0;
}

/* eintr, restart: the waiter says it is about to wait, then waits; the
 * signal comes at once (a signal that beats the wait is handled before
 * it and interrupts nothing: then another is sent). */
static atomic_int eintrs, waiter_done;

static void *waiter(void *arg) {
	int restart = *(int *)arg;
	atomic_store(&ready, 1);
	while (atomic_load(&word) == 0) {
		long r = wait_on(&word, 0, NULL);
		if (r == -1 && errno == EINTR) {
			atomic_fetch_add(&eintrs, 1);
			if (!restart)
				break;
		}
	}
	atomic_store(&waiter_done, 1);
	return NULL;
}

static int interrupt_mode(int restart) {
	handle(restart ? SA_RESTART : 0);
	pthread_t th;
	pthread_create(&th, NULL, waiter, &restart);
	/* Spin in user mode (no sched_yield): the signal then follows the
	 * start of the wait within microseconds, while the kernel still
	 * keeps the wait in its fastest form. */
	while (!atomic_load(&ready))
		;
	pthread_kill(th, SIGUSR1);
	for (int i = 0; i < 100 && !atomic_load(&waiter_done); i++) {
		pause_ms(20);
		if (!restart && !atomic_load(&waiter_done))
			pthread_kill(th, SIGUSR1);
	}
	if (restart) {
		atomic_store(&word, 1);
		wake(&word, 1);
	}
	pthread_join(th, NULL);
	if (restart)
		printf("SA_RESTART: handler ran: %s, EINTR seen: %d\n", handled > 0 ? "yes" : "no", eintrs);
	else
		printf("no SA_RESTART: handler ran: %s, wait ended with EINTR: %s\n", handled > 0 ? "yes" : "no",
		       eintrs == 1 ? "yes" : "no");
	return 0;
}

/* timeouts */
static const char *timed(long r, double took, double min) {
	if (r != -1 || errno != ETIMEDOUT)
		return r == 0 ? "woken" : strerror(errno);
	if (took < min)
		return "too early";
	if (took > min + 2)
		return "too late";
	return "ETIMEDOUT";
}

static int timeouts_mode(void) {
	atomic_int w = 0;
	struct timespec ts;
	double t;
	const long usecs[] = {0, 100, 30000};
	for (int i = 0; i < 3; i++) {
		ts.tv_sec = 0;
		ts.tv_nsec = usecs[i] * 1000;
		t = now();
		long r = wait_on(&w, 0, &ts);
		printf("relative %ld us: %s\n", usecs[i], timed(r, now() - t, usecs[i] / 1e6));
	}
	/* FUTEX_WAIT_BITSET: an absolute CLOCK_MONOTONIC deadline */
	ts.tv_sec = 0;
	ts.tv_nsec = 1; /* just after boot, or the Epoch: past */
	long r = futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, FUTEX_BITSET_MATCH_ANY);
	printf("absolute, past: %s\n", timed(r, 0, 0));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = now();
	ts.tv_nsec += 50000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r = futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, FUTEX_BITSET_MATCH_ANY);
	printf("absolute, 50 ms ahead: %s\n", timed(r, now() - t, 0.05));
	r = wait_on(&w, 1, NULL);
	printf("value changed: %s\n", r == -1 && errno == EAGAIN ? "EAGAIN" : "wrong");
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000;
	r = wait_on(&w, 0, &ts);
	printf("bad timeout: %s\n", r == -1 && errno == EINVAL ? "EINVAL" : "wrong");
	r = wait_on((atomic_int *)8, 0, NULL);
	printf("bad address: %s\n", r == -1 && errno == EFAULT ? "EFAULT" : "wrong");
	return 0;
}

/* blocking: two threads wait, the main thread works meanwhile. */
static int pfd[2];
static atomic_int woke_futex;
static char got;

static void *futex_sleeper(void *arg) {
	(void)arg;
	while (atomic_load(&word) == 0)
		wait_on(&word, 0, NULL);
	atomic_store(&woke_futex, 1);
	return NULL;
}

static void *pipe_sleeper(void *arg) {
	(void)arg;
	if (read(pfd[0], &got, 1) != 1)
		got = '?';
	return NULL;
}

static int blocking_mode(void) {
	pthread_t a, b;
	if (pipe(pfd) != 0)
		return 1;
	pthread_create(&a, NULL, futex_sleeper, NULL);
	pthread_create(&b, NULL, pipe_sleeper, NULL);
	pause_ms(100); /* both are blocked by now, beyond any short wait */
	long work = 0;
	for (int i = 0; i < 2000; i++)
		work += syscall(SYS_getpid) > 0 && fcntl(pfd[1], F_GETFD) == 0;
	pause_ms(20);
	int early = atomic_load(&woke_futex) || got != 0;
	atomic_store(&word, 1);
	wake(&word, 1);
	if (write(pfd[1], "x", 1) != 1)
		return 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("main thread ran while two threads blocked: %s; both woke: %s\n",
	       work == 2000 && !early ? "yes" : "no", woke_futex && got == 'x' ? "yes" : "no");
	return 0;
}

/* pingpong: the partner turns odd values even, the main thread even to odd. */
static atomic_int stop_slow;

static void *partner(void *arg) {
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		int v;
		while ((v = atomic_load(&word)) % 2 == 0)
			wait_on(&word, v, NULL);
		atomic_store(&word, v + 1);
		wake(&word, 1);
	}
	return NULL;
}

/* Waits with FUTEX_CLOCK_REALTIME, which only the posix layer answers,
 * so that its futex queue is seldom empty meanwhile. */
static void *slow_waiter(void *arg) {
	(void)arg;
	atomic_int w = 0;
	while (!atomic_load(&stop_slow)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		futex(&w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts, FUTEX_BITSET_MATCH_ANY);
	}
	return NULL;
}

static int pingpong(int n) {
	atomic_store(&word, 0);
	pthread_t th;
	pthread_create(&th, NULL, partner, &n);
	for (int i = 0; i < n; i++) {
		int v;
		while ((v = atomic_load(&word)) % 2 == 1)
			wait_on(&word, v, NULL);
		atomic_store(&word, v + 1);
		wake(&word, 1);
	}
	pthread_join(th, NULL);
	return atomic_load(&word) == 2 * n;
}

static int pingpong_mode(int n) {
	int alone = pingpong(n);
	pthread_t slow;
	pthread_create(&slow, NULL, slow_waiter, NULL);
	int mixed = pingpong(n);
	atomic_store(&stop_slow, 1);
	pthread_join(slow, NULL);
	printf("ping-pong %d rounds: alone %s, next to posix waits %s\n", n, alone ? "ok" : "lost",
	       mixed ? "ok" : "lost");
	return 0;
}

/* fp: each worker sums 1/3 in its own rounding mode, once without
 * system calls and once with every kind of kernel entry in between; the
 * sums must be the same bits, and the mode still the worker's. */
static atomic_int turn;

/* The rounding mode through frrm/fsrm (no libm needed): 0 to nearest,
 * 2 down, 3 up. */
static void set_rm(int rm) { __asm__ volatile("fsrm %0" : : "r"(rm) : "memory"); }
static int get_rm(void) {
	int rm;
	__asm__ volatile("frrm %0" : "=r"(rm) : : "memory");
	return rm;
}

static double sum_thirds(int n, int calls, int me) {
	volatile double three = 3.0;
	double acc = 0, x = 1.0;
	for (int i = 0; i < n; i++) {
		acc += x / three;
		x = x * 1.0000001;
		if (!calls)
			continue;
		switch (i % 4) {
		case 0:
			syscall(SYS_getppid); /* answered in the trap vector */
			break;
		case 1:
			fcntl(0, F_GETFD); /* the posix layer */
			break;
		case 2: /* a futex hand-off to the other worker */
			atomic_store(&turn, 1 - me);
			wake(&turn, 1);
			for (int k = 0; k < 100 && atomic_load(&turn) != me; k++)
				wait_on(&turn, 1 - me, &(struct timespec){0, 1000000});
			break;
		case 3:
			sched_yield();
			break;
		}
	}
	return acc;
}

static void *fp_worker(void *arg) {
	int me = *(int *)arg;
	int mode = me ? 2 : 3;
	set_rm(mode);
	double quiet = sum_thirds(4000, 0, me);
	double busy = sum_thirds(4000, 1, me);
	int *ok = malloc(sizeof *ok);
	*ok = quiet == busy && get_rm() == mode;
	return ok;
}

static int fp_mode(void) {
	int ids[2] = {0, 1};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, fp_worker, &ids[i]);
	int good = 1;
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(th[i], &r);
		good &= *(int *)r;
	}
	printf("FP state kept across calls: %s; main thread's rounding still to nearest: %s\n", good ? "yes" : "no",
	       get_rm() == 0 ? "yes" : "no");
	return 0;
}

/* sleeps */
static double ts_sec(const struct timespec *ts) { return ts->tv_sec + ts->tv_nsec / 1e9; }

static const char *never_early(clockid_t clk, long usec, int how) {
	for (int i = 0; i < 20; i++) {
		struct timespec req = {usec / 1000000, (usec % 1000000) * 1000L}, t0, t1;
		clock_gettime(clk, &t0);
		long r;
		if (how == 0) {
			r = nanosleep(&req, NULL);
		} else if (how == 1) {
			r = clock_nanosleep(clk, 0, &req, NULL);
		} else {
			req.tv_sec += t0.tv_sec;
			req.tv_nsec += t0.tv_nsec;
			if (req.tv_nsec >= 1000000000L) {
				req.tv_sec++;
				req.tv_nsec -= 1000000000L;
			}
			r = clock_nanosleep(clk, TIMER_ABSTIME, &req, NULL);
		}
		clock_gettime(clk, &t1);
		if (r != 0)
			return "failed";
		if (how == 2 ? ts_sec(&t1) < ts_sec(&req) : ts_sec(&t1) - ts_sec(&t0) < usec / 1e6)
			return "EARLY";
	}
	return "never early";
}

static atomic_int sleeper_ready, sleeper_done;
static long sleep_usec;
static int sleep_eintr, rem_ok;

static void *sleeper(void *arg) {
	(void)arg;
	for (int i = 0; i < 100000 && !sleep_eintr; i++) {
		struct timespec req = {sleep_usec / 1000000, (sleep_usec % 1000000) * 1000L}, rem = {-1, -1};
		atomic_store(&sleeper_ready, 1);
		if (nanosleep(&req, &rem) == -1 && errno == EINTR) {
			sleep_eintr = 1;
			rem_ok = rem.tv_sec >= 0 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L && ts_sec(&rem) <= ts_sec(&req);
		}
	}
	atomic_store(&sleeper_done, 1);
	return NULL;
}

/* A sleeper in a loop of sleeps of usec; signals come until one cuts a
 * sleep short (one that comes between two sleeps cuts nothing). */
static void interrupted_sleep(long usec) {
	sleep_usec = usec;
	sleep_eintr = rem_ok = 0;
	atomic_store(&sleeper_ready, 0);
	atomic_store(&sleeper_done, 0);
	pthread_t th;
	pthread_create(&th, NULL, sleeper, NULL);
	while (!atomic_load(&sleeper_ready))
		sched_yield();
	for (int i = 0; i < 500 && !atomic_load(&sleeper_done); i++) {
		pthread_kill(th, SIGUSR1);
		pause_ms(2);
	}
	pthread_join(th, NULL);
	printf("signal during a %ld us sleep: EINTR: %s, rem within the request: %s\n", usec, sleep_eintr ? "yes" : "no",
	       rem_ok ? "yes" : "no");
}

static int sleeps_mode(void) {
	/* 10 and 20 us: parked on the timer grid (a Go program's sysmon sleeps 20 us) */
	const long usecs[] = {10, 20, 50, 100, 500, 1000, 3000, 20000};
	const char *hows[] = {"nanosleep", "clock_nanosleep relative", "clock_nanosleep absolute"};
	for (int how = 0; how < 3; how++)
		for (int c = 0; c < 2; c++) {
			clockid_t clk = c ? CLOCK_REALTIME : CLOCK_MONOTONIC;
			if (how == 0 && c)
				continue;
			int early = 0;
			for (int i = 0; i < (int)(sizeof usecs / sizeof usecs[0]); i++)
				if (strcmp(never_early(clk, usecs[i], how), "never early"))
					early++, printf("%s %s %ld us: %s\n", hows[how], c ? "REALTIME" : "MONOTONIC", usecs[i],
					                never_early(clk, usecs[i], how));
			printf("%s%s: %s\n", hows[how], how == 0 ? "" : c ? " REALTIME" : " MONOTONIC",
			       early ? "some sleeps ended early or failed" : "never early");
		}
	handle(SA_RESTART); /* nanosleep ends with EINTR all the same */
	interrupted_sleep(1000);
	interrupted_sleep(5000000);
	return 0;
}

int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "signal"))
		return signal_mode();
	if (!strcmp(mode, "eintr"))
		return interrupt_mode(0);
	if (!strcmp(mode, "restart"))
		return interrupt_mode(1);
	realtime_waits = 1;
	if (!strcmp(mode, "eintr-rt"))
		return interrupt_mode(0);
	if (!strcmp(mode, "restart-rt"))
		return interrupt_mode(1);
	realtime_waits = 0;
	if (!strcmp(mode, "timeouts"))
		return timeouts_mode();
	if (!strcmp(mode, "blocking"))
		return blocking_mode();
	if (!strcmp(mode, "pingpong"))
		return pingpong_mode(argc > 2 ? atoi(argv[2]) : 1000);
	if (!strcmp(mode, "fp"))
		return fp_mode();
	if (!strcmp(mode, "sleeps"))
		return sleeps_mode();
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}

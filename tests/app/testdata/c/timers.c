/* Timers and signals that programs wait on, one mode per run:
 *   alarm     alarm(1); pause(): killed by SIGALRM (status 142)
 *   itimer N  an ITIMER_REAL interval timer of 50 ms: N signals, timed
 *   thread    a POSIX timer with SIGEV_THREAD_ID reaches that thread
 *   timerfd   a periodic timerfd in epoll
 *   stop      raise(SIGSTOP) stops the program until a timer's SIGCONT
 *   sigwait   sigtimedwait takes a blocked timer signal; times out
 *   signalfd  a blocked timer signal read from a signalfd in epoll
 * Each prints what it saw; the test checks it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id /* musl names it; glibc 2.36 does not */
#define sigev_notify_thread_id _sigev_un._tid
#endif

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

static int itimer(int n) {
	signal(SIGALRM, on_alarm);
	struct itimerval it = {{0, 50000}, {0, 50000}};
	double start = now();
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		perror("setitimer");
		return 1;
	}
	while (ticks < n)
		pause();
	double took = now() - start;
	struct itimerval off = {0}, old;
	setitimer(ITIMER_REAL, &off, &old);
	printf("itimer: %d signals in %.0f ms (interval was %ld us)\n", (int)ticks, took * 1000, (long)old.it_interval.tv_usec);
	return 0;
}

static volatile pid_t got_tid;
static volatile int got_value;
static void on_rt(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	got_tid = syscall(SYS_gettid);
	got_value = si->si_value.sival_int;
}

static pid_t worker_tid;
static volatile int worker_done;
static void *worker(void *arg) {
	(void)arg;
	worker_tid = syscall(SYS_gettid);
	while (!got_tid)
		usleep(1000);
	worker_done = 1;
	return NULL;
}

static int thread_timer(void) {
	struct sigaction sa = {0};
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN, &sa, NULL);
	pthread_t th;
	/* The main thread blocks the signal, so only a directed one lands. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_create(&th, NULL, worker, NULL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!worker_tid)
		usleep(1000);
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGRTMIN;
	ev.sigev_value.sival_int = 4242;
	ev.sigev_notify_thread_id = worker_tid;
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &ev, &tm) != 0) {
		perror("timer_create");
		return 1;
	}
	struct itimerspec its = {{0, 0}, {0, 20000000}};
	timer_settime(tm, 0, &its, NULL);
	pthread_join(th, NULL);
	timer_delete(tm);
	printf("thread timer: value %d, to the worker: %s\n", got_value, got_tid == worker_tid ? "yes" : "no");
	errno = 0;
	printf("deleted timer: %s\n", timer_settime(tm, 0, &its, NULL) == -1 && errno == EINVAL ? "EINVAL" : "accepted");
	return 0;
}

static int tfd(void) {
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
	if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("timerfd/epoll");
		return 1;
	}
	uint64_t n;
	printf("unarmed read: %s\n", read(fd, &n, 8) == -1 && errno == EAGAIN ? "EAGAIN" : "data");
	struct itimerspec its = {{0, 30000000}, {0, 30000000}};
	timerfd_settime(fd, 0, &its, NULL);
	uint64_t total = 0;
	int wakes = 0;
	while (total < 5) {
		struct epoll_event out;
		int r = epoll_wait(ep, &out, 1, 5000);
		if (r != 1 || out.data.u32 != 7) {
			printf("epoll_wait: %d\n", r);
			return 1;
		}
		if (read(fd, &n, 8) != 8)
			return 1;
		total += n;
		wakes++;
	}
	struct itimerspec cur;
	timerfd_gettime(fd, &cur);
	printf("timerfd: 5 expirations through epoll: %s, interval %ld ms\n", total >= 5 && wakes >= 1 ? "yes" : "no", cur.it_interval.tv_nsec / 1000000);
	return 0;
}

static int stop(void) {
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGCONT;
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &ev, &tm) != 0)
		return 1;
	struct itimerspec its = {{0, 0}, {0, 300000000}};
	timer_settime(tm, 0, &its, NULL);
	double start = now();
	raise(SIGSTOP);
	double took = now() - start;
	printf("stopped for at least 250 ms: %s\n", took >= 0.25 ? "yes" : "no");
	return 0;
}

static int sigwait_mode(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_value.sival_int = 99;
	timer_t tm;
	timer_create(CLOCK_REALTIME, &ev, &tm);
	struct itimerspec its = {{0, 0}, {0, 50000000}};
	timer_settime(tm, 0, &its, NULL);
	siginfo_t si;
	struct timespec to = {5, 0};
	int sig = sigtimedwait(&set, &si, &to);
	printf("sigtimedwait: %s, code %s, value %d\n", sig == SIGUSR1 ? "SIGUSR1" : "other", si.si_code == SI_TIMER ? "SI_TIMER" : "?", si.si_value.sival_int);
	struct timespec short_to = {0, 50000000};
	errno = 0;
	printf("timeout: %s\n", sigtimedwait(&set, &si, &short_to) == -1 && errno == EAGAIN ? "EAGAIN" : "?");
	errno = 0;
	printf("bad sigsetsize: %s\n", syscall(SYS_rt_sigsuspend, &set, 16) == -1 && errno == EINVAL ? "EINVAL" : "?");
	return 0;
}

static int sfd(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("signalfd");
		return 1;
	}
	struct sigevent sev = {0};
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	sev.sigev_value.sival_int = 77;
	timer_t tm;
	timer_create(CLOCK_MONOTONIC, &sev, &tm);
	struct itimerspec its = {{0, 0}, {0, 30000000}};
	timer_settime(tm, 0, &its, NULL);
	struct epoll_event out;
	int r = epoll_wait(ep, &out, 1, 5000);
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof si);
	printf("signalfd: epoll %d, read %zd, signal %s, code %s, value %d\n", r, n, si.ssi_signo == SIGUSR2 ? "SIGUSR2" : "?",
	       si.ssi_code == SI_TIMER ? "SI_TIMER" : "?", si.ssi_int);
	return 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "alarm")) {
		alarm(1);
		pause();
		printf("pause returned\n");
		return 1;
	}
	if (!strcmp(argv[1], "itimer"))
		return itimer(argc > 2 ? atoi(argv[2]) : 10);
	if (!strcmp(argv[1], "thread"))
		return thread_timer();
	if (!strcmp(argv[1], "timerfd"))
		return tfd();
	if (!strcmp(argv[1], "stop"))
		return stop();
	if (!strcmp(argv[1], "sigwait"))
		return sigwait_mode();
	if (!strcmp(argv[1], "signalfd"))
		return sfd();
	return 2;
}

/* Times system calls from inside an application: the same static binary
 * runs under runikraft run, in the Linux guest (bench/internal/linuxguest)
 * and under qemu-riscv64 (user-mode QEMU), and bench/syscall prints them
 * side by side. Output: "name ns-per-call". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static atomic_int word;

static void futex_wait(atomic_int *w, int v) { syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0); }
static void futex_wake(atomic_int *w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

/* The partner flips odd values to even; main flips even to odd. */
static void *partner(void *arg) {
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		int v;
		while ((v = atomic_load(&word)) % 2 == 0)
			futex_wait(&word, v);
		atomic_store(&word, v + 1);
		futex_wake(&word);
	}
	return NULL;
}

static void *drain(void *arg) {
	int fd = *(int *)arg;
	char buf[4096];
	while (read(fd, buf, sizeof buf) > 0) {
	}
	return NULL;
}

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	double t;

	t = now();
	for (int i = 0; i < n; i++)
		syscall(SYS_getpid);
	printf("getpid %.0f\n", (now() - t) / n);

	/* A call the kernel answers in its posix layer, not in trap context:
	 * the generic path's round trip. */
	t = now();
	for (int i = 0; i < n; i++)
		fcntl(1, F_GETFD);
	printf("fcntl-getfd %.0f\n", (now() - t) / n);

	struct timespec ts;
	t = now();
	for (int i = 0; i < n; i++)
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	printf("clock_gettime %.0f\n", (now() - t) / n);

	/* Through the C library: the vDSO where the kernel maps one. */
	t = now();
	for (int i = 0; i < n; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("clock_gettime-vdso %.0f\n", (now() - t) / n);

	/* The null sink is a pipe drained by a thread: the same on both
	 * sides (the unikernel has no /dev/null before its VFS). */
	int p[2];
	pthread_t d;
	if (pipe(p) != 0)
		return 1;
	pthread_create(&d, NULL, drain, &p[0]);
	t = now();
	for (int i = 0; i < n; i++)
		write(p[1], "x", 1);
	printf("write-1-byte-to-drained-pipe %.0f\n", (now() - t) / n);

	int rounds = n / 10;
	pthread_t th;
	pthread_create(&th, NULL, partner, &rounds);
	t = now();
	for (int i = 0; i < rounds; i++) {
		int v;
		while ((v = atomic_load(&word)) % 2 == 1)
			futex_wait(&word, v);
		atomic_store(&word, v + 1);
		futex_wake(&word);
	}
	pthread_join(th, NULL);
	printf("futex-ping-pong-round-trip %.0f\n", (now() - t) / rounds);

	/* How long a short sleep really lasts (not a cost per call): the
	 * mean of usleep(100) and usleep(1000); a fixed count each, as the
	 * sleeps take real time. */
	const int sleeps[] = {100, 1000}, times[] = {200, 100};
	for (int k = 0; k < 2; k++) {
		t = now();
		for (int i = 0; i < times[k]; i++)
			usleep(sleeps[k]);
		printf("usleep-%d-lasts %.0f\n", sleeps[k], (now() - t) / times[k]);
	}
	return 0;
}

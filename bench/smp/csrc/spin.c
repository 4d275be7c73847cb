/* bench/smp's C workload: T threads each run a fixed number of rounds of
 * an integer hash (xorshift and multiply, no memory traffic); prints the
 * elapsed wall time in ms measured in the guest. Around the timed part it
 * makes system call 0x7ab0 (ENOSYS everywhere), which a hartprof kernel
 * takes as the start (a0 = 1) and end (2) of a profile window.
 *
 *   spin THREADS MROUNDS-EACH */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HARTPROF_MARK 0x7ab0

static long rounds;
static unsigned long results[64];

static void *work(void *arg) {
	long id = (long)arg;
	unsigned long x = 0x9e3779b97f4a7c15ul ^ (unsigned long)id;
	for (long i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x *= 0xff51afd7ed558ccdul;
	}
	results[id] = x;
	return NULL;
}

int main(int argc, char **argv) {
	if (argc != 3)
		return 2;
	int t = atoi(argv[1]);
	long m = atol(argv[2]);
	if (t < 1 || t > 64 || m < 1 || m > 100000)
		return 2;
	rounds = m * 1000000;
	struct timespec a, b;
	syscall(HARTPROF_MARK, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	pthread_t th[64];
	for (long i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, work, (void *)i) != 0)
			return 1;
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	syscall(HARTPROF_MARK, 2);
	unsigned long sum = 0; /* printed, so the compiler keeps the work */
	for (int i = 0; i < t; i++)
		sum ^= results[i];
	printf("elapsed_ms %ld\nchecksum %lx\n", (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, sum);
	return 0;
}

/* A malloc/mmap/futex-heavy program that bench/syscall times from boot to
 * exit: THREADS threads each allocate and free blocks of assorted sizes
 * (some above the C library's mmap threshold), map and unmap anonymous
 * memory, and hand a token round a ring under one mutex and condition
 * variable. Prints a checksum so the work cannot be optimised away and
 * the runs can be compared, then how long its own run took (boot and
 * loading excluded; CLOCK_MONOTONIC, guest instructions under -icount);
 * exits 0 when every thread finished. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define THREADS 4

static int rounds = 2000;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static uint64_t sums[THREADS];

static uint32_t next(uint32_t *s) {
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void *worker(void *arg) {
	int id = (int)(intptr_t)arg;
	uint32_t seed = 2463534242u + id;
	void *held[16] = {0};
	uint64_t sum = 0;
	for (int i = 0; i < rounds; i++) {
		/* Allocation churn: 16 live blocks replaced at random. */
		for (int k = 0; k < 8; k++) {
			int slot = next(&seed) % 16;
			size_t size = 16 + next(&seed) % 8192;
			if (i % 64 == 0 && k == 0)
				size = 256 << 10; /* above the mmap threshold */
			free(held[slot]);
			unsigned char *p = malloc(size);
			if (!p)
				abort();
			p[0] = (unsigned char)i;
			p[size - 1] = (unsigned char)k;
			sum += p[0] + p[size - 1];
			held[slot] = p;
		}
		if (i % 16 == 0) {
			unsigned char *m = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				abort();
			for (int off = 0; off < 64 << 10; off += 4096)
				m[off] = (unsigned char)off;
			sum += m[4096];
			munmap(m, 64 << 10);
		}
		/* The token ring: wait for this thread's turn, pass it on. */
		pthread_mutex_lock(&mu);
		while (turn % THREADS != id)
			pthread_cond_wait(&cv, &mu);
		turn++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	for (int k = 0; k < 16; k++)
		free(held[k]);
	sums[id] = sum;
	return NULL;
}

int main(int argc, char **argv) {
	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds <= 0 || rounds > 10000000)
		return 2;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0)
			return 1;
	uint64_t total = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += sums[i];
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("churn %d rounds, %d handoffs, checksum %llu\n", rounds, turn, (unsigned long long)total);
	printf("own run %lld ns\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	return turn == rounds * THREADS ? 0 : 1;
}

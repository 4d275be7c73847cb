/* THREADS threads (argv[1], default 24) alive and running at once: each
 * counts itself in, then spins in user mode until all have, so that
 * each holds a kernel thread (an application thread in user mode is a
 * kernel thread in a blocking call) and the hart layer's thread table,
 * backed page by page, grows across several pages. Then each returns a
 * value derived from its index and main checks the sum. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX 240

static atomic_int in;
static int n;

static void *worker(void *arg) {
	long id = (long)arg;
	atomic_fetch_add(&in, 1);
	while (atomic_load(&in) < n)
		; /* no system call: stay in user mode */
	return (void *)(id * 3 + 1);
}

int main(int argc, char **argv) {
	n = argc > 1 ? atoi(argv[1]) : 24;
	if (n < 1 || n > MAX) {
		fprintf(stderr, "threads: 1..%d threads\n", MAX);
		return 2;
	}
	static pthread_t th[MAX];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (long i = 0; i < n; i++)
		if (pthread_create(&th[i], &attr, worker, (void *)i) != 0) {
			fprintf(stderr, "threads: pthread_create %ld failed\n", i);
			return 1;
		}
	long sum = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		if (pthread_join(th[i], &r) != 0) {
			fprintf(stderr, "threads: pthread_join %d failed\n", i);
			return 1;
		}
		sum += (long)r;
	}
	printf("%d threads joined, sum %ld\n", n, sum);
	return 0;
}

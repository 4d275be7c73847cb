/* Eight threads hand a counter around under a mutex and condition
 * variable, in strict turn order. */
#include <pthread.h>
#include <stdio.h>

#define N 8
#define ROUNDS 200

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn, counter;

static void *worker(void *arg) {
	int id = (int)(long)arg;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_mutex_lock(&mu);
		while (turn != id)
			pthread_cond_wait(&cv, &mu);
		counter++;
		turn = (turn + 1) % N;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
	return (void *)(long)(id * 10);
}

int main(void) {
	pthread_t th[N];
	for (long i = 0; i < N; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
			return 1;
	long sum = 0;
	for (int i = 0; i < N; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		sum += (long)ret;
	}
	printf("counter=%d joined=%ld\n", counter, sum);
	return counter == N * ROUNDS ? 0 : 1;
}

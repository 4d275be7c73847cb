/* Crashes three calls deep: the kernel's report names the frames. */
#include <stdio.h>

__attribute__((noinline)) int poke(int *p) { return *p + 1; }

__attribute__((noinline)) int inner(int *p) {
	int r = poke(p);
	return r * 3;
}

__attribute__((noinline)) int outer(int *p) {
	int r = inner(p);
	return r + 7;
}

int main(void) {
	volatile int *nowhere = 0;
	printf("crashing\n");
	fflush(stdout);
	return outer((int *)nowhere);
}

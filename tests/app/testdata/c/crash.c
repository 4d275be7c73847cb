/* Writes through a null pointer: the kernel must report SIGSEGV with the
 * pc, the fault address and the function, and exit 128+11. */
#include <stdio.h>

__attribute__((noinline)) void poke(volatile int *p) { *p = 42; }

int main(void) {
	printf("about to crash\n");
	fflush(stdout);
	poke((int *)0);
	return 0;
}

/* gdb stops in main and prints answer (tests/everyday TestGDB). */
#include <stdio.h>

static int twice(int x) { return 2 * x; }

int main(void) {
	int answer = twice(21);
	printf("answer %d\n", answer);
	return 0;
}

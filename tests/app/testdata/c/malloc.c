/* Allocation churn: many sizes, realloc, free in shuffled order, with the
 * contents checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
	enum { SLOTS = 4096, ROUNDS = 200000 };
	static char *slot[SLOTS];
	static size_t size[SLOTS];
	unsigned x = 12345;
	for (int i = 0; i < ROUNDS; i++) {
		x = x * 1103515245 + 12345;
		int k = (x >> 8) % SLOTS;
		if (slot[k]) {
			for (size_t j = 0; j < size[k]; j += 97)
				if (slot[k][j] != (char)k) {
					printf("corrupt slot %d\n", k);
					return 1;
				}
			if (x & 1) {
				free(slot[k]);
				slot[k] = NULL;
				continue;
			}
		}
		size_t n = 1 + (x >> 4) % ((x & 0x30000) ? 100000 : 512);
		slot[k] = realloc(slot[k], n);
		if (!slot[k]) {
			printf("out of memory at %zu\n", n);
			return 1;
		}
		memset(slot[k], k, n);
		size[k] = n;
	}
	for (int k = 0; k < SLOTS; k++)
		free(slot[k]);
	printf("malloc churn ok\n");
	return 0;
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	printf("hello from C, argc=%d", argc);
	for (int i = 1; i < argc; i++)
		printf(" [%s]", argv[i]);
	const char *e = getenv("RK_C");
	printf(" env=%s\n", e ? e : "(unset)");
	return argc > 2 ? atoi(argv[2]) : 0;
}

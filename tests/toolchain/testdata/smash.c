/* smash: copies argv[1] into a char[8] on the stack. A short argument
 * fits; a long one overwrites the stack canary (and the saved return
 * address above it), which the stack protector must catch before the
 * function returns. */
#include <stdio.h>
#include <string.h>

/* noinline and printing buf keep the copy and its buffer from being
 * optimised away or folded into main. */
__attribute__((noinline)) static void copy(const char *s)
{
	char buf[8];
	strcpy(buf, s);
	printf("smash: buf holds %zu bytes\n", strlen(buf));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "short";
	printf("smash: copying %zu bytes into char[8]\n", strlen(s));
	fflush(stdout);
	copy(s);
	puts("smash: returned normally");
	return 0;
}

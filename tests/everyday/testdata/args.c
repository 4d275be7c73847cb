/* Prints its arguments and FOO, exits 3: the command-line tests. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	const char *foo = getenv("FOO");
	printf("FOO=%s\n", foo ? foo : "(unset)");
	return 3;
}

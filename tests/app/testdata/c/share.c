// share reads input.txt from the current directory and writes
// result.txt next to it (what an autoconf run-test does with confdefs.h
// and conftest.val), then prints the directory it ran in.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
	char cwd[4096], line[256];
	if (!getcwd(cwd, sizeof cwd)) {
		perror("getcwd");
		return 1;
	}
	FILE *in = fopen("input.txt", "r");
	if (!in) {
		perror("input.txt");
		return 2;
	}
	if (!fgets(line, sizeof line, in)) {
		fprintf(stderr, "input.txt: empty\n");
		return 3;
	}
	fclose(in);
	line[strcspn(line, "\n")] = 0;
	FILE *out = fopen("result.txt", "w");
	if (!out) {
		perror("result.txt");
		return 4;
	}
	fprintf(out, "%s:%zu:%s\n", line, strlen(line), argc > 1 ? argv[1] : "-");
	if (fclose(out) != 0) {
		perror("result.txt");
		return 5;
	}
	printf("cwd=%s\n", cwd);
	return 0;
}

/* wx: W^X inside the unikernel. "map" asks for writable and executable
 * memory (mmap and mprotect), which must be refused; "heap", "static"
 * and "stack" copy a function's machine code into writable memory and
 * call it, which must fault instead of running the copy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((noinline)) static int forty_two(void) { return 42; }

static unsigned char static_buf[256];

static void try_map(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		printf("mmap(RWX): refused (%s)\n", strerror(errno));
	else
		printf("mmap(RWX): GRANTED at %p\n", p);
	p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("mmap(RW): failed (%s)\n", strerror(errno));
		return;
	}
	if (mprotect(p, pg, PROT_WRITE | PROT_EXEC) != 0)
		printf("mprotect(WX): refused (%s)\n", strerror(errno));
	else
		printf("mprotect(WX): GRANTED\n");
	if (mprotect(p, pg, PROT_READ | PROT_WRITE | PROT_EXEC) != 0)
		printf("mprotect(RWX): refused (%s)\n", strerror(errno));
	else
		printf("mprotect(RWX): GRANTED\n");
	/* Code may still become executable the W^X way: written, then
	 * switched to read+execute. */
	memcpy(p, (const void *)forty_two, 64);
	__builtin___clear_cache((char *)p, (char *)p + 64);
	if (mprotect(p, pg, PROT_READ | PROT_EXEC) != 0) {
		printf("mprotect(RX): failed (%s)\n", strerror(errno));
		return;
	}
	printf("W then X: %d\n", ((int (*)(void))p)());
}

int main(int argc, char **argv)
{
	const char *where = argc > 1 ? argv[1] : "map";
	unsigned char stack_buf[256];
	unsigned char *buf;

	if (strcmp(where, "map") == 0) {
		try_map();
		return 0;
	}
	if (strcmp(where, "heap") == 0)
		buf = malloc(256);
	else if (strcmp(where, "static") == 0)
		buf = static_buf;
	else if (strcmp(where, "stack") == 0)
		buf = stack_buf;
	else {
		fprintf(stderr, "usage: wx map|heap|static|stack\n");
		return 2;
	}
	/* Copying the first 64 bytes is enough: forty_two is a few
	 * instructions long. */
	memcpy(buf, (const void *)forty_two, 64);
	__builtin___clear_cache((char *)buf, (char *)buf + 64);
	printf("wx: calling code copied to %s memory\n", where);
	fflush(stdout);
	int v = ((int (*)(void))buf)();
	printf("wx: EXECUTED writable memory: %d\n", v);
	return 1;
}

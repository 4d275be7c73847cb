// memhog exhausts memory in one of several ways and says what the
// kernel answered; tests/memory checks that the kernel survives each.
//
//	memhog malloc       malloc 1 MiB blocks (touched) until malloc fails
//	memhog brk          grow the break 1 MiB at a time until brk fails
//	memhog mmap-huge    one anonymous mapping of 4 x RAM and a page
//	memhog mmap-ram     one anonymous mapping of RAM and a page, touched
//	memhog touch [F]    map 8 blocks of RAM/4 (each one allowed), then
//	                    touch them all; with F, first write F in the
//	                    working directory (the host view: on the host at once)
//	memhog fill         write /tmp/fill until write fails
//	memhog aslr         print the addresses ASLR should move
//	memhog rss          print /proc/self/stat's resident set around
//	                    touching and unmapping 4 MiB, and ru_maxrss
//	memhog hello        print "hello" (a program run after an OOM kill)
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <fcntl.h>
#include <unistd.h>

#define MiB (1u << 20)

// rss_pages is /proc/self/stat's field 24, the resident set in pages
// (-1 if it cannot be read).
static long rss_pages(void) {
	char b[1024];
	int fd = open("/proc/self/stat", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	char *p = strrchr(b, ')'); // the name may hold spaces
	if (!p)
		return -1;
	long v = -1;
	for (int field = 2; field < 24 && p; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%ld", &v) != 1)
		return -1;
	return v;
}

static unsigned long ram(void) {
	struct sysinfo si;
	if (sysinfo(&si) != 0) {
		perror("sysinfo");
		exit(2);
	}
	return (unsigned long)si.totalram * si.mem_unit;
}

static void *thread_main(void *arg) {
	int local;
	*(uintptr_t *)arg = (uintptr_t)&local;
	return NULL;
}

int main(int argc, char **argv) {
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "malloc")) {
		size_t n = 0;
		for (;;) {
			char *p = malloc(MiB);
			if (!p) {
				printf("malloc: %s after %zu MiB\n", strerror(errno), n);
				return 0;
			}
			memset(p, 1, MiB);
			n++;
		}
	}
	if (!strcmp(mode, "brk")) {
		// brk itself: musl's sbrk refuses to grow the break.
		uintptr_t start = (uintptr_t)syscall(SYS_brk, 0), cur = start;
		for (;;) {
			uintptr_t got = (uintptr_t)syscall(SYS_brk, cur + MiB);
			if (got < cur + MiB) {
				printf("brk: refused after %lu MiB\n", (unsigned long)((cur - start) >> 20));
				return 0;
			}
			memset((char *)cur, 1, MiB);
			cur += MiB;
		}
	}
	if (!strcmp(mode, "mmap-ram")) {
		// One page more than RAM: granted (anonymous memory is
		// charged when touched), so touching it all must be stopped.
		size_t len = ram() + 4096;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("mmap of RAM + 1 page: %s\n", strerror(errno));
			return 1;
		}
		printf("mapped RAM + 1 page; touching\n");
		fflush(stdout);
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		printf("touched RAM + 1 page: the kernel did not stop it\n");
		return 1;
	}
	if (!strcmp(mode, "mmap-huge")) {
		// One page more than the overcommit rule's limit for
		// anonymous memory.
		size_t len = 4 * ram() + 4096;
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			printf("mmap of 4 x RAM + 1 page: %s\n", strerror(errno));
			return 0;
		}
		printf("mmap of 4 x RAM + 1 page succeeded\n");
		return 1;
	}
	if (!strcmp(mode, "touch")) {
		if (argc > 2) {
			FILE *f = fopen(argv[2], "w");
			if (!f || fputs("written before the OOM\n", f) < 0 || fclose(f) != 0) {
				perror(argv[2]);
				return 2;
			}
		}
		size_t len = ram() / 4;
		char *blocks[8];
		for (int i = 0; i < 8; i++) {
			blocks[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (blocks[i] == MAP_FAILED) {
				printf("mmap of block %d: %s\n", i, strerror(errno));
				return 2;
			}
		}
		printf("mapped 2 x RAM in 8 blocks; touching\n");
		fflush(stdout);
		for (int i = 0; i < 8; i++)
			for (size_t off = 0; off < len; off += 4096)
				blocks[i][off] = 1;
		printf("touched 2 x RAM: the kernel did not stop it\n");
		return 1;
	}
	if (!strcmp(mode, "fill")) {
		static char buf[64 << 10];
		memset(buf, 7, sizeof buf);
		int fd = open("/tmp/fill", O_CREAT | O_WRONLY | O_TRUNC, 0600);
		if (fd < 0) {
			perror("/tmp/fill");
			return 2;
		}
		size_t n = 0;
		for (;;) {
			ssize_t w = write(fd, buf, sizeof buf);
			if (w < 0) {
				printf("write: %s after %zu MiB\n", strerror(errno), n >> 20);
				return 0;
			}
			if (w == 0) {
				printf("write returned 0\n");
				return 2;
			}
			n += w;
		}
	}
	if (!strcmp(mode, "aslr")) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uintptr_t stack = 0;
		pthread_t th;
		if (m == MAP_FAILED || pthread_create(&th, NULL, thread_main, &stack) != 0 || pthread_join(th, NULL) != 0) {
			perror("aslr");
			return 2;
		}
		void *low = mmap((void *)0x1000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		printf("mmap=%p thread-stack=%#lx brk=%p fixed-below-64k=%s\n", m, (unsigned long)stack, sbrk(0),
		       low == MAP_FAILED ? strerror(errno) : "mapped");
		return 0;
	}
	if (!strcmp(mode, "rss")) {
		long before = rss_pages();
		char *m = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			return 2;
		}
		memset(m, 1, 4 * MiB);
		long after = rss_pages();
		munmap(m, 4 * MiB);
		long freed = rss_pages();
		struct rusage ru;
		if (before < 0 || after < 0 || freed < 0 || getrusage(RUSAGE_SELF, &ru) != 0) {
			perror("rss");
			return 2;
		}
		printf("rss KiB: before %ld, touched %ld, unmapped %ld; maxrss %ld\n", before * 4, after * 4, freed * 4, ru.ru_maxrss);
		return 0;
	}
	if (!strcmp(mode, "hello")) {
		printf("hello\n");
		return 0;
	}
	fprintf(stderr, "usage: memhog malloc|brk|mmap-huge|mmap-ram|touch [FILE]|fill|aslr|rss|hello\n");
	return 2;
}

/* Output that must not silently go missing.
 *   writev  one 4 MiB iovec to a pipe, a file and stdout: each writev
 *           returns a positive count (short or full), never 0
 *   full    writes stdout until it fails (runikraft run > /dev/full):
 *           the error must reach the program */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define BIG (4 << 20)

static int drain_fd = -1;

static long writev_once(const char *what, int fd, char *buf) {
	struct iovec iov = {buf, BIG};
	long n = writev(fd, &iov, 1);
	fprintf(stderr, "%s: writev of 4 MiB returned %s\n", what, n > 0 ? "a positive count" : n == 0 ? "0" : strerror(errno));
	return n;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	char *buf = malloc(BIG);
	if (!buf)
		return 3;
	memset(buf, 'x', BIG);
	if (!strcmp(argv[1], "writev")) {
		int p[2];
		if (pipe2(p, O_NONBLOCK) != 0)
			return 4;
		drain_fd = p[0];
		int f = open("/tmp/big", O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (f < 0)
			return 5;
		int bad = 0;
		bad |= writev_once("pipe", p[1], buf) <= 0;
		bad |= writev_once("file", f, buf) != BIG;
		long n = writev_once("stdout", 1, buf);
		bad |= n <= 0;
		return bad;
	}
	if (!strcmp(argv[1], "full")) {
		long total = 0;
		for (int i = 0; i < 256; i++) { /* at most 256 MiB */
			ssize_t n = write(1, buf, 1 << 20);
			if (n < 0) {
				fprintf(stderr, "stdout: write failed: %s\n", strerror(errno));
				return 1;
			}
			total += n;
		}
		fprintf(stderr, "stdout: %ld bytes written, no error\n", total);
		return 0;
	}
	return 2;
}

/* fsbench times file operations in one directory and prints one
 * "name value" line per measurement (MiB/s or microseconds per file):
 *   fsbench DIR MIB FILES
 * sequential write (fsync'ed) and read of a MIB MiB file in 1 MiB
 * pieces, then creating, stat'ing and deleting FILES empty files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
	perror(what);
	exit(1);
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: fsbench DIR MIB FILES\n");
		return 2;
	}
	const char *dir = argv[1];
	long mib = atol(argv[2]), files = atol(argv[3]);
	static char buf[1 << 20];
	char path[4096];
	memset(buf, 'x', sizeof buf);
	snprintf(path, sizeof path, "%s/big", dir);

	double t = now();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) die("open big");
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write");
	if (fsync(fd) != 0) die("fsync");
	close(fd);
	printf("seq-write-MiB/s %.1f\n", mib / (now() - t));

	t = now();
	fd = open(path, O_RDONLY);
	if (fd < 0) die("open big");
	long got = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) got += n;
	close(fd);
	if (got != mib << 20) die("short read");
	printf("seq-read-MiB/s %.1f\n", mib / (now() - t));
	unlink(path);

	t = now();
	for (long i = 0; i < files; i++) {
		snprintf(path, sizeof path, "%s/f%06ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) die("create");
		close(fd);
	}
	printf("create-us/file %.1f\n", (now() - t) * 1e6 / files);
	t = now();
	struct stat st;
	for (long i = 0; i < files; i++) {
		snprintf(path, sizeof path, "%s/f%06ld", dir, i);
		if (stat(path, &st) != 0) die("stat");
	}
	printf("stat-us/file %.1f\n", (now() - t) * 1e6 / files);
	t = now();
	for (long i = 0; i < files; i++) {
		snprintf(path, sizeof path, "%s/f%06ld", dir, i);
		if (unlink(path) != 0) die("unlink");
	}
	printf("delete-us/file %.1f\n", (now() - t) * 1e6 / files);
	return 0;
}

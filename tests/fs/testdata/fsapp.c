/* Files through glibc's stdio and dirent, mkstemp, rename and unlink,
 * and a pipe between two threads. Prints what it saw; exits non-zero
 * on the first failure. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s: %s\n", __FILE__, __LINE__, #c, strerror(errno)); exit(1); } } while (0)

static int fds[2];

static void *fifo_writer(void *arg) {
	FILE *w = fopen((const char *)arg, "w"); /* waits for the reader */
	CHECK(w != NULL);
	fputs("through the fifo", w);
	fclose(w);
	return NULL;
}

static void *writer(void *arg) {
	(void)arg;
	const char *msg = "through the pipe";
	CHECK(write(fds[1], msg, strlen(msg)) == (ssize_t)strlen(msg));
	close(fds[1]);
	return NULL;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
	FILE *f = fopen("/tmp/notes.txt", "w+");
	CHECK(f != NULL);
	fprintf(f, "line %d\n", 1);
	fprintf(f, "line %d\n", 2);
	CHECK(fseek(f, 5, SEEK_SET) == 0);
	char buf[64];
	CHECK(fgets(buf, sizeof buf, f) != NULL);
	printf("after seek: %s", buf);
	CHECK(fseek(f, 0, SEEK_END) == 0);
	printf("size: %ld\n", ftell(f));
	fclose(f);

	char tmpl[] = "/tmp/tmpXXXXXX";
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	CHECK(write(fd, "x", 1) == 1);
	close(fd);
	CHECK(rename(tmpl, "/tmp/renamed") == 0);
	CHECK(access(tmpl, F_OK) != 0 && errno == ENOENT);
	CHECK(mkdir("/tmp/sub", 0755) == 0);

	DIR *d = opendir("/tmp");
	CHECK(d != NULL);
	char *names[16];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 16)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], cmp);
	printf("tmp:");
	for (int i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");

	struct stat st;
	CHECK(stat("/tmp/sub", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(unlink("/tmp/renamed") == 0);
	CHECK(unlink("/tmp/renamed") != 0 && errno == ENOENT);
	CHECK(rmdir("/tmp/sub") == 0);
	CHECK(chdir("/tmp") == 0);
	CHECK(getcwd(buf, sizeof buf) != NULL);
	printf("cwd: %s\n", buf);
	f = fopen("notes.txt", "r");
	CHECK(f != NULL);
	CHECK(fgets(buf, sizeof buf, f) != NULL);
	printf("relative: %s", buf);
	fclose(f);

	CHECK(pipe(fds) == 0);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, writer, NULL) == 0);
	ssize_t got, total = 0;
	while ((got = read(fds[0], buf + total, sizeof buf - 1 - total)) > 0)
		total += got;
	buf[total] = 0;
	pthread_join(th, NULL);
	printf("pipe: %s\n", buf);

	CHECK(mkfifo("/tmp/fifo", 0600) == 0);
	CHECK(pthread_create(&th, NULL, fifo_writer, "/tmp/fifo") == 0);
	f = fopen("/tmp/fifo", "r");
	CHECK(f != NULL);
	CHECK(fgets(buf, sizeof buf, f) != NULL);
	fclose(f);
	pthread_join(th, NULL);
	printf("fifo: %s\n", buf);
	return 0;
}

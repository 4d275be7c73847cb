// hostview does file operations named by its arguments, one line of
// output each, so a test can check from the host what the guest saw and
// did in runikraft run's host view:
//
//	cwd            print the working directory
//	env:NAME       print NAME's value, or (unset)
//	cat:PATH       print the file's content
//	write:PATH     write "guest wrote PATH\n" to it (created or truncated)
//	mkdir:PATH     make a directory
//	rm:PATH        unlink a file
//	mv:FROM:TO     rename
//	count:PATH     count a directory's entries (without . and ..)
//	exe            print /proc/self/exe's target
//
// A failing operation prints its error and makes the exit status 1.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failed;

static void fail(const char *op, const char *path) {
	printf("%s %s: %s\n", op, path, strerror(errno));
	failed = 1;
}

int main(int argc, char **argv) {
	static char buf[65536];
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "cwd")) {
			if (getcwd(buf, sizeof buf))
				printf("cwd %s\n", buf);
			else
				fail("getcwd", "");
		} else if (!strncmp(a, "env:", 4)) {
			const char *v = getenv(a + 4);
			printf("env %s=%s\n", a + 4, v ? v : "(unset)");
		} else if (!strncmp(a, "cat:", 4)) {
			FILE *f = fopen(a + 4, "r");
			if (!f) {
				fail("cat", a + 4);
				continue;
			}
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			buf[n] = 0;
			fclose(f);
			printf("cat %s: %s", a + 4, buf);
		} else if (!strncmp(a, "write:", 6)) {
			FILE *f = fopen(a + 6, "w");
			if (!f || fprintf(f, "guest wrote %s\n", a + 6) < 0 || fclose(f) != 0) {
				fail("write", a + 6);
				continue;
			}
			printf("wrote %s\n", a + 6);
		} else if (!strncmp(a, "mkdir:", 6)) {
			if (mkdir(a + 6, 0755) != 0)
				fail("mkdir", a + 6);
			else
				printf("made %s\n", a + 6);
		} else if (!strncmp(a, "rm:", 3)) {
			if (unlink(a + 3) != 0)
				fail("rm", a + 3);
			else
				printf("removed %s\n", a + 3);
		} else if (!strncmp(a, "mv:", 3)) {
			char *from = a + 3, *to = strchr(from, ':');
			if (!to) {
				printf("mv: want mv:FROM:TO\n");
				failed = 1;
				continue;
			}
			*to++ = 0;
			if (rename(from, to) != 0)
				fail("mv", from);
			else
				printf("moved %s to %s\n", from, to);
		} else if (!strncmp(a, "count:", 6)) {
			DIR *d = opendir(a + 6);
			if (!d) {
				fail("count", a + 6);
				continue;
			}
			int n = 0;
			struct dirent *e;
			while ((e = readdir(d)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					n++;
			closedir(d);
			printf("count %s: %d\n", a + 6, n);
		} else if (!strcmp(a, "exe")) {
			ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
			if (n < 0) {
				fail("readlink", "/proc/self/exe");
				continue;
			}
			buf[n] = 0;
			printf("exe %s\n", buf);
		} else {
			printf("unknown operation %s\n", a);
			failed = 1;
		}
	}
	return failed;
}

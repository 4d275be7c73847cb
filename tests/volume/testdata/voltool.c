/* voltool runs filesystem operations named on its command line, one
 * after another, and prints what each did, so the volume tests can
 * drive the guest's side of a 9p share and check it from the host.
 * A failing operation prints "ERR op errno-name" and the tool goes on;
 * the exit status is 0. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static const char *ename(int e) {
	switch (e) {
	case ENOENT: return "ENOENT";
	case EROFS: return "EROFS";
	case EEXIST: return "EEXIST";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EIO: return "EIO";
	case ELOOP: return "ELOOP";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case EXDEV: return "EXDEV";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

static int err(const char *op) {
	printf("ERR %s %s\n", op, ename(errno));
	return 1;
}

static int cmpstr(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void writefile(const char *path, const char *text, int flags) {
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0) { err("open"); return; }
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n) { err("write"); close(fd); return; }
	if (fsync(fd) != 0) { err("fsync"); close(fd); return; }
	if (close(fd) != 0) { err("close"); return; }
	printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		const char *a = i + 1 < argc ? argv[i + 1] : "";
		const char *b = i + 2 < argc ? argv[i + 2] : "";
		if (!strcmp(op, "write")) {
			writefile(a, b, O_TRUNC); i += 2;
		} else if (!strcmp(op, "append")) {
			writefile(a, b, O_APPEND); i += 2;
		} else if (!strcmp(op, "cat")) {
			i++;
			int fd = open(a, O_RDONLY);
			if (fd < 0) { err("open"); continue; }
			char buf[4096]; ssize_t n;
			printf("%s: ", a);
			while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
			if (n < 0) err("read");
			printf("\n");
			close(fd);
		} else if (!strcmp(op, "ls") || !strcmp(op, "count")) {
			i++;
			DIR *d = opendir(a);
			if (!d) { err("opendir"); continue; }
			size_t cap = 64, n = 0;
			char **names = malloc(cap * sizeof *names);
			struct dirent *e;
			long count = 0;
			while ((e = readdir(d)) != NULL) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
				count++;
				if (op[0] == 'c') continue;
				if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
				names[n++] = strdup(e->d_name);
			}
			closedir(d);
			if (op[0] == 'c') { printf("%s: %ld entries\n", a, count); continue; }
			qsort(names, n, sizeof *names, cmpstr);
			printf("%s:", a);
			for (size_t k = 0; k < n; k++) printf(" %s", names[k]);
			printf("\n");
		} else if (!strcmp(op, "mkdir")) {
			i++;
			if (mkdir(a, 0755) == 0) printf("mkdir %s\n", a); else err("mkdir");
		} else if (!strcmp(op, "rmdir")) {
			i++;
			if (rmdir(a) == 0) printf("rmdir %s\n", a); else err("rmdir");
		} else if (!strcmp(op, "rm")) {
			i++;
			if (unlink(a) == 0) printf("rm %s\n", a); else err("unlink");
		} else if (!strcmp(op, "mv")) {
			i += 2;
			if (rename(a, b) == 0) printf("mv %s %s\n", a, b); else err("rename");
		} else if (!strcmp(op, "symlink")) {
			i += 2;
			if (symlink(a, b) == 0) printf("symlink %s -> %s\n", b, a); else err("symlink");
		} else if (!strcmp(op, "link")) {
			i += 2;
			if (link(a, b) == 0) printf("link %s %s\n", a, b); else err("link");
		} else if (!strcmp(op, "readlink")) {
			i++;
			char buf[4096];
			ssize_t n = readlink(a, buf, sizeof buf - 1);
			if (n < 0) { err("readlink"); continue; }
			buf[n] = 0;
			printf("readlink %s: %s\n", a, buf);
		} else if (!strcmp(op, "stat")) {
			i++;
			struct stat st;
			if (lstat(a, &st) != 0) { err("stat"); continue; }
			const char *t = S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink" : S_ISREG(st.st_mode) ? "file" : "other";
			printf("stat %s: %s size=%lld mode=%o\n", a, t, (long long)st.st_size, st.st_mode & 07777);
		} else if (!strcmp(op, "chmod")) {
			i += 2;
			if (chmod(a, strtol(b, NULL, 8)) == 0) printf("chmod %s %s\n", a, b); else err("chmod");
		} else if (!strcmp(op, "truncate")) {
			i += 2;
			if (truncate(a, atoll(b)) == 0) printf("truncate %s %s\n", a, b); else err("truncate");
		} else if (!strcmp(op, "statfs")) {
			i++;
			struct statfs s;
			if (statfs(a, &s) != 0) { err("statfs"); continue; }
			printf("statfs %s: type=%#lx\n", a, (unsigned long)s.f_type);
		} else if (!strcmp(op, "wait")) {
			/* The host changes something, then writes a line. */
			char line[64];
			printf("waiting\n");
			if (!fgets(line, sizeof line, stdin)) { printf("ERR wait EOF\n"); continue; }
			printf("resumed\n");
		} else if (!strcmp(op, "lock")) {
			i++;
			int fd = open(a, O_RDWR | O_CREAT, 0644);
			if (fd < 0) { err("open"); continue; }
			struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
			if (fcntl(fd, F_SETLK, &fl) != 0) { err("F_SETLK"); close(fd); continue; }
			struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
			if (fcntl(fd, F_GETLK, &q) != 0) { err("F_GETLK"); close(fd); continue; }
			fl.l_type = F_UNLCK;
			if (fcntl(fd, F_SETLKW, &fl) != 0) { err("F_SETLKW"); close(fd); continue; }
			printf("lock %s: getlk type=%s\n", a, q.l_type == F_UNLCK ? "F_UNLCK" : "held");
			close(fd);
		} else if (!strcmp(op, "writebig")) {
			/* N MiB of a pattern that depends on the offset */
			i += 2;
			long mib = atol(b);
			int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0) { err("open"); continue; }
			static unsigned char buf[1 << 20];
			int bad = 0;
			for (long m = 0; m < mib && !bad; m++) {
				for (int k = 0; k < (1 << 20); k++) buf[k] = (unsigned char)((m * 7 + k * 13) >> 3);
				if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) bad = err("write");
			}
			if (!bad && fsync(fd) != 0) bad = err("fsync");
			close(fd);
			if (!bad) printf("writebig %s: %ld MiB\n", a, mib);
		} else if (!strcmp(op, "sum")) {
			/* size and a simple checksum, read in odd-sized pieces */
			i++;
			int fd = open(a, O_RDONLY);
			if (fd < 0) { err("open"); continue; }
			static unsigned char buf[3 << 20];
			unsigned long long sum = 0, size = 0;
			ssize_t n;
			while ((n = read(fd, buf, sizeof buf - 12345)) > 0) {
				for (ssize_t k = 0; k < n; k++) sum = sum * 31 + buf[k];
				size += n;
			}
			if (n < 0) err("read");
			close(fd);
			printf("sum %s: size=%llu sum=%llx\n", a, size, sum);
		} else if (!strcmp(op, "mkfiles")) {
			i += 2;
			long n = atol(b);
			char p[4096];
			long k;
			for (k = 0; k < n; k++) {
				snprintf(p, sizeof p, "%s/f%06ld", a, k);
				int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
				if (fd < 0) { err("open"); break; }
				close(fd);
			}
			printf("mkfiles %s: %ld\n", a, k);
		} else if (!strcmp(op, "chdir")) {
			i++;
			if (chdir(a) == 0) printf("chdir %s\n", a); else err("chdir");
		} else if (!strcmp(op, "sleep")) {
			i++;
			usleep(atoi(a) * 1000);
			printf("slept %s\n", a);
		} else if (!strcmp(op, "exit")) {
			return atoi(a);
		} else {
			printf("ERR unknown op %s\n", op);
			return 2;
		}
	}
	return 0;
}

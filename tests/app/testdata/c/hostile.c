/* Hands the kernel bad pointers and forbidden requests; each must fail
 * cleanly with the Linux error, and the program must keep running. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void expect(const char *what, long r, int err) {
	if (r != -1 || errno != err) {
		printf("FAIL %s: r=%ld errno=%d (%s), want errno %d\n", what, r, errno, strerror(errno), err);
		failures++;
	} else {
		printf("ok %s\n", what);
	}
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0); /* each line out before the next test */
	expect("write from a bad pointer", syscall(SYS_write, 1, (void *)16, 10), EFAULT);
	expect("write from kernel memory", syscall(SYS_write, 1, (void *)0x80200000UL, 10), EFAULT);
	int pfd[2];
	if (pipe(pfd) != 0 || write(pfd[1], "hello", 5) != 5)
		return 2;
	expect("read into read-only code", syscall(SYS_read, pfd[0], (void *)main, 5), EFAULT);
	expect("clock_gettime to a bad pointer", syscall(SYS_clock_gettime, 1, (void *)8), EFAULT);
	expect("writable+executable mmap (W^X)",
	       (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == (long)MAP_FAILED ? -1 : 0, EACCES);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect("mprotect to W+X (W^X)", mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC), EACCES);
	expect("unknown syscall", syscall(999), ENOSYS);
	expect("futex on a bad address", syscall(SYS_futex, (void *)16, 0, 0, NULL, NULL, 0), EFAULT);
	expect("sigaction on SIGKILL", sigaction(SIGKILL, &(struct sigaction){0}, NULL), EINVAL);
	expect("close of a bad fd", close(1000), EBADF);
	/* gnulib's configure probe; it once panicked the kernel (issue 12). */
	expect("fcntl(0, F_DUPFD, -1)", fcntl(0, F_DUPFD, -1), EINVAL);
	expect("fcntl(0, F_DUPFD, INT_MIN)", fcntl(0, F_DUPFD, INT_MIN), EINVAL);
	printf("%s\n", failures ? "hostile: FAILED" : "hostile: all refused cleanly");
	return failures != 0;
}

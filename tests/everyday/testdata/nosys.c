/* Writes to stderr around a system call the kernel does not have: the
 * kernel's notice about it must not land between the two writes. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void) {
	fputs("before\n", stderr);
	long r = syscall(4000);
	fprintf(stderr, "after: %ld errno %d\n", r, errno);
	return 0;
}

/* Calls the deliberately panicking system call of a test kernel built
 * with -tags runikraft_bughook (posix/bughook.go): the kernel must end
 * the program with its kernel-bug status (71) and a report, never hang
 * and never get here. */
#include <stdio.h>
#include <unistd.h>

#define BUGHOOK_NR 0x7b0b /* posix.BugHookNr */

int main(void) {
	printf("calling the panicking hook\n");
	fflush(stdout);
	long r = syscall(BUGHOOK_NR, -1L, 2L, 3L);
	printf("survived the hook: %ld\n", r);
	return 0;
}

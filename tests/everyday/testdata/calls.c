/* A few system calls whose --strace lines the test expects. */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
	int fd = open("/tmp/strace-test", O_WRONLY | O_CREAT | O_TRUNC, 0640);
	write(fd, "hello\n", 6);
	close(fd);
	open("/nonexistent", O_RDONLY);
	write(1, "done\n", 5);
	return 4;
}

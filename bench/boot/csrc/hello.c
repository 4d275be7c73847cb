/* The C hello bench/boot times from boot to exit: the same static binary
 * under runikraft run, baked and booted on plain QEMU, in the Linux guest
 * and under qemu-riscv64. */
#include <stdio.h>

int main(void) {
	puts("Hello, world!");
	return 0;
}

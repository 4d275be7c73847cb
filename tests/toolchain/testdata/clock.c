/* The vDSO's clock_gettime (what musl calls) agrees with the system
 * call: readings interleaved as vDSO, syscall, vDSO never go backwards,
 * for the monotonic and the realtime clock; and musl found the vDSO at
 * all (getauxval(AT_SYSINFO_EHDR) and the symbol's speed are not
 * checked here: the kernel test names the symbol). */
#include <stdio.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

static int check(clockid_t clk, const char *name) {
	for (int i = 0; i < 1000; i++) {
		struct timespec a, b, c;
		if (clock_gettime(clk, &a) || syscall(SYS_clock_gettime, clk, &b) || clock_gettime(clk, &c)) {
			printf("%s: clock_gettime failed\n", name);
			return 1;
		}
		if (a.tv_nsec < 0 || a.tv_nsec >= 1000000000 || ns(a) > ns(b) || ns(b) > ns(c)) {
			printf("%s: out of order: %lld %lld %lld\n", name, (long long)ns(a), (long long)ns(b), (long long)ns(c));
			return 1;
		}
	}
	printf("%s: ordered\n", name);
	return 0;
}

int main(void) {
	printf("vdso: %s\n", getauxval(AT_SYSINFO_EHDR) ? "mapped" : "missing");
	struct timespec r;
	clock_gettime(CLOCK_REALTIME, &r);
	printf("realtime after 2020: %s\n", r.tv_sec > 1577836800 ? "yes" : "no");
	int bad = check(CLOCK_MONOTONIC, "monotonic") | check(CLOCK_REALTIME, "realtime") |
		check(CLOCK_BOOTTIME, "boottime") | check(CLOCK_PROCESS_CPUTIME_ID, "process-cputime");
	return bad;
}

/* Prints a fixed instant in the local zone ($TZ), as musl reads it from
 * /usr/share/zoneinfo. */
#include <stdio.h>
#include <time.h>

int main(void) {
	time_t t = 1700000000;
	struct tm tm;
	char buf[64];
	tzset();
	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z %z", &tm);
	printf("local %s\n", buf);
	return 0;
}

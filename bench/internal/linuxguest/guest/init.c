/* The Linux guest's /init: mounts what a program expects, runs ONE
 * program with the argv and environment the host wrote into /run.spec,
 * and powers the machine off with the program's exit status.
 *
 * /run.spec is a sequence of NUL-terminated "key=value" records:
 *   nonce=HEX        marks the lines this init prints (required)
 *   arg=VALUE        argv, in order; the first is the program's path
 *   env=KEY=VALUE    the program's environment, in order
 *   cwd=DIR          the program's working directory (default /)
 *   9p=TAG=DIR       mount the virtio-9p share TAG at DIR (9P2000.L)
 *   net=1            bring eth0 up with QEMU user networking's addresses
 *                    (10.0.2.15/24, gateway 10.0.2.2)
 *
 * The exit status reaches the host twice: as the line
 * "NONCE exit STATUS" on the console (STATUS is 128+N for signal N), and
 * as QEMU's own exit status, written to QEMU virt's test finisher through
 * /dev/mem (FAIL with the status as code, PASS for 0) as Runikraft does.
 * Before the program runs the init prints "NONCE start", so the host can
 * tell the program's output from the firmware's and kernel's. The host
 * trusts the finisher only when it agrees with the line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_SPEC (1 << 20)
#define MAX_ITEMS 4096

static char spec[MAX_SPEC + 1];
static char *args[MAX_ITEMS + 1], *envs[MAX_ITEMS + 1];
static char *nonce = "linuxguest";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	(void)!write(1, buf, n);
}

/* mkdirs makes DIR and its parents (mode 0755); existing ones are fine. */
static void mkdirs(const char *dir) {
	char p[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof p)
		return;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

static void setaddr(struct sockaddr *sa, const char *ip) {
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	memset(in, 0, sizeof *in);
	in->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &in->sin_addr);
}

static int ifup(int s, const char *name, const char *ip, const char *mask) {
	struct ifreq r;
	memset(&r, 0, sizeof r);
	strncpy(r.ifr_name, name, IFNAMSIZ - 1);
	if (ip) {
		setaddr(&r.ifr_addr, ip);
		if (ioctl(s, SIOCSIFADDR, &r) != 0)
			return -1;
		setaddr(&r.ifr_netmask, mask);
		if (ioctl(s, SIOCSIFNETMASK, &r) != 0)
			return -1;
	}
	if (ioctl(s, SIOCGIFFLAGS, &r) != 0)
		return -1;
	r.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &r);
}

static void network(int user) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	if (ifup(s, "lo", "127.0.0.1", "255.0.0.0") != 0)
		say("%s note lo: %s\n", nonce, strerror(errno));
	if (user) {
		if (ifup(s, "eth0", "10.0.2.15", "255.255.255.0") != 0)
			say("%s note eth0: %s\n", nonce, strerror(errno));
		struct rtentry rt;
		memset(&rt, 0, sizeof rt);
		setaddr(&rt.rt_dst, "0.0.0.0");
		setaddr(&rt.rt_genmask, "0.0.0.0");
		setaddr(&rt.rt_gateway, "10.0.2.2");
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		if (ioctl(s, SIOCADDRT, &rt) != 0)
			say("%s note route: %s\n", nonce, strerror(errno));
		int f = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (f >= 0) {
			(void)!write(f, "nameserver 10.0.2.3\n", 20);
			close(f);
		}
	}
	close(s);
}

/* finisher_addr is the test finisher's address from the device tree
 * (a node named test@ADDR under /soc), or QEMU virt's 0x100000. */
static unsigned long finisher_addr(void) {
	unsigned long addr = 0x100000;
	DIR *d = opendir("/sys/firmware/devicetree/base/soc");
	if (!d)
		return addr;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "test@", 5) == 0) {
			char *end;
			unsigned long a = strtoul(e->d_name + 5, &end, 16);
			if (*end == 0 && a != 0 && a % 4096 == 0)
				addr = a;
			break;
		}
	}
	closedir(d);
	return addr;
}

/* set_clock sets CLOCK_REALTIME from QEMU virt's Goldfish RTC (a node
 * rtc@ADDR under /soc compatible with google,goldfish-rtc), read through
 * /dev/mem: the guest kernel has no RTC driver, so its clock would
 * otherwise start at the epoch, as Runikraft's does not. Programs notice:
 * nginx caches its log time only when the second changes, and at second
 * 0 it never does (it then copies from a NULL pointer, SIGSEGV). */
static void set_clock(void) {
	DIR *d = opendir("/sys/firmware/devicetree/base/soc");
	if (!d)
		return;
	unsigned long addr = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "rtc@", 4) != 0)
			continue;
		char path[512], compat[64] = {0};
		snprintf(path, sizeof path, "/sys/firmware/devicetree/base/soc/%s/compatible", e->d_name);
		int c = open(path, O_RDONLY | O_CLOEXEC);
		if (c < 0)
			continue;
		ssize_t r = read(c, compat, sizeof compat - 1);
		close(c);
		char *end;
		unsigned long a = strtoul(e->d_name + 4, &end, 16);
		if (r > 0 && strcmp(compat, "google,goldfish-rtc") == 0 && *end == 0 && a != 0 && a % 4096 == 0) {
			addr = a;
			break;
		}
	}
	closedir(d);
	if (addr == 0)
		return;
	int fd = open("/dev/mem", O_RDONLY | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return;
	volatile uint32_t *rtc = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, addr);
	close(fd);
	if (rtc == MAP_FAILED)
		return;
	/* Reading TIME_LOW latches TIME_HIGH: low first. */
	uint64_t lo = rtc[0];
	uint64_t ns = (uint64_t)rtc[1] << 32 | lo;
	munmap((void *)rtc, 4096);
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	if (ts.tv_sec > 0)
		clock_settime(CLOCK_REALTIME, &ts);
}

static void poweroff(int status) {
	sync();
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd >= 0) {
		volatile uint32_t *t = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, finisher_addr());
		if (t != MAP_FAILED)
			*t = status == 0 ? 0x5555 : ((uint32_t)status << 16) | 0x3333;
	}
	/* Only reached if the finisher did not end QEMU: syscon-poweroff
	 * (status 0 on the host; the console line still has the truth). */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void) {
	mkdirs("/dev");
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	if (fcntl(1, F_GETFD) < 0) {
		int c = open("/dev/console", O_RDWR);
		if (c >= 0) {
			dup2(c, 0);
			dup2(c, 1);
			dup2(c, 2);
			if (c > 2)
				close(c);
		}
	}
	mkdirs("/proc");
	mount("proc", "/proc", "proc", 0, NULL);
	mkdirs("/sys");
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mkdirs("/tmp");
	mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
	mkdirs("/dev/shm");
	mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
	mkdirs("/etc");
	mkdirs("/run");
	set_clock();

	int fd = open("/run.spec", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say("linuxguest: /run.spec: %s\n", strerror(errno));
		poweroff(125);
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, spec + n, MAX_SPEC - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if (n == MAX_SPEC) {
			say("linuxguest: /run.spec is larger than %d bytes\n", MAX_SPEC);
			poweroff(125);
		}
	}
	close(fd);
	spec[n] = 0;

	int na = 0, ne = 0, net = 0;
	const char *cwd = "/";
	for (char *p = spec, *next; p < spec + n; p = next) {
		next = p + strlen(p) + 1; /* before the record is cut at its '=' */
		char *eq = strchr(p, '=');
		if (!eq)
			continue;
		*eq = 0;
		char *v = eq + 1;
		if (strcmp(p, "nonce") == 0) {
			nonce = v;
		} else if (strcmp(p, "arg") == 0 && na < MAX_ITEMS) {
			args[na++] = v;
		} else if (strcmp(p, "env") == 0 && ne < MAX_ITEMS) {
			envs[ne++] = v;
		} else if (strcmp(p, "cwd") == 0) {
			cwd = v;
		} else if (strcmp(p, "net") == 0) {
			net = strcmp(v, "1") == 0;
		} else if (strcmp(p, "9p") == 0) {
			char *dir = strchr(v, '=');
			if (!dir)
				continue;
			*dir++ = 0;
			mkdirs(dir);
			if (mount(v, dir, "9p", 0, "trans=virtio,version=9p2000.L,msize=131072") != 0)
				say("%s note 9p %s on %s: %s\n", nonce, v, dir, strerror(errno));
		}
	}
	if (na == 0) {
		say("%s exit 125\n", nonce);
		poweroff(125);
	}
	network(net);

	say("%s start\n", nonce);
	pid_t child = fork();
	if (child == 0) {
		if (chdir(cwd) != 0) {
			say("linuxguest: chdir %s: %s\n", cwd, strerror(errno));
			_exit(126);
		}
		execve(args[0], args, envs);
		say("linuxguest: exec %s: %s\n", args[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	int status = 125;
	if (child > 0) {
		/* As PID 1 the init also reaps the program's orphans. */
		for (;;) {
			int ws;
			pid_t p = wait(&ws);
			if (p < 0 && errno == EINTR)
				continue;
			if (p < 0)
				break;
			if (p == child) {
				status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
				break;
			}
		}
	}
	say("%s exit %d\n", nonce, status);
	tcdrain(1); /* the UART sends from a buffer: let it empty first */
	poweroff(status);
}

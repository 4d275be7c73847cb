/* Socket edge cases from C (glibc, static), one line per check, each
 * bounded in time: socket timeouts (SO_RCVTIMEO, SO_SNDTIMEO, recvmmsg's
 * timeout), a peer that never reads (non-blocking EAGAIN, a blocking
 * writer woken by the reader's close), half-open and reset connections,
 * listen backlog overflow, zero-length datagram reads and the address of
 * an unbound AF_UNIX sender. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
	printf("FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_timeo(int fd, int opt, long usec) {
	struct timeval tv = {.tv_sec = usec / 1000000, .tv_usec = usec % 1000000};
	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

/* waited reports whether an elapsed time matches a 200 ms timeout:
 * not early, and not stuck (well under the 5 s the test allows). */
static int waited(double t0) {
	double d = now() - t0;
	return d >= 0.19 && d < 5;
}

/* listener makes a TCP listener on 127.0.0.1 and returns its address. */
static int listener(struct sockaddr_in *sa, int backlog) {
	int ln = socket(AF_INET, SOCK_STREAM, 0);
	*sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof *sa;
	if (ln < 0 || bind(ln, (struct sockaddr *)sa, sizeof *sa) < 0 || listen(ln, backlog) < 0 ||
	    getsockname(ln, (struct sockaddr *)sa, &len) < 0)
		return -1;
	return ln;
}

/* pair connects a TCP client to ln and accepts it. */
static int pair(int ln, struct sockaddr_in *sa, int *srv) {
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)sa, sizeof *sa) < 0)
		return -1;
	*srv = accept(ln, NULL, NULL);
	return *srv < 0 ? -1 : c;
}

struct writer {
	int fd;
	ssize_t total;
	int err;
};

/* blocked_writer writes until the write fails (the peer closes). */
static void *blocked_writer(void *arg) {
	struct writer *w = arg;
	static char buf[65536];
	for (;;) {
		ssize_t n = send(w->fd, buf, sizeof buf, MSG_NOSIGNAL);
		if (n < 0) {
			w->err = errno;
			return NULL;
		}
		w->total += n;
	}
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	char buf[256];
	struct sockaddr_in sa;
	int ln = listener(&sa, 8), srv;
	if (ln < 0)
		return fail("listener");

	/* SO_RCVTIMEO: accept and recv give EAGAIN after the timeout. */
	set_timeo(ln, SO_RCVTIMEO, 200000);
	double t0 = now();
	int r = accept(ln, NULL, NULL);
	printf("accept timeout: %s %d\n", r < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno), waited(t0));
	int c = pair(ln, &sa, &srv);
	if (c < 0)
		return fail("pair");
	set_timeo(c, SO_RCVTIMEO, 200000);
	struct timeval tv;
	socklen_t tl = sizeof tv;
	getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl);
	printf("SO_RCVTIMEO reads back %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
	t0 = now();
	r = recv(c, buf, sizeof buf, 0);
	printf("recv timeout: %s %d\n", r < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno), waited(t0));
	/* Data that is there comes at once, timeout or not. */
	send(srv, "x", 1, 0);
	printf("recv with data: %zd\n", recv(c, buf, sizeof buf, 0));

	/* read, write and their vector forms on TCP copy straight between
	 * the application's memory and the stack's: a bad pointer is
	 * EFAULT and loses no bytes, iovecs fill and drain in order. */
	errno = 0;
	ssize_t wf = write(srv, (void *)8, 4);
	int wfe = errno;
	write(srv, "abcdef", 6);
	errno = 0;
	ssize_t rf = read(c, (void *)8, sizeof buf);
	int rfe = errno;
	char v1[2], v2[8];
	struct iovec iv[2] = {{v1, 2}, {v2, 8}};
	ssize_t rv = readv(c, iv, 2);
	struct iovec ov[2] = {{"gh", 2}, {"ij", 2}};
	ssize_t wv = writev(srv, ov, 2);
	memset(buf, 0, sizeof buf);
	ssize_t rn = read(c, buf, sizeof buf);
	printf("tcp read/write: bad write %s, bad read %s, readv %zd %.2s%.4s, writev %zd read %zd %s\n",
	       wf < 0 && wfe == EFAULT ? "EFAULT" : "?", rf < 0 && rfe == EFAULT ? "EFAULT" : "?", rv, v1, v2, wv, rn, buf);

	/* Level-triggered epoll after reads that empty the socket: quiet
	 * until more comes, then ready; the reading side shut down with
	 * data left, and the end of file after the last bytes, stay ready. */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, evs[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
	write(srv, "a", 1);
	int e1 = epoll_wait(ep, evs, 2, 2000);
	ssize_t r1 = read(c, buf, sizeof buf);
	int e2 = epoll_wait(ep, evs, 2, 0);
	write(srv, "b", 1);
	int e3 = epoll_wait(ep, evs, 2, 2000);
	ssize_t r2 = read(c, buf, sizeof buf);
	printf("epoll after reads: %d %zd %d %d %zd\n", e1, r1, e2, e3, r2);

	/* A peer that never reads: a non-blocking sender fills the buffers
	 * and gets EAGAIN; SO_SNDTIMEO ends a blocking send with what it
	 * sent or EAGAIN; a blocked writer is woken by the reader's close. */
	fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	static char big[65536];
	long sent = 0;
	int full = 0;
	for (int i = 0; i < 4096; i++) {
		ssize_t n = send(c, big, sizeof big, MSG_NOSIGNAL);
		if (n < 0) {
			full = errno == EAGAIN;
			break;
		}
		sent += n;
	}
	printf("non-blocking send fills: EAGAIN %d after >0 bytes %d\n", full, sent > 0);
	fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
	set_timeo(c, SO_SNDTIMEO, 200000);
	/* Room may open as the queues move: a send takes what fits, and
	 * the first that finds none waits out the timeout. */
	for (int i = 0; i < 64; i++) {
		t0 = now();
		r = send(c, big, sizeof big, MSG_NOSIGNAL);
		if (r < 0)
			break;
	}
	printf("send timeout: %s %d\n", r < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno), waited(t0));
	set_timeo(c, SO_SNDTIMEO, 0);
	struct writer w = {.fd = c};
	pthread_t th;
	pthread_create(&th, NULL, blocked_writer, &w);
	usleep(300000);
	close(srv); /* unread data: the close resets the connection */
	pthread_join(th, NULL);
	printf("blocked writer woken by close: %s\n", w.err == ECONNRESET || w.err == EPIPE ? "ECONNRESET/EPIPE" : strerror(w.err));
	close(c);

	/* Half-open: after the client's SHUT_WR the server reads end of
	 * file and can still answer. */
	set_timeo(ln, SO_RCVTIMEO, 0);
	c = pair(ln, &sa, &srv);
	shutdown(c, SHUT_WR);
	r = recv(srv, buf, sizeof buf, 0);
	ssize_t back = send(srv, "answer", 6, 0);
	ssize_t got = recv(c, buf, 6, MSG_WAITALL);
	printf("half-open: eof %d, answer %zd/%zd\n", r == 0, back, got);
	close(srv);
	close(c);

	/* Reset: a close with SO_LINGER 0 resets; the peer's read says
	 * ECONNRESET and its next send EPIPE. */
	c = pair(ln, &sa, &srv);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(srv, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(srv);
	set_timeo(c, SO_RCVTIMEO, 2000000);
	r = recv(c, buf, sizeof buf, 0);
	int rerr = errno;
	ssize_t s2 = send(c, "x", 1, MSG_NOSIGNAL);
	printf("reset: recv %s, send %s\n", r < 0 && rerr == ECONNRESET ? "ECONNRESET" : strerror(rerr),
	       s2 < 0 && (errno == EPIPE || errno == ECONNRESET) ? "EPIPE" : strerror(errno));
	close(c);
	close(ln);

	/* Listen backlog overflow: more non-blocking connects than the
	 * backlog takes; the listener still accepts, and a connection made
	 * after the queue drains is served. */
	ln = listener(&sa, 2);
	int cs[64], ncs = 0, accepted = 0;
	for (int i = 0; i < 64; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (s < 0)
			break;
		connect(s, (struct sockaddr *)&sa, sizeof sa);
		cs[ncs++] = s;
	}
	/* Wait (at most 3 s) for the handshakes to fill the queue: the
	 * count of connected clients stops growing for 200 ms. */
	for (int i = 0, prev = -1, still = 0; i < 300 && still < 20; i++) {
		struct pollfd pf[64];
		for (int j = 0; j < ncs; j++)
			pf[j] = (struct pollfd){.fd = cs[j], .events = POLLOUT};
		poll(pf, ncs, 0);
		int n = 0;
		for (int j = 0; j < ncs; j++)
			n += (pf[j].revents & (POLLOUT | POLLERR)) == POLLOUT;
		still = n >= 2 && n == prev ? still + 1 : 0;
		prev = n;
		usleep(10000);
	}
	/* The queue is full: a blocking connect with SO_SNDTIMEO gives up
	 * with EINPROGRESS, as on Linux. */
	int bc = socket(AF_INET, SOCK_STREAM, 0);
	set_timeo(bc, SO_SNDTIMEO, 200000);
	t0 = now();
	r = connect(bc, (struct sockaddr *)&sa, sizeof sa);
	printf("connect timeout: %s %d\n", r < 0 && errno == EINPROGRESS ? "EINPROGRESS" : strerror(errno), waited(t0));
	close(bc);
	fcntl(ln, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 200 && accepted < ncs; i++) {
		int a = accept(ln, NULL, NULL);
		if (a >= 0) {
			accepted++;
			close(a);
		} else
			usleep(10000);
	}
	for (int i = 0; i < ncs; i++)
		close(cs[i]);
	/* Drain what completed meanwhile (connections already closed by
	 * their clients), until the queue stays empty for half a second. */
	for (int i = 0, idle = 0; i < 300 && idle < 50; i++) {
		int a = accept(ln, NULL, NULL);
		if (a >= 0) {
			idle = 0;
			close(a);
		} else {
			idle++;
			usleep(10000);
		}
	}
	fcntl(ln, F_SETFL, 0);
	/* Bounded: the connect and the accept give up after 5 s. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	set_timeo(c, SO_SNDTIMEO, 5000000);
	set_timeo(ln, SO_RCVTIMEO, 5000000);
	r = connect(c, (struct sockaddr *)&sa, sizeof sa);
	if (r < 0)
		printf("connect after overflow: %s\n", strerror(errno));
	srv = accept(ln, NULL, NULL);
	if (srv < 0)
		printf("accept after overflow: %s\n", strerror(errno));
	r = send(c, "ok", 2, 0);
	set_timeo(srv, SO_RCVTIMEO, 5000000);
	got = recv(srv, buf, 2, MSG_WAITALL);
	printf("backlog overflow: accepted some %d, served after %d\n", accepted > 0, r == 2 && got == 2);
	close(c);
	close(srv);
	close(ln);

	/* UDP: a zero-length read takes a datagram (returning 0); recvmmsg
	 * returns what came when its timeout passes, EAGAIN with nothing. */
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof ua;
	if (bind(u, (struct sockaddr *)&ua, sizeof ua) < 0 || getsockname(u, (struct sockaddr *)&ua, &len) < 0)
		return fail("udp bind");
	sendto(v, "first", 5, 0, (struct sockaddr *)&ua, sizeof ua);
	sendto(v, "second", 6, 0, (struct sockaddr *)&ua, sizeof ua);
	ssize_t z = recvfrom(u, NULL, 0, 0, NULL, NULL);
	ssize_t n2 = recv(u, buf, sizeof buf, 0);
	printf("udp zero-length read: %zd, then %zd\n", z, n2);
	struct mmsghdr mm[4];
	struct iovec iov[4];
	char bufs[4][16];
	for (int i = 0; i < 4; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	struct timespec to = {.tv_sec = 0, .tv_nsec = 200000000};
	t0 = now();
	r = recvmmsg(u, mm, 4, 0, &to);
	printf("recvmmsg timeout, nothing: %s %d\n", r < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno), waited(t0));
	sendto(v, "one", 3, 0, (struct sockaddr *)&ua, sizeof ua);
	to = (struct timespec){.tv_sec = 0, .tv_nsec = 200000000};
	t0 = now();
	r = recvmmsg(u, mm, 4, 0, &to);
	printf("recvmmsg timeout, one: %d %d, left %d\n", r, waited(t0), to.tv_sec == 0 && to.tv_nsec < 50000000);

	/* epoll: data then end of file, read in one short read: the end of
	 * file is still reported; shutdown(SHUT_RD) with nothing left too. */
	{
		struct sockaddr_in sa2;
		int ln2 = listener(&sa2, 8);
		int s2, c2 = pair(ln2, &sa2, &s2);
		int ep2 = epoll_create1(0);
		struct epoll_event ev2 = {.events = EPOLLIN}, g2[2];
		epoll_ctl(ep2, EPOLL_CTL_ADD, c2, &ev2);
		send(s2, "xy", 2, MSG_NOSIGNAL);
		close(s2);
		int f1 = epoll_wait(ep2, g2, 2, 2000);
		ssize_t q1 = read(c2, buf, sizeof buf);
		int f2 = epoll_wait(ep2, g2, 2, 2000);
		ssize_t q2 = read(c2, buf, sizeof buf);
		int s3, c3 = pair(ln2, &sa2, &s3);
		epoll_ctl(ep2, EPOLL_CTL_DEL, c2, NULL); /* at end of file: ready for good */
		epoll_ctl(ep2, EPOLL_CTL_ADD, c3, &ev2);
		send(s3, "z", 1, MSG_NOSIGNAL);
		int f3 = epoll_wait(ep2, g2, 2, 2000);
		ssize_t q3 = read(c3, buf, sizeof buf);
		shutdown(c3, SHUT_RD);
		int f4 = epoll_wait(ep2, g2, 2, 2000);
		printf("epoll end of file: %d %zd %d %zd, shut: %d %zd %d\n", f1, q1, f2, q2, f3, q3, f4);
		close(c2);
		close(c3);
		close(s3);
		close(ln2);
		close(ep2);
	}

	/* AF_UNIX datagrams from an unbound sender have no address: the
	 * length written back is 0. */
	int ud = socket(AF_UNIX, SOCK_DGRAM, 0), us = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	strcpy(sun.sun_path + 1, "sockedge");
	socklen_t slen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen("sockedge");
	if (bind(ud, (struct sockaddr *)&sun, slen) < 0 || sendto(us, "hi", 2, 0, (struct sockaddr *)&sun, slen) != 2)
		return fail("unix datagram");
	struct sockaddr_un from;
	socklen_t fl = sizeof from;
	r = recvfrom(ud, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	printf("unix unbound sender: %d bytes, address length %d\n", r, (int)fl);
	set_timeo(ud, SO_RCVTIMEO, 200000);
	t0 = now();
	r = recv(ud, buf, sizeof buf, 0);
	printf("unix recv timeout: %s %d\n", r < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno), waited(t0));
	return 0;
}

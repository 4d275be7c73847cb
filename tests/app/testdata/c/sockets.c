/* Sockets from C (glibc, static): a TCP server and client on the
 * loopback address, poll on the listener, UDP, and an AF_UNIX
 * socketpair; one line per check. (Static glibc resolves names only
 * through DNS, so the address is numeric.) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
	perror(what);
	return 1;
}

int main(void) {
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
	if (getaddrinfo("127.0.0.1", "0", &hints, &ai) != 0)
		return fail("getaddrinfo");
	int ln = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (ln < 0 || setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return fail("socket");
	if (bind(ln, ai->ai_addr, ai->ai_addrlen) < 0 || listen(ln, 8) < 0)
		return fail("bind/listen");
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(ln, (struct sockaddr *)&sa, &len) < 0)
		return fail("getsockname");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, len) < 0)
		return fail("connect");
	struct pollfd p = {.fd = ln, .events = POLLIN};
	if (poll(&p, 1, 5000) != 1 || !(p.revents & POLLIN))
		return fail("poll");
	int s = accept4(ln, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return fail("accept4");
	if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		return fail("TCP_NODELAY");
	const char msg[] = "over TCP";
	char buf[64];
	if (send(c, msg, sizeof msg, 0) != sizeof msg || recv(s, buf, sizeof msg, MSG_WAITALL) != sizeof msg)
		return fail("send/recv");
	printf("tcp %s via %s\n", buf, inet_ntoa(sa.sin_addr));
	shutdown(c, SHUT_WR);
	if (read(s, buf, sizeof buf) != 0)
		return fail("end of file after shutdown");
	printf("tcp end of file\n");

	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	len = sizeof ua;
	if (bind(u, (struct sockaddr *)&ua, sizeof ua) < 0 || getsockname(u, (struct sockaddr *)&ua, &len) < 0)
		return fail("udp bind");
	if (sendto(v, "datagram", 9, 0, (struct sockaddr *)&ua, sizeof ua) != 9)
		return fail("sendto");
	struct sockaddr_in from;
	len = sizeof from;
	if (recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &len) != 9)
		return fail("recvfrom");
	printf("udp %s from 127.0.0.1: %d\n", buf, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || write(sv[0], "pair", 5) != 5 || read(sv[1], buf, sizeof buf) != 5)
		return fail("socketpair");
	printf("unix %s\n", buf);
	return 0;
}

package toolchain

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// Redis 7.0 from Debian's source package `redis` (the upstream tarball,
// unchanged), built with its own Makefile and runikraft-cc, then reached
// from the host through a port published with `runikraft run -p` (QEMU
// user networking, virtio-net, the kernel's TCP/IP stack). Only
// redis-server is built (the bundled Lua, hiredis, hdr_histogram and
// fpconv with it): that is what the test runs, and it keeps the build
// under two minutes on two cores. The make variables:
//   - MALLOC=libc: the bundled jemalloc would be the default on Linux; musl's
//     malloc needs no configure run of its own;
//   - USE_SYSTEMD=no, BUILD_TLS=no: no libsystemd or OpenSSL in the sysroot;
//   - AR and RANLIB: the cross binutils for the bundled libraries' archives
//     (the Makefiles default to the host's ar).
//
// Redis forks only to persist (BGSAVE, AOF rewrite): --save "" and
// --appendonly no leave it a single process with no fork.
func TestRedis(t *testing.T) {
	timed(t)
	need(t, "make", "make")
	src := harness.DebianSource(t, "redis")
	tc := toolchainEnv(t)
	step(t, src, 10*time.Minute, nil, "make", "-j2", "-C", "src", "redis-server",
		"MALLOC=libc", "USE_SYSTEMD=no", "BUILD_TLS=no", "CC=runikraft-cc", "AR="+tc["AR"], "RANLIB="+tc["RANLIB"])
	server := filepath.Join(src, "src", "redis-server")
	keep(t, "redis-server", server)

	r := run(t, nil, nil, server, "--version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Redis server v=7.0.") || !strings.Contains(r.Stdout, "malloc=libc") {
		t.Fatalf("redis-server --version: exit %d, stdout %q, stderr %q; want exit 0 and \"Redis server v=7.0.… malloc=libc\"", r.Code, r.Stdout, r.Stderr)
	}

	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	done := make(chan harness.Result, 1)
	go func() {
		done <- run(t, nil, []string{"-p", addr + ":6379"}, server,
			"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "notice")
	}()

	c := dialRedis(t, addr, done)
	defer c.Close()
	check := func(want string, args ...string) {
		t.Helper()
		got, err := c.do(args...)
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", strings.Join(args, " "), got, want)
		}
	}
	check("OK", "SET", "greeting", "hello from the host")
	check(`"hello from the host"`, "GET", "greeting")
	check("(nil)", "GET", "missing")
	check("1", "INCR", "counter")
	check("2", "INCR", "counter")
	check("42", "INCRBY", "counter", "40")
	check("(error) ERR value is not an integer or out of range", "INCR", "greeting")
	check("3", "LPUSH", "list", "a", "b", "c")
	check(`["c" "b" "a"]`, "LRANGE", "list", "0", "-1")
	check(`"a"`, "RPOP", "list")

	// A 256 KiB value (many segments each way, several reads for
	// Redis's query buffer), and a second client that sees the first
	// one's writes.
	big := strings.Repeat("0123456789abcdef", 1<<14) // 256 KiB
	check("OK", "SET", "big", big)
	c2 := dialRedis(t, addr, done)
	defer c2.Close()
	if got, err := c2.do("GET", "big"); err != nil || got != strconv.Quote(big) {
		t.Errorf("GET big from a second connection: %d bytes, error %v; want the %d bytes set", len(got), err, len(big)+2)
	}
	check("4", "DBSIZE")

	// SHUTDOWN NOSAVE answers nothing: the server closes the connection
	// and exits 0.
	if got, err := c.do("SHUTDOWN", "NOSAVE"); !errors.Is(err, io.EOF) {
		t.Errorf("SHUTDOWN NOSAVE: reply %q, error %v; want the connection closed", got, err)
	}
	select {
	case r := <-done:
		if r.Code != 0 || !strings.Contains(r.Stdout, "Ready to accept connections") || !strings.Contains(r.Stdout, "Redis is now ready to exit, bye bye...") {
			t.Errorf("redis-server: exit %d, stdout %q, stderr %q; want exit 0 after a log from start to shutdown", r.Code, r.Stdout, r.Stderr)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("redis-server did not exit within 2m of SHUTDOWN NOSAVE")
	}
}

// freePort is a TCP port on the host's loopback that nothing listens on
// (QEMU takes it right after: a tiny window another process could race).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisConn is a RESP2 client: enough of the protocol for the test.
type redisConn struct {
	net.Conn
	r *bufio.Reader
}

// dialRedis connects to the server in the guest once it answers PING.
// QEMU accepts on a published port before the guest listens (and then
// closes the connection), so a connection alone proves nothing: the
// PONG does. It gives up after 2 minutes, or when the run ends.
func dialRedis(t *testing.T, addr string, done <-chan harness.Result) *redisConn {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c := &redisConn{Conn: nc, r: bufio.NewReader(nc)}
			var pong string
			if pong, err = c.do("PING"); err == nil && pong == "PONG" {
				if attempt > 0 {
					t.Logf("redis-server answered PING after %d attempts", attempt+1)
				}
				return c
			}
			nc.Close()
			if err == nil {
				err = fmt.Errorf("PING answered %s", pong)
			}
		}
		last = err
		select {
		case r := <-done:
			t.Fatalf("redis-server ended before answering: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		case <-time.After(300 * time.Millisecond):
		}
	}
	t.Fatalf("redis-server did not answer PING at %s within 2m: %v", addr, last)
	return nil
}

// do sends one command and returns its reply in redis-cli's notation:
// OK, "bulk", (nil), 42, (error) MSG, [a b] for arrays.
func (c *redisConn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, b.String()); err != nil {
		return "", err
	}
	return c.reply(0)
}

// maxBulk bounds what the test reads from the guest in one reply.
const maxBulk = 1 << 20

func (c *redisConn) reply(depth int) (string, error) {
	if depth > 4 {
		return "", errors.New("reply nested too deep")
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line == "" {
			return "", io.EOF
		}
		return "", fmt.Errorf("reading a reply: %w (got %q)", err, line)
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("malformed reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return "(error) " + body, nil
	case ':':
		if _, err := strconv.ParseInt(body, 10, 64); err != nil {
			return "", fmt.Errorf("integer reply %q: %v", body, err)
		}
		return body, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxBulk {
			return "", fmt.Errorf("bulk length %q out of range", body)
		}
		if n == -1 {
			return "(nil)", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", fmt.Errorf("reading %d bulk bytes: %w", n, err)
		}
		if string(buf[n:]) != "\r\n" {
			return "", errors.New("bulk string not ended by CRLF")
		}
		return strconv.Quote(string(buf[:n])), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 1024 {
			return "", fmt.Errorf("array length %q out of range", body)
		}
		if n == -1 {
			return "(nil)", nil
		}
		items := make([]string, 0, n)
		for i := 0; i < n; i++ {
			s, err := c.reply(depth + 1)
			if err != nil {
				return "", err
			}
			items = append(items, s)
		}
		return "[" + strings.Join(items, " ") + "]", nil
	}
	return "", fmt.Errorf("unknown reply type in %q", line)
}

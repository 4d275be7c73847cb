package toolchain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/syncbuf"
	"github.com/runikraft/runikraft/tests/harness"
)

// nginxConf is the whole configuration: one process (no daemon, no
// master, so no fork), the error log on stderr where the test reads it,
// no access log, sendfile on (the kernel's sendfile from a file to a
// socket), and one server on port 8080 with the static tree at /www.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
error_log stderr info;
pid /run/nginx.pid;
events { worker_connections 64; }
http {
    include mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 60;
    server {
        listen 8080;
        root /www;
    }
}
`

// TestNginx builds nginx from Debian's source package `nginx` (the
// upstream tarball, unchanged) with its own configure and make, CC being
// runikraft-cc, bakes a static tree and a configuration into the image
// and serves it to the host through `runikraft run -p`: a 1 KiB file's
// exact bytes with 200, a 404 for a missing file, and both answered on one
// kept-alive connection.
//
// nginx's configure is not autoconf: it runs its test programs (type
// sizes, features) directly and has no cross-compilation cache to give
// them answers, so it needs binfmt_misc to run riscv64 programs with
// runikraft (install.sh registers it); without it the test is skipped.
// The rewrite and gzip modules are left out (they need PCRE and zlib);
// nothing else is changed. The final link is made again with the tree
// baked in: make's LINK (the $(CC) that links objs/nginx) becomes
// runikraft-cc with --rootfs and the default arguments (-e stderr: the
// error log nginx opens before it reads its configuration).
func TestNginx(t *testing.T) {
	timed(t)
	need(t, "make", "make")
	if !binfmt() {
		t.Skip("nginx's configure runs its test programs and takes no cross-compilation answers: it needs the binfmt_misc entry install.sh registers")
	}
	src := harness.DebianSource(t, "nginx")
	root, page, big := nginxRoot(t, src)

	step(t, src, 10*time.Minute, nil, "./configure", "--with-cc=runikraft-cc",
		"--without-http_rewrite_module", "--without-http_gzip_module", "--without-pcre",
		"--prefix=/", "--conf-path=/etc/nginx/nginx.conf", "--pid-path=/run/nginx.pid")
	link := "LINK=runikraft-cc --rootfs=" + root + " --arg=-e --arg=stderr"
	if strings.ContainsAny(root, " \t'\"\\$") {
		t.Fatalf("the rootfs path %q would be split by make's shell", root)
	}
	step(t, src, 10*time.Minute, nil, "make", "-j2", link)
	image := filepath.Join(src, "objs", "nginx")
	keep(t, "nginx", image)

	srv := startPublished(t, image, 8080)
	base := fmt.Sprintf("http://127.0.0.1:%d", srv.port)

	// Every request below goes through one Transport that counts the
	// connections it opens: keep-alive means one for all four.
	var dials atomic.Int32
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
		},
		MaxConnsPerHost:       1,
		ResponseHeaderTimeout: 20 * time.Second,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var reused []bool
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v\nnginx's stderr:\n%s", path, err, srv.stderr())
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			t.Fatalf("GET %s: reading the body: %v", path, err)
		}
		t.Logf("GET %s: %s, %d bytes, Server %q, Connection %q", path, resp.Status, len(body), resp.Header.Get("Server"), resp.Header.Get("Connection"))
		return resp, body
	}

	resp, body := get("/1k.bin")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, page) {
		t.Errorf("GET /1k.bin: %s, %d bytes (equal to the file: %v); want 200 OK and the file's %d bytes", resp.Status, len(body), bytes.Equal(body, page), len(page))
	}
	if resp.ContentLength != int64(len(page)) || !strings.HasPrefix(resp.Header.Get("Server"), "nginx/") {
		t.Errorf("GET /1k.bin: Content-Length %d, Server %q; want %d and nginx", resp.ContentLength, resp.Header.Get("Server"), len(page))
	}
	resp, _ = get("/missing.html")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /missing.html: %s; want 404 Not Found", resp.Status)
	}
	resp, body = get("/1k.bin")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, page) {
		t.Errorf("GET /1k.bin again: %s, %d bytes; want 200 OK and the file", resp.Status, len(body))
	}
	// 1 MiB: more than a socket's send buffer, so nginx's sendfile on its
	// non-blocking socket writes part, waits in epoll, and goes on.
	resp, body = get("/1m.bin")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, big) {
		t.Errorf("GET /1m.bin: %s, %d bytes (equal to the file: %v); want 200 OK and the file's %d bytes", resp.Status, len(body), bytes.Equal(body, big), len(big))
	}
	if n := dials.Load(); n != 1 || fmt.Sprint(reused) != "[false true true true]" {
		t.Errorf("four requests opened %d connections (reused: %v); want one connection kept alive", n, reused)
	}

	// Eight clients at once, each on its own connection: one process
	// serves them all from its epoll loop.
	const clients = 8
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func() {
			c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := c.Get(base + "/1m.bin")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			switch {
			case err != nil:
				errs <- err
			case resp.StatusCode != http.StatusOK || !bytes.Equal(body, big):
				errs <- fmt.Errorf("%s, %d bytes, equal to the file: %v", resp.Status, len(body), bytes.Equal(body, big))
			default:
				errs <- nil
			}
		}()
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Errorf("one of %d concurrent GET /1m.bin: %v", clients, err)
		}
	}

	log := srv.stop()
	for _, want := range []string{`using the "epoll" event method`, `open() "/www/missing.html" failed (2: No such file or directory)`} {
		if !strings.Contains(log, want) {
			t.Errorf("nginx's error log lacks %q:\n%s", want, log)
		}
	}
	for _, bad := range []string{"[emerg]", "[alert]", "[crit]"} {
		if strings.Contains(log, bad) {
			t.Errorf("nginx's error log has %s lines:\n%s", bad, log)
		}
	}
}

// nginxRoot writes the root filesystem nginx is baked with: its
// configuration, the mime.types of its own source, the passwd and group
// files it looks up its default user (nobody) and group (nogroup) in, the
// directories it writes to, and the static tree (/www/1k.bin, whose bytes
// it returns, /www/1m.bin and /www/index.html).
func nginxRoot(t *testing.T, src string) (root string, page, big []byte) {
	t.Helper()
	root = t.TempDir()
	page = make([]byte, 1024)
	for i := range page {
		page[i] = byte(i*131 ^ i>>3) // every byte value, no two neighbours alike
	}
	big = make([]byte, 1<<20)
	x := uint32(2463534242)
	for i := range big {
		x ^= x << 13 // xorshift: no period a misplaced block could hide in
		x ^= x >> 17
		x ^= x << 5
		big[i] = byte(x >> 24)
	}
	mime, err := os.ReadFile(filepath.Join(src, "conf", "mime.types"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"etc/nginx/nginx.conf": []byte(nginxConf),
		"etc/nginx/mime.types": mime,
		"etc/passwd":           []byte("root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		"etc/group":            []byte("root:x:0:\nnogroup:x:65534:\n"),
		"www/1k.bin":           page,
		"www/1m.bin":           big,
		"www/index.html":       []byte("<p>nginx on Runikraft</p>\n"),
		"run/.keep":            nil,
		"logs/.keep":           nil,
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, page, big
}

// published is an image running under `runikraft run -p` in the background.
type published struct {
	t    *testing.T
	cmd  *exec.Cmd
	port int
	out  *syncbuf.Buffer // stdout and stderr
	done chan struct{}   // closed when runikraft run has ended
	err  error           // how it ended, once done is closed
}

// startPublished boots image with its guestPort published on a free port of
// the host's loopback and waits (at most 2 minutes) until an HTTP request
// gets an answer from it. The server is killed when the test ends.
func startPublished(t *testing.T, image string, guestPort int) *published {
	t.Helper()
	port := loopbackPort(t)
	s := &published{t: t, port: port, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(runikraft, "run", "--timeout", "4m", "-p", fmt.Sprintf("127.0.0.1:%d:%d", port, guestPort), image)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.WaitDelay = 10 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop() })

	// QEMU accepts on the host port before the guest listens (and then
	// drops the connection): ready is the first HTTP answer.
	probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		select {
		case <-s.done:
			t.Fatalf("%s ended before it served: %v\n%s", filepath.Base(image), s.err, s.out.String())
		default:
		}
		resp, err := probe.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			resp.Body.Close()
			t.Logf("%s answers on 127.0.0.1:%d after %v (%d probes)", filepath.Base(image), port, time.Since(start).Round(time.Millisecond), attempt+1)
			return s
		}
		if time.Since(start) > 2*time.Minute || attempt > 600 {
			t.Fatalf("%s did not answer on 127.0.0.1:%d within %v: %v\n%s", filepath.Base(image), port, time.Since(start).Round(time.Second), err, s.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stderr is what the server printed so far.
func (s *published) stderr() string { return s.out.String() }

// stop kills the server (a server does not end by itself) and returns
// what it printed.
func (s *published) stop() string {
	select {
	case <-s.done:
		return s.out.String()
	default:
	}
	_ = s.cmd.Process.Kill() // it may have ended in between: nothing to kill then
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Errorf("runikraft run did not end within 30s of being killed")
	}
	return s.out.String()
}

// loopbackPort returns a TCP port that was free on the host's loopback a
// moment ago.
func loopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Package app runs real static riscv64 Linux programs (Go, and C on
// glibc from Debian's cross gcc) with runikraft run on the stock kernel
// in QEMU, and checks their output and exit status.
package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string                // the CLI, next to runikraft-kernel.img
	programs  = map[string]string{} // name → built program
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	if runikraft, err = harness.Tools(dir); err != nil {
		return err
	}
	programs["goapp"] = filepath.Join(dir, "goapp")
	if err := harness.BuildGo(programs["goapp"], "./testdata/goapp"); err != nil {
		return err
	}
	programs["gonet"] = filepath.Join(dir, "gonet")
	if err := harness.BuildGo(programs["gonet"], "./testdata/gonet"); err != nil {
		return err
	}
	for _, name := range []string{"hello", "threads", "malloc", "timers", "output", "sockets", "sockedge", "syscalls"} {
		out := filepath.Join(dir, "c-"+name)
		if err := harness.BuildC(out, filepath.Join("testdata", "c", name+".c"), "-static", "-pthread"); err != nil {
			return err
		}
		programs["c-"+name] = out
	}
	return nil
}

type result = harness.Result

// run boots program with runikraft run; flags go before the program.
func run(t *testing.T, flags []string, program string, args ...string) result {
	t.Helper()
	path, ok := programs[program]
	if !ok {
		t.Fatalf("no program %q", program)
	}
	return harness.Run(t, runikraft, flags, path, args...)
}

var expect = harness.Expect

func TestGoArgsAndEnv(t *testing.T) {
	r := run(t, []string{"-e", "RK_B=two words", "-e", "RK_A=1"}, "goapp", "args", "x y", "", "ü\t")
	expect(t, r, 0, "args=[\"x y\" \"\" \"ü\\t\"] env=[\"RK_A=1\" \"RK_B=two words\"]\n")
}

func TestGoExitStatus(t *testing.T) {
	expect(t, run(t, nil, "goapp", "exit"), 7, "exiting 7\n")
}

func TestGoPanic(t *testing.T) {
	r := run(t, nil, "goapp", "panic")
	if r.Code != 2 || !strings.Contains(r.Stderr, "panic: assignment to entry in nil map") || !strings.Contains(r.Stderr, "main.main()") {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// A nil dereference is a page fault, delivered as SIGSEGV to Go's
// handler, which turns it into a panic that recover catches.
func TestGoNilDereferenceRecovered(t *testing.T) {
	expect(t, run(t, nil, "goapp", "nil"), 0, "recovered: runtime error: invalid memory address or nil pointer dereference\n")
}

func TestGoGoroutinesAndTimers(t *testing.T) {
	expect(t, run(t, nil, "goapp", "goroutines"), 0, "sum=328350 ticks>=10:true threads>1:true\n")
}

// AF_UNIX sockets through Go's net package (the netpoller's epoll),
// datagrams, and a descriptor passed with SCM_RIGHTS.
func TestGoUnixSockets(t *testing.T) {
	expect(t, run(t, nil, "gonet", "unixsock"), 0, "stream /tmp/goapp.sock: echo HELLO /TMP/GOAPP.SOCK\n"+
		"stream @goapp-abstract: echo HELLO @GOAPP-ABSTRACT\n"+
		"datagram: one datagram\n"+
		"rights: through the passed descriptor\n")
}

// TCP and UDP on the loopback addresses and an HTTP round trip inside
// the guest: runikraft run picks the kernel with the TCP/IP stack for a
// program that uses sockets.
func TestGoTCPLoopback(t *testing.T) {
	expect(t, run(t, nil, "gonet", "tcp"), 0, "tcp4 echo: 262144 bytes\ntcp6 echo: 262144 bytes\nhttp: 200 hello from /unikernel\nudp: datagram\n")
}

// A C program (static glibc) uses TCP, UDP and AF_UNIX sockets and poll.
func TestCSockets(t *testing.T) {
	expect(t, run(t, nil, "c-sockets"), 0, "tcp over TCP via 127.0.0.1\ntcp end of file\nudp datagram from 127.0.0.1: 1\nunix pair\n")
}

// Socket edge cases from C, each bounded: SO_RCVTIMEO/SO_SNDTIMEO on
// accept, recv, send and connect (EINPROGRESS), recvmmsg's timeout, a
// peer that never reads (EAGAIN, a blocked writer woken by the close),
// half-open and reset connections, listen backlog overflow, zero-length
// datagram reads and an unbound AF_UNIX sender's empty address.
func TestCSocketEdges(t *testing.T) {
	expect(t, run(t, nil, "c-sockedge"), 0, "accept timeout: EAGAIN 1\n"+
		"SO_RCVTIMEO reads back 0.200000\n"+
		"recv timeout: EAGAIN 1\n"+
		"recv with data: 1\n"+
		"tcp read/write: bad write EFAULT, bad read EFAULT, readv 6 abcdef, writev 4 read 4 ghij\n"+
		"epoll after reads: 1 1 0 1 1\n"+
		"non-blocking send fills: EAGAIN 1 after >0 bytes 1\n"+
		"send timeout: EAGAIN 1\n"+
		"blocked writer woken by close: ECONNRESET/EPIPE\n"+
		"half-open: eof 1, answer 6/6\n"+
		"reset: recv ECONNRESET, send EPIPE\n"+
		"connect timeout: EINPROGRESS 1\n"+
		"backlog overflow: accepted some 1, served after 1\n"+
		"udp zero-length read: 0, then 6\n"+
		"recvmmsg timeout, nothing: EAGAIN 1\n"+
		"recvmmsg timeout, one: 1 1, left 1\n"+
		"epoll end of file: 1 2 1 0, shut: 1 1 1\n"+
		"unix unbound sender: 2 bytes, address length 0\n"+
		"unix recv timeout: EAGAIN 1\n")
}

// net.Interfaces reads the interfaces and addresses over netlink.
func TestGoInterfaces(t *testing.T) {
	expect(t, run(t, nil, "gonet", "ifaces"), 0, "lo true [127.0.0.1/8 ::1/128]\n")
}

// A Go HTTP server in the unikernel answers the host through a port
// published with -p (QEMU user networking, virtio-net).
func TestGoHTTPServerPublished(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	done := make(chan result, 1)
	go func() {
		done <- run(t, []string{"--timeout", "3m", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port)}, "gonet", "serve", "8080")
	}()
	get := func(path string) (string, error) {
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b), err
	}
	var body string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		body, err = get("/from-the-host")
		if err == nil || time.Now().After(deadline) {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the server ended before answering: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		case <-time.After(300 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("GET through the published port: %v", err)
	}
	if want := "200 served /from-the-host by a Runikraft unikernel\n"; body != want {
		t.Errorf("GET gave %q, want %q", body, want)
	}
	if _, err := get("/quit"); err != nil {
		t.Errorf("GET /quit: %v", err)
	}
	select {
	case r := <-done:
		expect(t, r, 0, "listening on [::]:8080\n")
	case <-time.After(3 * time.Minute):
		t.Fatal("the server did not exit after /quit")
	}
}

func TestGoChurnsFourTimesMemory(t *testing.T) {
	r := run(t, []string{"-m", "64M"}, "goapp", "churn")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "churned 256 MiB") {
		t.Fatalf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

// A goroutine in a tight loop is preempted with SIGURG.
func TestGoSpinDoesNotStarve(t *testing.T) {
	expect(t, run(t, nil, "goapp", "spin"), 0, "not starved\n")
}

func TestCHello(t *testing.T) {
	expect(t, run(t, []string{"-e", "RK_C=yes"}, "c-hello", "x", "5"), 5, "hello from C, argc=3 [x] [5] env=yes\n")
}

func TestCThreads(t *testing.T) {
	expect(t, run(t, nil, "c-threads"), 0, "counter=1600 joined=280\n")
}

func TestCMallocChurn(t *testing.T) {
	expect(t, run(t, nil, "c-malloc"), 0, "malloc churn ok\n")
}

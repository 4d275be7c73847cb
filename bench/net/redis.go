package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// benchRedis builds redis-server through tests/toolchain (the one place
// that knows how: Debian's source, runikraft-cc), boots it with
// bin/runikraft and a published port, and drives it from the host with
// Debian's redis-benchmark (package redis-tools): GET and SET, n
// requests each over conns connections. It prints requests per second
// and latency percentiles from redis-benchmark's CSV output.
//
// conns defaults to 16, not redis-benchmark's 50: QEMU's user network
// listens on a published port with a backlog of 1 (ss -tln shows it), so
// a burst of 50 connects from the host overflows it; the host kernel
// then drops the handshake's last ACK and the clients' first requests
// wait in retransmission backoff (seen: 23 of 50 connections with their
// first 45-byte SET unacknowledged for over 20 s, the guest idle). That
// measures QEMU's listener, not the guest, and would hit a Linux guest
// behind the same forward the same way.
// There is no Linux guest column yet: the Linux guest baseline does not
// exist in the repository.
func benchRedis(ctx context.Context, dir string, n, conns int) error {
	rb, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return errors.New("redis-benchmark missing: run ./install.sh (Debian package redis-tools)")
	}
	cli, err := filepath.Abs(filepath.Join("bin", "runikraft"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(cli); err != nil {
		return fmt.Errorf("%s missing (run ./install.sh): %w", cli, err)
	}
	keep := filepath.Join(dir, "apps")
	if err := os.MkdirAll(keep, 0o755); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: building redis-server through tests/toolchain (about two minutes)")
	build := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout", "20m", "-run", "^TestRedis$", "./tests/toolchain/")
	build.Env = append(os.Environ(), "RUNIKRAFT_KEEP_IMAGES="+keep)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building redis-server: %v\n%s", err, out)
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var guestOut bytes.Buffer
	srv := exec.CommandContext(ctx, cli, "run", "--timeout", "10m", "-p", addr+":6379", filepath.Join(keep, "redis-server"),
		"--save", "", "--appendonly", "no", "--protected-mode", "no")
	srv.Stdout, srv.Stderr = &guestOut, &guestOut
	if err := srv.Start(); err != nil {
		return err
	}
	// srv.Wait's result goes to exited once; waited records that
	// something took it, so the deferred clean-up never waits twice.
	exited := make(chan error, 1)
	waited := false
	go func() { exited <- srv.Wait() }()
	defer func() {
		if !waited {
			srv.Process.Kill()
			<-exited
		}
	}()
	if err := redisPing(addr, exited, &waited); err != nil {
		return fmt.Errorf("%w; guest output:\n%s", err, guestOut.String())
	}

	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	bench := exec.CommandContext(bctx, rb, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "get,set", "-n", strconv.Itoa(n), "-c", strconv.Itoa(conns), "--csv")
	var stderr bytes.Buffer
	bench.Stderr = &stderr
	start := time.Now()
	out, err := bench.Output()
	took := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %v after %v\n%s%s", strings.Join(bench.Args, " "), err, took.Round(time.Millisecond), out, stderr.Bytes())
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		return fmt.Errorf("redis-benchmark --csv printed %q: %v", out, err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"test", "rps", "p50_latency_ms", "p99_latency_ms"} {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("redis-benchmark --csv has no %q column: %q", name, rows[0])
		}
	}

	fmt.Printf("Redis 7.0 (redis-server in the guest, -p %s:6379; host redis-benchmark -t get,set -n %d -c %d: %v)\n", addr, n, conns, took.Round(time.Millisecond))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "test\tRunikraft req/s\tp50 ms\tp99 ms\tLinux guest req/s\t")
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			return fmt.Errorf("redis-benchmark --csv row %q", r)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", r[col["test"]], r[col["rps"]], r[col["p50_latency_ms"]], r[col["p99_latency_ms"]], "n/a")
	}
	w.Flush()

	// SHUTDOWN NOSAVE: no reply, the server exits and so does the run.
	if c, err := net.DialTimeout("tcp", addr, 10*time.Second); err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "SHUTDOWN NOSAVE\r\n")
		io.Copy(io.Discard, io.LimitReader(c, 4096))
		c.Close()
	}
	select {
	case err := <-exited:
		waited = true
		if err != nil {
			return fmt.Errorf("redis-server run: %v; guest output:\n%s", err, guestOut.String())
		}
	case <-time.After(time.Minute):
		return errors.New("redis-server did not exit within 1m of SHUTDOWN NOSAVE")
	}
	return nil
}

// redisPing waits (2 minutes at most) until the server answers PING:
// QEMU accepts on a published port before the guest listens.
func redisPing(addr string, exited <-chan error, waited *bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = io.WriteString(c, "PING\r\n")
			var line string
			if err == nil {
				line, err = bufio.NewReader(io.LimitReader(c, 512)).ReadString('\n')
			}
			c.Close()
			if err == nil && line == "+PONG\r\n" {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("PING answered %q", line)
			}
		}
		last = err
		select {
		case err := <-exited:
			*waited = true
			return fmt.Errorf("redis-server ended before answering PING: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("redis-server did not answer PING at %s within 2m: %v", addr, last)
}

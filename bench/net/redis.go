package main

import (
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

	"github.com/runikraft/runikraft/bench/internal/appbuild"
	"github.com/runikraft/runikraft/bench/internal/hostfwd"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/qemucpu"
	"github.com/runikraft/runikraft/bench/internal/redisping"
	"github.com/runikraft/runikraft/bench/internal/rounds"
	"github.com/runikraft/runikraft/internal/appimage"
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
// a burst of connects from the host overflows it; the host kernel then
// drops the handshake's last ACK and the clients' first requests wait in
// retransmission backoff (seen: 23 of 50 connections with their first
// 45-byte SET unacknowledged for over 20 s, the guest idle). That
// measures QEMU's listener, not the guest, and hits a Linux guest behind
// the same forward the same way. Even 16 connects stalled a test for
// seconds in about one run in three (2026-12-05: a capture of the guest's
// frames showed no packet at all in the gaps), so redisRun now also
// widens the forward's listen queue to 128 (bench/internal/hostfwd).
// With g, the same redis-server program (taken out of the baked image)
// then runs in the Linux guest behind the same kind of forward and gets
// the same load.
// With image (one TestRedis kept with RUNIKRAFT_KEEP_IMAGES), that image
// is measured instead of a new build. It does so nRounds times,
// alternating which guest goes first, prints each round's table and
// returns the SET and GET rates.
func benchRedis(ctx context.Context, dir, image string, n, conns, nRounds int, g *linuxguest.Guest) ([]rounds.Series, error) {
	rb, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return nil, errors.New("redis-benchmark missing: run ./install.sh (Debian package redis-tools)")
	}
	cli, err := filepath.Abs(filepath.Join("bin", "runikraft"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("%s missing (run ./install.sh): %w", cli, err)
	}
	if image == "" {
		keep := filepath.Join(dir, "apps")
		fmt.Fprintln(os.Stderr, "bench: building redis-server through tests/toolchain (about two minutes)")
		if err := appbuild.Build(ctx, keep, "^TestRedis$", "redis-server", 20*time.Minute); err != nil {
			return nil, err
		}
		image = filepath.Join(keep, "redis-server")
	}

	wrapper, err := qemucpu.Wrapper(dir)
	if err != nil {
		return nil, err
	}
	runRK := func() (map[string][]string, error) {
		return redisRun(ctx, rb, n, conns, func(addr string) (server, error) {
			cmd := exec.CommandContext(ctx, cli, "run", "--qemu", wrapper, "--cpus", "1", "--timeout", "10m", "-p", addr+":6379", image,
				"--save", "", "--appendonly", "no", "--protected-mode", "no")
			s := &cmdServer{cmd: cmd}
			cmd.Stdout, cmd.Stderr = &s.out, &s.out
			return s, cmd.Start()
		})
	}
	var runLG func() (map[string][]string, error)
	if g != nil {
		// The same program in the Linux guest: the baked image carries it.
		info, err := appimage.Read(image)
		if err != nil {
			return nil, err
		}
		if info.Rootfs {
			return nil, errors.New("redis-server image carries a root filesystem, not the program alone")
		}
		prog := filepath.Join(dir, "redis-server.app")
		if err := os.WriteFile(prog, info.Initrd, 0o755); err != nil {
			return nil, err
		}
		runLG = func() (map[string][]string, error) {
			lg, err := redisRun(ctx, rb, n, conns, func(addr string) (server, error) {
				p, err := g.Start(ctx, prog, []string{"--save", "", "--appendonly", "no", "--protected-mode", "no"}, nil,
					linuxguest.RunOptions{Mem: "256M", Forwards: []string{"tcp:" + addr + "-:6379"}, Timeout: 10 * time.Minute,
						QEMUArgs: qemucpu.Args})
				if err != nil {
					return nil, err
				}
				return &guestServer{p: p}, nil
			})
			if err != nil {
				return nil, fmt.Errorf("linux guest: %w", err)
			}
			return lg, nil
		}
	}
	series := []rounds.Series{{Name: "Redis SET req/s"}, {Name: "Redis GET req/s"}}
	for round := range max(nRounds, 1) {
		var rk, lg map[string][]string
		var err error
		if rounds.Order(round) {
			if rk, err = runRK(); err == nil && runLG != nil {
				lg, err = runLG()
			}
		} else {
			if runLG != nil {
				lg, err = runLG()
			}
			if err == nil {
				rk, err = runRK()
			}
		}
		if err != nil {
			return nil, err
		}
		title := ""
		if nRounds > 1 {
			title = fmt.Sprintf(", round %d of %d", round+1, nRounds)
		}
		if err := redisTable(rk, lg, n, conns, title); err != nil {
			return nil, err
		}
		for i, test := range []string{"SET", "GET"} {
			a, _ := strconv.ParseFloat(rk[test][0], 64)
			b := 0.0
			if lg[test] != nil {
				b, _ = strconv.ParseFloat(lg[test][0], 64)
			}
			series[i].RK = append(series[i].RK, a)
			series[i].LG = append(series[i].LG, b)
		}
		fmt.Println()
	}
	return series, nil
}

// redisTable prints one round's rows: rates and latencies of both guests
// (lg may be nil) and QEMU's CPU per request.
func redisTable(rk, lg map[string][]string, n, conns int, title string) error {
	fmt.Printf("Redis 7.0 (redis-server in the guest behind QEMU's user-network forward; host redis-benchmark -t get,set -n %d -c %d)%s\n", n, conns, title)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "test\tRunikraft req/s\tp50 ms\tp99 ms\tLinux guest req/s\tp50 ms\tp99 ms\trunikraft/linux req/s\t")
	for _, test := range []string{"SET", "GET"} {
		r := rk[test]
		if r == nil {
			return fmt.Errorf("redis-benchmark printed no %s row", test)
		}
		l := []string{"n/a", "n/a", "n/a"}
		ratio := "-"
		if lg[test] != nil {
			l = lg[test]
			a, err1 := strconv.ParseFloat(r[0], 64)
			b, err2 := strconv.ParseFloat(l[0], 64)
			if err1 == nil && err2 == nil && b > 0 {
				ratio = fmt.Sprintf("%.2fx", a/b)
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", test, r[0], r[1], r[2], l[0], l[1], l[2], ratio)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if c := rk["cpu"]; c != nil {
		l := "n/a"
		if lg["cpu"] != nil {
			l = lg["cpu"][0]
		}
		fmt.Printf("QEMU CPU per request, µs (vCPU thread / main loop: user network and device back-ends / other threads): Runikraft %s, Linux guest %s\n", c[0], l)
	}
	return nil
}

// redisRun starts a redis-server through start (given the host address
// to publish on), waits until it answers PING, drives it with
// redis-benchmark, shuts it down and waits for the run to end. It returns
// rps, p50 and p99 (ms) by test name.
func redisRun(ctx context.Context, rb string, n, conns int, start func(addr string) (server, error)) (map[string][]string, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := start(addr)
	if err != nil {
		return nil, err
	}
	// srv.Wait's result goes to exited once; waited records that
	// something took it, so the deferred clean-up never waits twice.
	exited := make(chan error, 1)
	waited := false
	go func() { exited <- srv.Wait() }()
	defer func() {
		if !waited {
			srv.Kill()
			<-exited
		}
	}()
	if err := redisPing(addr, exited, &waited); err != nil {
		return nil, fmt.Errorf("%w; guest output:\n%s", err, srv.Output())
	}

	// QEMU's CPU time over the load, split by thread (qemucpu).
	var cpuBefore qemucpu.Times
	pid, err := srv.PID()
	if err == nil {
		// The forward's listen queue of 1 would make the test's burst of
		// connects stall at random (see bench/internal/hostfwd).
		if werr := hostfwd.Widen(pid, port, 128); werr != nil {
			fmt.Fprintln(os.Stderr, "bench: the forward keeps its listen queue of 1 (runs may stall):", werr)
		}
	}
	// A warm-up, as the HTTP loads have one (a second): SET and GET
	// before the measured run, so that neither guest's first test pays
	// alone for its code's first run (under TCG, translation).
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	warm := exec.CommandContext(wctx, rb, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "get,set", "-n", strconv.Itoa(min(n, 2000)), "-c", strconv.Itoa(conns), "-q")
	if out, werr := warm.CombinedOutput(); werr != nil {
		wcancel()
		return nil, fmt.Errorf("warm-up %s: %v\n%s", strings.Join(warm.Args, " "), werr, out)
	}
	wcancel()
	if err == nil {
		cpuBefore, err = qemucpu.Read(pid)
	}
	if err != nil {
		pid = 0
	}

	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	bench := exec.CommandContext(bctx, rb, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "get,set", "-n", strconv.Itoa(n), "-c", strconv.Itoa(conns), "--csv")
	var stderr bytes.Buffer
	bench.Stderr = &stderr
	t0 := time.Now()
	out, err := bench.Output()
	took := time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("%s: %v after %v\n%s%s", strings.Join(bench.Args, " "), err, took.Round(time.Millisecond), out, stderr.Bytes())
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("redis-benchmark --csv printed %q: %v", out, err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"test", "rps", "p50_latency_ms", "p99_latency_ms"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("redis-benchmark --csv has no %q column: %q", name, rows[0])
		}
	}
	res := map[string][]string{}
	if pid != 0 {
		if after, err := qemucpu.Read(pid); err == nil {
			res["cpu"] = []string{after.Sub(cpuBefore).PerOp(int64(2 * n))}
		}
	}
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("redis-benchmark --csv row %q", r)
		}
		res[r[col["test"]]] = []string{r[col["rps"]], r[col["p50_latency_ms"]], r[col["p99_latency_ms"]]}
	}

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
			return nil, fmt.Errorf("redis-server run: %v; guest output:\n%s", err, srv.Output())
		}
	case <-time.After(time.Minute):
		return nil, errors.New("redis-server did not exit within 1m of SHUTDOWN NOSAVE")
	}
	return res, nil
}

// server is a redis-server run in progress, in either guest.
type server interface {
	PID() (int, error) // QEMU's process id
	Wait() error       // nil when the run ended with status 0
	Kill()             // ends the VM
	Output() string    // what it printed so far (after Wait: all of it)
}

type cmdServer struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func (s *cmdServer) PID() (int, error) { return qemucpu.ChildQEMU(s.cmd.Process.Pid) }
func (s *cmdServer) Wait() error       { return s.cmd.Wait() }
func (s *cmdServer) Kill()             { s.cmd.Process.Kill() }
func (s *cmdServer) Output() string    { return s.out.String() }

type guestServer struct {
	p   *linuxguest.Process
	res *linuxguest.Result
}

func (s *guestServer) Wait() error {
	res, err := s.p.Wait()
	s.res = res
	if err == nil && res.Status != 0 {
		err = fmt.Errorf("exit status %d", res.Status)
	}
	return err
}
func (s *guestServer) Kill()             { s.p.Kill() }
func (s *guestServer) PID() (int, error) { return s.p.PID(), nil }
func (s *guestServer) Output() string {
	if s.res == nil {
		return "(running)"
	}
	return string(s.res.Console)
}

// redisPing waits (2 minutes at most) until the server answers PING:
// QEMU accepts on a published port before the guest listens.
func redisPing(addr string, exited <-chan error, waited *bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		last = redisping.Ping(addr)
		if last == nil {
			return nil
		}
		select {
		case err := <-exited:
			*waited = true
			return fmt.Errorf("redis-server ended before answering PING: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("redis-server did not answer PING at %s within 2m: %v", addr, last)
}

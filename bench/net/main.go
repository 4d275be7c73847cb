// Command net measures what the network stack costs a kernel image and
// whether an idle networked kernel keeps the host CPU idle:
//
//	go run ./bench/net [-idle 3s]
//
// It builds bench/net/kernels/base and withnet (the same program with and
// without kernel/net) and prints their sizes, then boots the net test
// kernel (tests/boot/kernels/net) on QEMU user networking and reads
// QEMU's CPU time from /proc/PID/stat over -idle while the kernel is
// an idle server (listening, nothing connected) and again while it
// sleeps after the exchange, and times the exchange (1 MB from the host
// to the guest). The interrupt-driven driver should leave
// both near 0% of a core (-servers-only skips these). Unless -go=false, it
// then loads a Go net/http server (httpserver, gohttp.go) from the host
// with kept-alive HTTP connections. Unless -redis=false, it then builds Redis from
// Debian's source through tests/toolchain and prints what Debian's
// redis-benchmark on the host gets from it through -p (redis.go), next to
// the same program in the Linux guest (bench/internal/linuxguest) behind
// the same kind of forward, unless -linux=false; the Go server likewise.
package main

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"flag"
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

	"github.com/runikraft/runikraft/bench/internal/httpload"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/rounds"
	"github.com/runikraft/runikraft/internal/kbuild"
)

func main() {
	idle := flag.Duration("idle", 3*time.Second, "how long to sample QEMU's CPU use in each idle phase")
	redis := flag.Bool("redis", true, "also build Redis and measure it with redis-benchmark -t get,set")
	redisN := flag.Int("redis-n", 20000, "requests per redis-benchmark test")
	linux := flag.Bool("linux", true, "run redis-server in the Linux guest too (builds it once, about 10-15 minutes)")
	redisC := flag.Int("redis-c", 16, "redis-benchmark connections (QEMU's forward listens with a backlog of 1: see redis.go)")
	goSrv := flag.Bool("go", true, "also measure a Go net/http server (bench/net/httpserver) under a closed-loop HTTP load")
	goConns := flag.Int("go-conns", 16, "kept-alive connections to the Go server (1-64)")
	goDur := flag.Duration("go-duration", 10*time.Second, "how long to load the Go server (1s-5m)")
	redisImage := flag.String("redis-image", "", "measure this redis-server image (one TestRedis kept with RUNIKRAFT_KEEP_IMAGES) instead of building one")
	only := flag.Bool("servers-only", false, "skip the image sizes and the idle-CPU phase")
	client := flag.String("client", "wrk", "the Go server's load: wrk (Debian's, on the host) or go (Go's HTTP client in this process)")
	nRounds := flag.Int("rounds", 3, "rounds of both guests per server, alternating which goes first (1-20); the summary gives the median ratios")
	flag.Parse()
	if *goConns < 1 || *goConns > 64 || *goDur < time.Second || *goDur > 5*time.Minute || *nRounds < 1 || *nRounds > 20 {
		fmt.Fprintln(os.Stderr, "bench: -go-conns must be 1-64, -go-duration 1s-5m and -rounds 1-20")
		os.Exit(2)
	}
	load, err := httpload.LoaderNamed(*client)
	if *goSrv && err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	o := options{idle: *idle, redis: *redis, redisN: *redisN, redisC: *redisC, linux: *linux,
		redisImage: *redisImage, goSrv: *goSrv, goConns: *goConns, goDur: *goDur, serversOnly: *only,
		client: *client, load: load, rounds: *nRounds}
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	idle           time.Duration
	redis, linux   bool
	redisN, redisC int
	redisImage     string
	goSrv          bool
	goConns        int
	goDur          time.Duration
	serversOnly    bool
	client         string
	load           httpload.Loader
	rounds         int
}

func bench(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute+time.Duration(o.rounds)*(2*o.goDur+10*time.Minute))
	defer cancel()
	dir, err := os.MkdirTemp("", "runikraft-bench-net-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if !o.serversOnly {
		if err := sizesAndIdle(ctx, dir, o.idle); err != nil {
			return err
		}
	}
	var g *linuxguest.Guest
	if o.linux && (o.goSrv || o.redis) {
		if g, err = linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr}); err != nil {
			return err
		}
	}
	var series []rounds.Series
	if o.goSrv {
		fmt.Println()
		s, err := benchGo(ctx, dir, o, g)
		if err != nil {
			return err
		}
		series = append(series, s)
	}
	if o.redis {
		fmt.Println()
		s, err := benchRedis(ctx, dir, o.redisImage, min(max(o.redisN, 1), 10_000_000), min(max(o.redisC, 1), 1000), o.rounds, g)
		if err != nil {
			return err
		}
		series = append(series, s...)
	}
	if len(series) == 0 {
		return nil
	}
	return rounds.Summary(os.Stdout, "summary", series)
}

// sizesAndIdle prints what kernel/net costs an image and QEMU's CPU use
// while a networked kernel idles.
func sizesAndIdle(ctx context.Context, dir string, idle time.Duration) error {
	images := map[string]string{}
	for name, pkg := range map[string]string{
		"base": "./bench/net/kernels/base", "withnet": "./bench/net/kernels/withnet", "net": "./tests/boot/kernels/net",
	} {
		out := filepath.Join(dir, name+".img")
		if _, err := kbuild.Build(ctx, kbuild.Options{Dir: ".", Pkg: pkg, Out: out, Stderr: os.Stderr}); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
		images[name] = out
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "image\tfile bytes\tloaded bytes\t")
	var sizes [2][2]int64
	for i, name := range []string{"base", "withnet"} {
		st, err := os.Stat(images[name])
		if err != nil {
			return err
		}
		loaded, err := loadedSize(images[name])
		if err != nil {
			return err
		}
		sizes[i] = [2]int64{st.Size(), loaded}
		fmt.Fprintf(w, "%s\t%d\t%d\t\n", name, st.Size(), loaded)
	}
	fmt.Fprintf(w, "kernel/net costs\t%+d\t%+d\t\n", sizes[1][0]-sizes[0][0], sizes[1][1]-sizes[0][1])
	w.Flush()
	fmt.Println()
	return idleCPU(ctx, images["net"], idle)
}

// idleCPU boots the net kernel and samples QEMU's CPU time while the
// kernel listens with nothing to do, then after an exchange while it
// sleeps.
func idleCPU(ctx context.Context, img string, idle time.Duration) error {
	fwd, err := freePort()
	if err != nil {
		return err
	}
	secs := int(2*idle/time.Second) + 2
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", "-M", "virt", "-m", "256M", "-nographic", "-bios", "default",
		"-kernel", img,
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80", fwd), "-device", "virtio-net-device,netdev=n0",
		"-append", "nettest.idle="+strconv.Itoa(min(secs, 60)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	waitFor := func(s string) error {
		deadline := time.After(3 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return fmt.Errorf("net kernel ended before %q", s)
				}
				if strings.Contains(l, s) {
					return nil
				}
			case <-deadline:
				return fmt.Errorf("no %q in 3 minutes", s)
			}
		}
	}
	pid := cmd.Process.Pid
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "phase\tQEMU CPU\twall\t% of a core\t")
	sample := func(phase string) error {
		c0, err := cpuTime(pid)
		if err != nil {
			return err
		}
		t0 := time.Now()
		time.Sleep(idle)
		c1, err := cpuTime(pid)
		if err != nil {
			return err
		}
		wall := time.Since(t0)
		fmt.Fprintf(w, "%s\t%v\t%v\t%.1f\t\n", phase, c1-c0, wall.Round(time.Millisecond), 100*float64(c1-c0)/float64(wall))
		return nil
	}
	if err := waitFor("net: listening"); err != nil {
		return err
	}
	// Let the boot's last work (ARP, timers) settle.
	time.Sleep(500 * time.Millisecond)
	if err := sample("listening, no client"); err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fwd), 30*time.Second)
	if err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	// The kernel's server reads a line "WORD N" and N bytes, then
	// answers with the count: a host-to-guest transfer through the
	// forward, timed until the answer.
	const bulk = 1000 * 1000
	t0 := time.Now()
	fmt.Fprintf(c, "idle %d\n", bulk)
	if _, err := c.Write(make([]byte, bulk)); err != nil {
		return fmt.Errorf("write to the guest: %w", err)
	}
	reply, _ := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
	took := time.Since(t0)
	c.Close()
	if want := fmt.Sprintf("eldi %d\n", bulk); string(reply) != want {
		return fmt.Errorf("guest answered %q, want %q", reply, want)
	}
	tput := fmt.Sprintf("host to guest over TCP through the user-network forward: %d bytes in %v (%.1f MB/s)\n",
		bulk, took.Round(time.Millisecond), float64(bulk)/took.Seconds()/1e6)
	if err := waitFor("net: idle"); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	if err := sample("asleep after a connection"); err != nil {
		return err
	}
	w.Flush()
	fmt.Print("\n" + tput)
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return err
		}
		return fmt.Errorf("net kernel: %v", err)
	}
	return nil
}

// cpuTime is a process's user+system CPU time from /proc/PID/stat
// (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat times")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// loadedSize is the span of memory the image's segments occupy.
func loadedSize(path string) (int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lo, hi := ^uint64(0), uint64(0)
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			lo, hi = min(lo, p.Vaddr), max(hi, p.Vaddr+p.Memsz)
		}
	}
	return int64(hi - lo), nil
}

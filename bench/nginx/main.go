// Command nginx measures nginx, built unchanged from Debian's source with
// runikraft-cc, serving a static 1 KiB file to the host:
//
//	go run ./bench/nginx [-conns 16] [-duration 10s]
//
// It builds the image through tests/toolchain's TestNginx (the one place
// that knows how; it needs the binfmt_misc entry install.sh registers),
// boots it with `runikraft run -p` on QEMU user networking, and runs a
// closed-loop load from Go's HTTP client: -conns kept-alive connections,
// each sending its next GET as soon as the last answer is read, for
// -duration after a one-second warm-up. It prints requests per second and
// latency percentiles, then (unless -linux=false) the same for the same
// nginx program and root filesystem in the Linux guest
// (bench/internal/linuxguest) behind the same kind of forward.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

func main() {
	conns := flag.Int("conns", 16, "concurrent kept-alive connections (1-64: nginx is configured for 64)")
	duration := flag.Duration("duration", 10*time.Second, "how long to measure (1s-5m)")
	linux := flag.Bool("linux", true, "measure the same nginx in the Linux guest too (builds it once, about 10-15 minutes)")
	image := flag.String("image", "", "measure this nginx image (one TestNginx kept with RUNIKRAFT_KEEP_IMAGES) instead of building one")
	flag.Parse()
	if *conns < 1 || *conns > 64 || *duration < time.Second || *duration > 5*time.Minute {
		fmt.Fprintln(os.Stderr, "bench: -conns must be 1-64 and -duration 1s-5m")
		os.Exit(2)
	}
	if err := bench(*conns, *duration, *linux, *image); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(conns int, duration time.Duration, linux bool, image string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "runikraft-bench-nginx-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if image == "" {
		fmt.Fprintln(os.Stderr, "bench: building nginx through tests/toolchain (TestNginx, a few minutes)")
		cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout", "20m", "-run", "^TestNginx$", "./tests/toolchain/")
		cmd.Env = append(os.Environ(), "RUNIKRAFT_KEEP_IMAGES="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building nginx: %v\n%s", err, out)
		}
		image = filepath.Join(dir, "nginx")
	}
	if _, err := os.Stat(image); err != nil {
		return fmt.Errorf("no nginx image (TestNginx skipped? it needs binfmt_misc): %w", err)
	}
	runikraft := filepath.Join(dir, "runikraft")
	build := exec.CommandContext(ctx, "go", "build", "-o", runikraft, "./cmd/runikraft")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building runikraft: %v\n%s", err, out)
	}
	// The CLI finds the kernels next to itself; the image has its own
	// kernel baked in, so none is needed here.

	rk, err := serve(ctx, conns, duration, func(port int) (stop func() string, err error) {
		srv := exec.CommandContext(ctx, runikraft, "run", "--timeout", (duration + 3*time.Minute).String(),
			"-p", fmt.Sprintf("127.0.0.1:%d:8080", port), image)
		logf, err := os.Create(filepath.Join(dir, "nginx.log"))
		if err != nil {
			return nil, err
		}
		srv.Stdout, srv.Stderr = io.Discard, logf
		srv.WaitDelay = 10 * time.Second
		if err := srv.Start(); err != nil {
			logf.Close()
			return nil, err
		}
		return func() string {
			_ = srv.Process.Kill()
			_ = srv.Wait()
			logf.Close()
			log, _ := os.ReadFile(logf.Name())
			return string(log)
		}, nil
	})
	if err != nil {
		return err
	}
	var lg *result
	if linux {
		g, err := linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr})
		if err != nil {
			return err
		}
		// The same nginx and root filesystem in the Linux guest: the
		// image carries both (the program as the root's /init).
		info, err := appimage.Read(image)
		if err != nil {
			return err
		}
		if !info.Rootfs {
			return errors.New("the nginx image has no root filesystem")
		}
		app, err := cpio.ReadFile(info.Initrd, "init", 256<<20)
		if err != nil {
			return fmt.Errorf("the nginx image's root filesystem: %w", err)
		}
		prog := filepath.Join(dir, "nginx.app")
		if err := os.WriteFile(prog, app, 0o755); err != nil {
			return err
		}
		r, err := serve(ctx, conns, duration, func(port int) (func() string, error) {
			p, err := g.Start(ctx, prog, info.Manifest.Args, info.Manifest.Env, linuxguest.RunOptions{
				Rootfs: info.Initrd, Forwards: []string{fmt.Sprintf("tcp:127.0.0.1:%d-:8080", port)},
				Timeout: duration + 3*time.Minute})
			if err != nil {
				return nil, err
			}
			return func() string {
				p.Kill()
				res, _ := p.Wait()
				if res == nil {
					return ""
				}
				return string(res.Console)
			}, nil
		})
		if err != nil {
			// The Runikraft column is printed alone rather than lost.
			fmt.Fprintf(os.Stderr, "bench: linux guest: %v\n", err)
			fmt.Println("Linux guest column missing: nginx failed there (see stderr)")
		} else {
			lg = &r
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := fmt.Sprintf("nginx, static 1 KiB, %d conns, %v\tRunikraft\t", conns, duration)
	if lg != nil {
		hdr += "Linux guest\tratio\t"
	}
	fmt.Fprintln(w, hdr)
	row := func(name string, f func(r result) float64, format string) {
		line := fmt.Sprintf("%s\t"+format+"\t", name, f(rk))
		if lg != nil {
			l := f(*lg)
			line += fmt.Sprintf(format+"\t", l)
			if l > 0 {
				line += fmt.Sprintf("%.2fx\t", f(rk)/l)
			} else {
				line += "-\t"
			}
		}
		fmt.Fprintln(w, line)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	row("requests/s", func(r result) float64 { return float64(r.n) / duration.Seconds() }, "%.0f")
	row("p50 latency ms", func(r result) float64 { return ms(r.pct(50)) }, "%.2f")
	row("p99 latency ms", func(r result) float64 { return ms(r.pct(99)) }, "%.2f")
	row("max latency ms", func(r result) float64 { return ms(r.pct(100)) }, "%.2f")
	row("connections opened", func(r result) float64 { return float64(r.dials) }, "%.0f")
	row("errors", func(r result) float64 { return float64(r.errs) }, "%.0f")
	return w.Flush()
}

// serve starts a server through start (given the host port to publish
// nginx's 8080 on; it returns a function that ends the server and gives
// its log), waits until it answers and measures it.
func serve(ctx context.Context, conns int, duration time.Duration, start func(port int) (func() string, error)) (result, error) {
	port, err := loopbackPort()
	if err != nil {
		return result{}, err
	}
	stop, err := start(port)
	if err != nil {
		return result{}, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/1k.bin", port)
	if err := waitReady(url, 2*time.Minute); err != nil {
		return result{}, fmt.Errorf("%w\nnginx's log:\n%s", err, stop())
	}
	r, err := load(url, conns, duration)
	stop()
	return r, err
}

// result is what a load run saw.
type result struct {
	n, errs, dials int64
	lat            []time.Duration // sorted
}

// pct is the p-th percentile latency (p in 0..100).
func (r result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat) - 1) * p / 100
	return r.lat[i]
}

// maxSamples bounds the latencies kept per connection.
const maxSamples = 1 << 20

// load runs conns closed-loop clients on kept-alive connections against
// url: one second of warm-up, then duration measured.
func load(url string, conns int, duration time.Duration) (result, error) {
	var dials atomic.Int64
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
		},
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	warm := time.Now().Add(time.Second)
	end := warm.Add(duration)

	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var n, errs int64
			for {
				start := time.Now()
				if !start.Before(end) {
					break
				}
				err := get(client, url)
				if start.Before(warm) {
					continue
				}
				if err != nil {
					errs++
					if errs > 100 {
						break
					}
					continue
				}
				n++
				if len(lat) < maxSamples {
					lat = append(lat, time.Since(start))
				}
			}
			mu.Lock()
			res.n += n
			res.errs += errs
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(res.lat)
	res.dials = dials.Load()
	if res.n == 0 {
		return res, fmt.Errorf("no request succeeded (%d errors)", res.errs)
	}
	return res, nil
}

// get fetches url and checks it is the 1 KiB file.
func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || n != 1024 {
		return fmt.Errorf("%s, %d bytes", resp.Status, n)
	}
	return nil
}

// waitReady polls url until it answers 200 or timeout passes.
func waitReady(url string, timeout time.Duration) error {
	probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := probe.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("nginx did not answer within " + timeout.String())
}

// loopbackPort returns a TCP port that was free on the host's loopback a
// moment ago.
func loopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Package httpload is the benchmarks' closed-loop HTTP load: a number of
// kept-alive connections from Go's HTTP client, each sending its next GET
// as soon as the last answer is read, against a server started in a
// guest behind a QEMU user-network forward. bench/nginx and bench/net (the
// Go server) print its results next to each other for Runikraft and the
// Linux guest.
package httpload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/runikraft/runikraft/bench/internal/hostfwd"
	"github.com/runikraft/runikraft/bench/internal/linuxguest"
	"github.com/runikraft/runikraft/bench/internal/qemucpu"
	"github.com/runikraft/runikraft/internal/syncbuf"
)

// Result is what a load run saw.
type Result struct {
	N, Errs, Dials int64
	Duration       time.Duration   // measured time (after the warm-up)
	Lat            []time.Duration // sorted
	All            int64           // requests answered, the warm-up's too
	// CPU is QEMU's CPU time over the whole load (warm-up included: per
	// request it is divided by All), when the server's PID was known.
	CPU *qemucpu.Times

	pcts  map[int]time.Duration // percentiles a load tool reported, when Lat is empty
	bytes float64               // bytes the load tool read (Wrk)
}

// Server is a server started for Serve.
type Server struct {
	// Stop ends the server and returns its log.
	Stop func() string
	// PID, if not nil, returns QEMU's process id (it may not exist yet).
	PID func() (int, error)
}

// Pct is the p-th percentile latency (p in 0..100; from wrk, only 50,
// 75, 90, 99 and 100, the maximum).
func (r Result) Pct(p int) time.Duration {
	if len(r.Lat) == 0 {
		return r.pcts[p]
	}
	i := (len(r.Lat) - 1) * p / 100
	return r.Lat[i]
}

// RPS is requests per second over the measured time.
func (r Result) RPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.N) / r.Duration.Seconds()
}

// maxSamples bounds the latencies kept per connection.
const maxSamples = 1 << 20

// Serve starts a server through start (given a free host port to publish
// the server on; it returns a function that ends the server and gives
// its log), waits until GET path answers 200, measures it with load and
// ends it. want is the body length every answer must have.
func Serve(load Loader, conns int, duration time.Duration, path string, want int64, start func(port int) (Server, error)) (Result, error) {
	port, err := LoopbackPort()
	if err != nil {
		return Result{}, err
	}
	srv, err := start(port)
	if err != nil {
		return Result{}, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	if err := WaitReady(url, 2*time.Minute); err != nil {
		return Result{}, fmt.Errorf("%w\nthe server's log:\n%s", err, srv.Stop())
	}
	pid, before := 0, qemucpu.Times{}
	if srv.PID != nil {
		if pid, err = srv.PID(); err == nil {
			// QEMU's forward listens with a queue of 1: a load's burst of
			// connects would leave some handshakes in the host's
			// retransmission backoff, and their first requests waiting
			// seconds (seen with wrk, which connects anew after its
			// warm-up), in either guest. See bench/internal/hostfwd.
			if werr := hostfwd.Widen(pid, port, 128); werr != nil {
				fmt.Fprintln(os.Stderr, "bench: the forward keeps its listen queue of 1 (connects may stall):", werr)
			}
			before, err = qemucpu.Read(pid)
		}
		if err != nil {
			pid = 0
		}
	}
	r, err := load(url, want, conns, duration)
	if pid != 0 {
		if after, err := qemucpu.Read(pid); err == nil {
			d := after.Sub(before)
			r.CPU = &d
		}
	}
	log := srv.Stop()
	if err != nil {
		return r, fmt.Errorf("%w\nthe server's log:\n%s", err, log)
	}
	return r, nil
}

// Load runs conns closed-loop clients on kept-alive connections against
// url: one second of warm-up, then duration measured. Every answer must
// be 200 with want bytes of body.
func Load(url string, want int64, conns int, duration time.Duration) (Result, error) {
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
	res := Result{Duration: duration}
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var n, all, errs int64
			for {
				start := time.Now()
				if !start.Before(end) {
					break
				}
				err := get(client, url, want)
				if err == nil {
					all++
				}
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
			res.N += n
			res.All += all
			res.Errs += errs
			res.Lat = append(res.Lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(res.Lat)
	res.Dials = dials.Load()
	if res.N == 0 {
		return res, fmt.Errorf("no request succeeded (%d errors)", res.Errs)
	}
	return res, nil
}

// get fetches url and checks the answer.
func get(client *http.Client, url string, want int64) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || n != want {
		return fmt.Errorf("%s, %d bytes (want 200 OK, %d bytes)", resp.Status, n, want)
	}
	return nil
}

// WaitReady polls url until it answers 200 or timeout passes (QEMU's
// user network accepts on a published port before the guest listens).
func WaitReady(url string, timeout time.Duration) error {
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
	return errors.New("the server did not answer within " + timeout.String())
}

// LoopbackPort returns a TCP port that was free on the host's loopback a
// moment ago.
func LoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Table prints rk's results (and lg's with the ratio, when lg is not nil)
// under the title to w.
func Table(w io.Writer, title string, rk Result, lg *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := title + "\tRunikraft\t"
	if lg != nil {
		hdr += "Linux guest\tratio\t"
	}
	fmt.Fprintln(tw, hdr)
	row := func(name string, f func(r Result) float64, format string) {
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
		fmt.Fprintln(tw, line)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	row("requests/s", Result.RPS, "%.0f")
	row("p50 latency ms", func(r Result) float64 { return ms(r.Pct(50)) }, "%.2f")
	row("p99 latency ms", func(r Result) float64 { return ms(r.Pct(99)) }, "%.2f")
	row("max latency ms", func(r Result) float64 { return ms(r.Pct(100)) }, "%.2f")
	cpu := func(f func(t qemucpu.Times) uint64) func(r Result) float64 {
		return func(r Result) float64 {
			if r.CPU == nil || r.All == 0 {
				return 0
			}
			return float64(f(*r.CPU)) * 1e6 / qemucpu.TicksPerSecond / float64(r.All)
		}
	}
	if rk.CPU != nil {
		row("QEMU vCPU thread µs/request", cpu(func(t qemucpu.Times) uint64 { return t.VCPU }), "%.0f")
		row("QEMU main loop µs/request", cpu(func(t qemucpu.Times) uint64 { return t.Main }), "%.0f")
		row("QEMU other threads µs/request", cpu(func(t qemucpu.Times) uint64 { return t.Other }), "%.0f")
	}
	if rk.Dials > 0 {
		row("connections opened", func(r Result) float64 { return float64(r.Dials) }, "%.0f")
	}
	row("errors", func(r Result) float64 { return float64(r.Errs) }, "%.0f")
	return tw.Flush()
}

// Runikraft starts `cli run --qemu WRAPPER --cpus 1 ARGS...` (the wrapper,
// written into dir, names QEMU's threads) as a Server; its log is the
// run's output.
func Runikraft(ctx context.Context, dir, cli string, args ...string) (Server, error) {
	wrapper, err := qemucpu.Wrapper(dir)
	if err != nil {
		return Server{}, err
	}
	cmd := exec.CommandContext(ctx, cli, append([]string{"run", "--qemu", wrapper, "--cpus", "1"}, args...)...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return Server{}, err
	}
	return Server{
		Stop: func() string {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return out.String()
		},
		PID: func() (int, error) { return qemucpu.ChildQEMU(cmd.Process.Pid) },
	}, nil
}

// LinuxGuest starts prog in the Linux guest, its QEMU threads named, as
// a Server; its log is the console.
func LinuxGuest(ctx context.Context, g *linuxguest.Guest, prog string, args, env []string, o linuxguest.RunOptions) (Server, error) {
	o.QEMUArgs = append(o.QEMUArgs, qemucpu.Args...)
	p, err := g.Start(ctx, prog, args, env, o)
	if err != nil {
		return Server{}, err
	}
	return Server{
		Stop: func() string {
			p.Kill()
			res, _ := p.Wait()
			if res == nil {
				return ""
			}
			return string(res.Console)
		},
		PID: func() (int, error) { return p.PID(), nil },
	}, nil
}

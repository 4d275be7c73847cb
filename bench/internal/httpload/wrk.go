package httpload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runikraft/runikraft/bench/internal/rounds"
)

// Loader runs a closed-loop load of conns kept-alive connections against
// url for duration after a warm-up; every answer must carry want bytes
// of body. Load (Go's HTTP client, in this process) and Wrk (Debian's
// wrk on the host) are the two.
type Loader func(url string, want int64, conns int, duration time.Duration) (Result, error)

// LoaderNamed returns the loader a benchmark's -client flag names:
// "wrk" or "go".
func LoaderNamed(name string) (Loader, error) {
	switch name {
	case "wrk":
		if _, err := exec.LookPath("wrk"); err != nil {
			return nil, errors.New("wrk missing: run ./install.sh (Debian package wrk), or use -client go")
		}
		return Wrk, nil
	case "go":
		return Load, nil
	}
	return nil, fmt.Errorf("-client %q: want wrk or go", name)
}

// Wrk loads url with wrk: one client thread (the host has two cores, and
// QEMU needs them more than the client), conns connections, one second
// of warm-up run and discarded, then duration measured with wrk's latency
// distribution. wrk does not look at bodies, so one GET checks the answer
// first, and the bytes wrk read per answer must fit a body of want bytes
// and a header. Non-2xx answers and socket errors count as errors; more
// than 1% of the answers fails the run.
func Wrk(url string, want int64, conns int, duration time.Duration) (Result, error) {
	if err := get(&http.Client{Timeout: 10 * time.Second}, url, want); err != nil {
		return Result{}, fmt.Errorf("the answer before the load: %w", err)
	}
	warm, err := runWrk(url, conns, time.Second)
	if err != nil {
		return Result{}, fmt.Errorf("warm-up: %w", err)
	}
	r, err := runWrk(url, conns, duration)
	if err != nil {
		return r, err
	}
	r.All = warm.N + r.N
	if r.N == 0 {
		return r, fmt.Errorf("no request succeeded (%d errors)", r.Errs)
	}
	if perReq := r.bytes / float64(r.N); perReq < float64(want) || perReq > float64(want)+1024 {
		return r, fmt.Errorf("wrk read %.0f bytes per answer, not a %d-byte body and its header", perReq, want)
	}
	if r.Errs*100 > r.N {
		return r, fmt.Errorf("%d errors in %d answers", r.Errs, r.N)
	}
	return r, nil
}

// runWrk runs wrk once and parses what it printed.
func runWrk(url string, conns int, duration time.Duration) (Result, error) {
	secs := max(int(duration.Round(time.Second)/time.Second), 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s",
		"--timeout", "10s", "--latency", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, out, stderr.Bytes())
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("%w in wrk's output:\n%s", err, out)
	}
	return r, nil
}

var (
	wrkTotal   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+)([KMGT]?B) read`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
	wrkMax     = regexp.MustCompile(`(?m)^\s+Latency\s+\S+\s+\S+\s+([0-9.]+)(us|ms|s|m|h)`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's report: the total line, the latency distribution
// (--latency) and the maximum from the thread statistics, and the error
// lines wrk prints only when there were errors.
func parseWrk(out string) (Result, error) {
	var r Result
	m := wrkTotal.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("no \"N requests in T, B read\" line")
	}
	r.N, _ = strconv.ParseInt(m[1], 10, 64)
	d, err := wrkDuration(m[2], m[3])
	if err != nil || d <= 0 {
		return r, fmt.Errorf("duration %s%s", m[2], m[3])
	}
	r.Duration = d
	b, _ := strconv.ParseFloat(m[4], 64)
	r.bytes = b * float64(map[string]int64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[m[5]])
	r.pcts = map[int]time.Duration{}
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		q, _ := strconv.Atoi(p[1])
		if r.pcts[q], err = wrkDuration(p[2], p[3]); err != nil {
			return r, err
		}
	}
	if len(r.pcts) != 4 {
		return r, errors.New("no latency distribution")
	}
	if m := wrkMax.FindStringSubmatch(out); m != nil {
		if r.pcts[100], err = wrkDuration(m[1], m[2]); err != nil {
			return r, err
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errs += n
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errs += n
		}
	}
	return r, nil
}

// wrkDuration converts wrk's number and unit.
func wrkDuration(num, unit string) (time.Duration, error) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("time %s%s: %w", num, unit, err)
	}
	u := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	return time.Duration(f * float64(u)), nil
}

// Rounds measures Runikraft through rk and, unless lg is nil, the Linux
// guest through lg, n times, alternating which goes first
// (rounds.Order); it prints each round's table under title and returns
// the requests per second of both, paired by round. A Linux run that
// fails is reported and leaves that round without a ratio; a Runikraft
// run that fails ends the benchmark.
func Rounds(w io.Writer, title string, n int, rk, lg func() (Result, error)) (rounds.Series, error) {
	s := rounds.Series{Name: "requests/s"}
	for i := range max(n, 1) {
		var a Result
		var b *Result
		runRK := func() error {
			r, err := rk()
			a = r
			return err
		}
		runLG := func() {
			if lg == nil {
				return
			}
			r, err := lg()
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: linux guest, round %d: %v\n", i+1, err)
				return
			}
			b = &r
		}
		if rounds.Order(i) {
			if err := runRK(); err != nil {
				return s, err
			}
			runLG()
		} else {
			runLG()
			if err := runRK(); err != nil {
				return s, err
			}
		}
		t := title
		if n > 1 {
			t = fmt.Sprintf("%s, round %d of %d", title, i+1, n)
		}
		if err := Table(w, t, a, b); err != nil {
			return s, err
		}
		fmt.Fprintln(w)
		s.RK = append(s.RK, a.RPS())
		l := 0.0
		if b != nil {
			l = b.RPS()
		}
		s.LG = append(s.LG, l)
	}
	return s, nil
}

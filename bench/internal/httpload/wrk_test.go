package httpload

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A report wrk 4.1 (Debian 12) printed, with errors added as it prints
// them.
const wrkReport = `Running 1s test @ http://127.0.0.1:18081/1k.bin
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   776.23us    1.29ms  13.32ms   86.86%
    Req/Sec    13.79k     5.25k   23.34k    60.00%
  Latency Distribution
     50%  145.00us
     75%    0.92ms
     90%    2.50ms
     99%    5.98ms
  13717 requests in 1.00s, 14.95MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 2, write 1, timeout 4
Requests/sec:  13676.63
Transfer/sec:     14.91MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 13717 || r.Duration != time.Second || r.Errs != 10 {
		t.Errorf("N %d, duration %v, errors %d; want 13717, 1s, 10", r.N, r.Duration, r.Errs)
	}
	if got := r.RPS(); got != 13717 {
		t.Errorf("rps %v", got)
	}
	for p, want := range map[int]time.Duration{50: 145 * time.Microsecond, 99: 5980 * time.Microsecond, 100: 13320 * time.Microsecond} {
		if got := r.Pct(p); got != want {
			t.Errorf("p%d = %v, want %v", p, got, want)
		}
	}
	if perReq := r.bytes / float64(r.N); perReq < 1024 || perReq > 2048 {
		t.Errorf("%.0f bytes per answer", perReq)
	}
	if _, err := parseWrk(strings.Replace(wrkReport, "  Latency Distribution\n", "", 1)[:200]); err == nil {
		t.Error("a report without its totals parsed")
	}
}

// TestWrk loads a server of the test's own through wrk (install.sh
// installs it) and checks the body-size check: a server answering 1 KiB
// passes as 1 KiB and fails as 4 KiB.
func TestWrk(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk missing: run ./install.sh (Debian package wrk)")
	}
	body := strings.Repeat("x", 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
	defer srv.Close()
	r, err := Wrk(srv.URL, 1024, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.N == 0 || r.All <= r.N || r.Errs != 0 || r.Pct(50) <= 0 {
		t.Errorf("N %d, all %d, errors %d, p50 %v", r.N, r.All, r.Errs, r.Pct(50))
	}
	if _, err := Wrk(srv.URL, 4096, 2, time.Second); err == nil {
		t.Error("a 1 KiB answer passed as 4 KiB")
	}
}

package httpload

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad drives a local server for a moment: every request counted is
// one the handler served, and a wrong body length is an error.
func TestLoad(t *testing.T) {
	var served atomic.Int64
	page := bytes.Repeat([]byte{'x'}, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write(page)
	}))
	defer srv.Close()
	r, err := Load(srv.URL, 1024, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.N == 0 || r.N > served.Load() || r.Errs != 0 || r.Dials != 1 || len(r.Lat) != int(r.N) {
		t.Errorf("N %d (served %d), errors %d, dials %d, %d latencies", r.N, served.Load(), r.Errs, r.Dials, len(r.Lat))
	}
	if _, err := Load(srv.URL, 1000, 1, time.Second); err == nil {
		t.Error("a 1024-byte answer passed for 1000 bytes")
	}
	var b strings.Builder
	if err := Table(&b, "t", r, &r); err != nil || !strings.Contains(b.String(), "1.00x") {
		t.Errorf("Table: %v\n%s", err, b.String())
	}
}

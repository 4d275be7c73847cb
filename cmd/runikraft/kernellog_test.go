package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A held log keeps its end, whole lines, within its bound; finish shows
// it only for statuses the kernel gives, and notes it otherwise.
func TestHeldKernelLog(t *testing.T) {
	var h heldLog
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&h, "runikraft: line %d\n", i)
	}
	data, lines, dropped := h.contents()
	if len(data) > maxHeld || !dropped || lines != 20000 || !bytes.HasSuffix(data, []byte("runikraft: line 19999\n")) || !bytes.HasPrefix(data, []byte("runikraft: line ")) {
		t.Fatalf("held %d bytes, %d lines, dropped %v; start %q", len(data), lines, dropped, data[:40])
	}
	for _, tc := range []struct {
		code    int
		timeout bool
		want    string
	}{
		{0, false, ""},
		{1, false, "runikraft: note: the kernel logged 1 line(s) during the run; runikraft run --debug or --log FILE shows them\n"},
		{139, false, "runikraft: report\n"},
		{126, false, "runikraft: report\n"},
		{70, false, "runikraft: report\n"},
		{0, true, "runikraft: report\n"},
	} {
		l, _ := openKernelLog("", false, nil)
		l.writer().Write([]byte("runikraft: report\n"))
		var stderr bytes.Buffer
		l.finish(tc.code, tc.timeout, &stderr)
		if stderr.String() != tc.want {
			t.Errorf("status %d timeout %v: stderr %q, want %q", tc.code, tc.timeout, stderr.String(), tc.want)
		}
	}
	// --log FILE takes it all; "-" is stderr.
	path := filepath.Join(t.TempDir(), "k.log")
	l, err := openKernelLog(path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.writer().Write([]byte("a\n"))
	l.finish(139, false, nil)
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Errorf("--log file: %q %v", b, err)
	}
	var stderr strings.Builder
	l, _ = openKernelLog("-", false, &stderr)
	l.writer().Write([]byte("b\n"))
	l.finish(0, false, &stderr)
	if stderr.String() != "b\n" {
		t.Errorf("--log -: %q", stderr.String())
	}
	if _, err := openKernelLog(filepath.Join(t.TempDir(), "no", "such"), false, nil); err == nil {
		t.Error("--log in a missing directory: no error")
	}
}

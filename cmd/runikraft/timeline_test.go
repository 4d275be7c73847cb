package main

import (
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/qemu"
)

// The timeline counts from main when it is known, from QEMU's start
// otherwise, and leaves out the points that were not seen.
func TestHostTimeline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	res := qemu.Result{Started: t0.Add(10 * time.Millisecond), FirstUART: t0.Add(150 * time.Millisecond),
		Exited: t0.Add(400500 * time.Microsecond), CPU: 250 * time.Millisecond}
	saved := mainStart
	defer func() { mainStart = saved }()
	mainStart = t0
	got := hostTimeline(res)
	want := "runikraft: host timeline, ms from runikraft's main: QEMU started 10.0, firmware's first byte 150.0, QEMU exited 400.5; host CPU: QEMU 250.0 ms, runikraft "
	if !strings.HasPrefix(got, want) {
		t.Errorf("hostTimeline:\n got %q\nwant %q...", got, want)
	}
	mainStart = time.Time{}
	if got, want := hostTimeline(res), "ms from QEMU's start: QEMU started 0.0, firmware's first byte 140.0"; !strings.Contains(got, want) {
		t.Errorf("without main's time: %q, want it to hold %q", got, want)
	}
}

package main

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/internal/qemu"
)

// mainStart is when main began (the Go runtime and package initialisers
// done): the origin of the host timeline --debug prints. Zero when Main
// is called otherwise (tests).
var mainStart time.Time

// hostTimeline is --debug's line about the run as the host saw it: when
// QEMU was started, when the firmware's first byte and the application's
// first output arrived, when QEMU exited (milliseconds from main, or from
// QEMU's start where main's time is unknown), and the host CPU runikraft
// and QEMU used. It is what runikraft run adds to a boot that the
// kernel's own timeline cannot see.
func hostTimeline(res qemu.Result) string {
	origin, from := mainStart, "runikraft's main"
	if origin.IsZero() {
		origin, from = res.Started, "QEMU's start"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "runikraft: host timeline, ms from %s:", from)
	sep := " "
	for _, e := range []struct {
		what string
		at   time.Time
	}{{"QEMU started", res.Started}, {"firmware's first byte", res.FirstUART}, {"application's first output", res.FirstOutput}, {"QEMU exited", res.Exited}} {
		if !e.at.IsZero() {
			fmt.Fprintf(&b, "%s%s %.1f", sep, e.what, float64(e.at.Sub(origin).Microseconds())/1000)
			sep = ", "
		}
	}
	fmt.Fprintf(&b, "; host CPU: QEMU %.1f ms", float64(res.CPU.Microseconds())/1000)
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprintf(&b, ", runikraft %.1f ms", float64(self.Microseconds())/1000)
	}
	return b.String()
}

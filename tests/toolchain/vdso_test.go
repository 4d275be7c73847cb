package toolchain

import (
	"testing"

	"github.com/runikraft/runikraft/tests/harness"
)

// The kernel maps a vDSO whose clock_gettime musl uses; its readings and
// the system call's interleave in order, so the two clocks are one.
func TestVDSOClock(t *testing.T) {
	timed(t)
	prog := compile(t, "clock.c", "-O2")
	harness.Expect(t, run(t, nil, nil, prog), 0,
		"vdso: mapped\nrealtime after 2020: yes\nmonotonic: ordered\nrealtime: ordered\nboottime: ordered\nprocess-cputime: ordered\n")
}

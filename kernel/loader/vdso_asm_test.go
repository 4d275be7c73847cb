package loader

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	rv "github.com/runikraft/runikraft/kernel/rvasm"
)

// The vDSO's code in vdso.go is this assembly's output.
func TestClockGettimeCode(t *testing.T) {
	want := buildClockGettime()
	if len(want) == len(vdsoClockGettime) {
		same := true
		for i := range want {
			same = same && want[i] == vdsoClockGettime[i]
		}
		if same {
			return
		}
	}
	var b strings.Builder
	for i, w := range want {
		if i%6 == 0 {
			b.WriteString("\n\t")
		}
		fmt.Fprintf(&b, "%#08x, ", w)
	}
	t.Errorf("vdsoClockGettime is not buildClockGettime's code; put this in vdso.go:%s", b.String())
}

// buildClockGettime assembles int clock_gettime(clockid_t a0, struct timespec *a1).
// CLOCK_MONOTONIC and its variants are the time CSR in nanoseconds (what
// the kernel's own clock and the system call answer); the realtime
// clocks add the wall-clock offset; any other clock makes the system
// call. The division keeps full precision for any timebase below 2^34 Hz.
func buildClockGettime() []uint32 {
	const (
		zero, a0, a1, a7 = rv.Zero, rv.A0, rv.A1, rv.A7
		t0, t1, t2       = rv.T0, rv.T1, rv.T2
		t3, t4, t5, t6   = rv.T3, rv.T4, rv.T5, rv.T6
	)
	c := []uint32{
		rv.Auipc(t3, 0),
		rv.Ld(t4, t3, dataOff),    // hz
		rv.Ld(t6, t3, dataOff+16), // 1e9
		rv.Addi(t5, zero, 0),      // offset: none for the monotonic clocks
	}
	// Branch targets are patched below, once the code's length is known.
	var toCalc []int
	for _, id := range []int32{linux.CLOCK_MONOTONIC, linux.CLOCK_MONOTONIC_RAW, linux.CLOCK_MONOTONIC_COARSE, linux.CLOCK_BOOTTIME} {
		c = append(c, rv.Addi(t0, zero, id))
		toCalc = append(toCalc, len(c))
		c = append(c, 0) // beq a0, t0, calc
	}
	c = append(c, rv.Ld(t5, t3, dataOff+8)) // the realtime clocks add the wall clock
	for _, id := range []int32{linux.CLOCK_REALTIME, linux.CLOCK_REALTIME_COARSE, linux.CLOCK_TAI} {
		c = append(c, rv.Addi(t0, zero, id))
		toCalc = append(toCalc, len(c))
		c = append(c, 0)
	}
	c = append(c,
		rv.Addi(a7, zero, linux.SYS_CLOCK_GETTIME), // any other clock: the system call
		rv.Ecall(),
		rv.Ret(),
	)
	calc := len(c)
	for _, at := range toCalc {
		c[at] = rv.Beq(a0, t0, int32(calc-at)*4)
	}
	c = append(c,
		rv.Rdtime(t0),
		rv.Divu(t1, t0, t4), // seconds
		rv.Remu(t2, t0, t4), // ticks left
		rv.Mul(t2, t2, t6),  // × 1e9
		rv.Divu(t2, t2, t4), // ÷ hz: nanoseconds
		rv.Divu(t0, t5, t6), // offset's seconds
		rv.Add(t1, t1, t0),
		rv.Remu(t0, t5, t6), // offset's nanoseconds
		rv.Add(t2, t2, t0),
		rv.Bltu(t2, t6, 12), // no carry: to store
		rv.Sub(t2, t2, t6),
		rv.Addi(t1, t1, 1),
		// store:
		rv.Sd(t1, a1, 0),
		rv.Sd(t2, a1, 8),
		rv.Addi(a0, zero, 0),
		rv.Ret(),
	)
	return c
}

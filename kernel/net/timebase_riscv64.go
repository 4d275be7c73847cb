//go:build riscv64

package net

import (
	"github.com/runikraft/runikraft/kernel/hart"
)

// readTicks is the time CSR (one instruction, readable in S- and U-mode;
// ticks_riscv64.s).
func readTicks() uint64

// tickNanos is how many nanoseconds one tick of the time CSR lasts, or 0
// when the kernel knows no timebase (a riscv64 program under Linux, such
// as this package's tests under qemu-user) or it does not divide a second
// into whole nanoseconds.
func tickNanos() int64 {
	hz, _ := hart.Clock()
	return nanosPerTick(hz)
}

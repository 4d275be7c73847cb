//go:build riscv64

package hart

import _ "unsafe" // go:linkname

// The kernel runtime's clock without a trap. Go's runtime reads the time
// through the vDSO's clock_gettime when it found one at start, and by the
// clock_gettime system call otherwise; the kernel has no vDSO, so every
// nanotime (the scheduler's, timers', gVisor's stack clock: about 24 per
// request of a small HTTP server) was a trap into the hart layer and
// back, each a few hundred instructions and, under TCG, an exception
// round trip in QEMU. kclockGettime is the vDSO function the runtime
// would have found: rdtime and the boot wall offset, with the C calling
// convention the runtime uses for it, on the runtime's own stack, reading
// nothing but the clock and two words set before it is installed.

// vdsoClockgettimeSym is the runtime's pointer to the vDSO's
// clock_gettime (0: make the system call). The runtime reads it on every
// nanotime and walltime and writes it only while parsing a vDSO at start.
//
//go:linkname vdsoClockgettimeSym runtime.vdsoClockgettimeSym
var vdsoClockgettimeSym uintptr

// kclockHz is the timebase kclockGettime divides by, copied from the
// device tree's before it is installed (never 0 then).
var kclockHz uint64

// kclockGettime is called by the runtime as C code: A0 the clock
// (CLOCK_REALTIME or CLOCK_MONOTONIC, the two the runtime asks for), A1
// the timespec, 0 back in A0. Assembly, leaf, frameless.
func kclockGettime()

// kclockAddr is kclockGettime's address (its ABI0 entry, not a Go
// wrapper: the runtime calls it on the system stack with the current g).
func kclockAddr() uintptr

// init installs the clock once boot has set the timebase and the wall
// offset (boot runs before any Go code).
func init() {
	if machine.TimebaseHz == 0 {
		return
	}
	kclockHz = machine.TimebaseHz
	vdsoClockgettimeSym = kclockAddr()
}

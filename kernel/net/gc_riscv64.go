//go:build riscv64

package net

import (
	"runtime/debug"

	"github.com/runikraft/runikraft/kernel/hart"
)

// GC pacing for a network server's kernel. Each request allocates in
// the kernel (gVisor's packet buffers, segments, views), and at the
// runtime's default pacing (GOGC 100, heap goal twice the live heap)
// its collector's marking and sweeping cost about 6,000 guest
// instructions per nginx request (bench/netprof). On a machine with
// RAM to spare the goal goes to five times the live heap, with a soft
// limit that brings the default pacing back before the kernel's heap
// takes more than an eighth of RAM.
const (
	gcPercent    = 400
	gcMinRAM     = 256 << 20 // below this, the default pacing
	gcLimitShare = 8         // the soft limit: RAM / gcLimitShare
)

func tuneGC() {
	total := hart.ReadMemStats().Total
	if total < gcMinRAM {
		return
	}
	debug.SetMemoryLimit(int64(total / gcLimitShare))
	debug.SetGCPercent(gcPercent)
}

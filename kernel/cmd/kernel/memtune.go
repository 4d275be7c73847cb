//go:build riscv64

package main

import (
	"runtime/debug"

	"github.com/runikraft/runikraft/kernel/hart"
)

// smallRAM is the machine size below which the kernel's runtime
// collects at kernelSmallGCPercent instead of Go's default 100.
const (
	smallRAM             = 64 << 20
	kernelSmallGCPercent = 25
)

// On a small machine the kernel's heap would otherwise grow to Go's 4
// MiB minimum goal before its first collection: a quarter of a 16 MiB
// machine, taken from the application's room (the kernel's heap has
// about 0.7 MiB in use after boot, some 0.3 MiB of it live). At 25% the minimum goal is 1 MiB, and the
// kernel allocates little once the application runs, so the extra
// collections cost little. Larger machines keep the default pacing.
func init() {
	m := hart.Machine()
	var ram uint64
	for i := 0; i < m.NMem && i < len(m.Mem); i++ {
		ram += m.Mem[i].Size
	}
	if ram < smallRAM {
		debug.SetGCPercent(kernelSmallGCPercent)
	}
}

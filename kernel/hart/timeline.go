//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/reg"
)

// Boot timeline: the time CSR at each phase of the boot, for
// `runikraft run --debug` (the kernel prints it; see Timeline). The time
// CSR counts from the machine's reset, so the first stamp is also how
// long the firmware took. A phase is stamped once, the first time it is
// reached; a zero stamp was never reached. Stamping is a plain store of
// a counter, safe in trap context and before the runtime runs.

// Phase names a point of the boot.
type Phase int

// The phases, in boot order. Each is stamped when it ends, so a phase's
// duration is its stamp minus the previous one's.
const (
	PhaseEntry     Phase = iota // the kernel's first instruction (firmware before it)
	PhasePaging                 // device tree read, RAM and page table set up, paging on
	PhaseHart                   // traps, stacks, clock, entropy: the hart layer handed over to the runtime
	PhaseRuntime                // the Go runtime started and initialised the hart layer's package
	PhaseDevices                // kernel drivers probed (package kernel's init)
	PhaseMain                   // the kernel program's main started (remaining package inits)
	PhaseLoader                 // the application's ELF parsed and loaded
	PhaseRootFS                 // root filesystem unpacked, the application's first thread made
	PhaseFirstUser              // the application's first instruction
	NPhases
)

var phaseNames = [NPhases]string{
	"kernel entry (firmware before it)", "paging", "hart layer", "runtime init",
	"devices", "kernel main", "loader", "rootfs", "first user instruction",
}

// String is the phase's name as the timeline prints it.
func (p Phase) String() string {
	if p < 0 || p >= NPhases {
		return "?"
	}
	return phaseNames[p]
}

var bootStamps [NPhases]uint64

// stamp records phase p now unless it was recorded before.
//
//go:nosplit
func stamp(p Phase) {
	if p >= 0 && p < NPhases && bootStamps[p] == 0 {
		bootStamps[p] = reg.ReadTime()
	}
}

// Stamp records that phase p of the boot has ended (the first call per
// phase counts).
func Stamp(p Phase) { stamp(p) }

// Timeline returns, per phase, the nanoseconds from the machine's reset
// to the phase's end; 0 for phases not reached.
func Timeline() [NPhases]int64 {
	var t [NPhases]int64
	for i, s := range bootStamps {
		if s != 0 {
			t[i] = ticksToNS(s)
		}
	}
	return t
}

func init() { stamp(PhaseRuntime) }

//go:build riscv64

package hart

// The supervisor timer. With the Sstc extension (QEMU 7.2's default CPU
// has it, and OpenSBI 1.1 turns it on for S-mode) a hart programs its
// timer by writing the stimecmp CSR; otherwise through the SBI TIME call,
// which traps to the firmware, which writes the CLINT's mtimecmp. Every
// time slice, sleep and idle period re-arms the timer, and under QEMU
// both ways take the emulator's global lock; the SBI way also runs the
// firmware's trap path. Measured with hartprof on this project's loaded
// 2-core machine, one hart: 33-59 µs a call through the SBI, 21-36 µs a
// stimecmp write, in interleaved runs.

// sstcOn[k] is set when harts[k] may write stimecmp. Each hart probes
// for itself before it takes its first trap (probeSstc) and alone reads
// its own entry afterwards.
var sstcOn [maxHarts]bool

// Implemented in sstc_riscv64.s.
func probeSstc() bool
func writeStimecmp(at uint64)

// detectSstc records whether the calling hart, CPU k, has a usable
// stimecmp. Called before the hart's trap vector is installed: the probe
// points stvec at its own handler for the one instruction that may trap.
//
//go:nosplit
func detectSstc(k int32) {
	if k >= 0 && k < maxHarts {
		sstcOn[k] = probeSstc()
	}
}

// setTimer programs hart h's timer (h must be the calling hart) for
// rdtime value at; ^0 is never.
//
//go:nosplit
func setTimer(h *hartState, at uint64) {
	if c := h.cpu; c >= 0 && c < maxHarts && sstcOn[c] {
		writeStimecmp(at)
		return
	}
	sbicall(sbiTime, 0, at, 0, 0)
}

//go:build riscv64

package hart

// Lazy FP state. The hart's FP registers belong to one frame at a time,
// h.fpOwner: the running frame, or the last one that ran. A frame's
// sstatus.FS, saved by each trap, says whether it changed them since
// they were loaded (dirty); only then are they stored back, when another
// frame needs the registers. fpOwner 0 means the registers hold nothing
// worth keeping. Application threads mostly never touch FP: their system
// calls then move no FP state at all (enterUser, leaveUser).
//
// SMP: fpOwner is per hart. A frame whose registers are still live (and
// dirty) on one hart must be saved there before another hart resumes it;
// today every switch away from a frame saves it at once, but an idle
// hart keeps its last owner's registers.

// fcsrFRM is fcsr's rounding-mode field; the kernel's is always 0 (Go's
// round to nearest, ties to even).
const fcsrFRM = 7 << 5

// fpSwitch gives the FP registers to the frame at next (about to run on
// h), storing the owner's first if it changed them.
//
//go:nosplit
func fpSwitch(h *hartState, next uintptr) {
	if h.fpOwner == next {
		return
	}
	if o := h.fpOwner; o != 0 {
		f := (*frame)(ptr(o))
		if f.status&statusFS == statusFS {
			saveFP(o)
			f.status = f.status&^statusFS | statusFSCl
		}
	}
	loadFP(next)
	h.fpOwner = next
}

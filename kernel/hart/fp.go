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
// SMP: fpOwner is per hart, and laziness stops at the thread: when a
// thread leaves its hart (preempted, blocked, exited) schedule calls
// fpRelease, so another hart that resumes it loads its frame from memory,
// and this hart does not trust its registers for it later either.

// fcsrFRM is fcsr's rounding-mode field; the kernel's is always 0 (Go's
// round to nearest, ties to even).
const fcsrFRM = 7 << 5

// fpSwitch gives the FP registers to the frame at next (about to run on
// h), storing the owner's first if it changed them.
//
//go:nosplit
func fpSwitch(h *hartState, next uintptr) {
	// The kernel's own frames always run with FS dirty (and trap context
	// too: trapVector sets it), at the price of storing their registers
	// at every hand-over. QEMU's TCG keys translated code by the FS
	// state among its flags, so kernel code that ran now clean, now dirty
	// had two translations of every block, and its jump cache (by pc
	// alone) missed at each change: 91% of the instructions an nginx
	// request executed were in such blocks, and about a quarter of the
	// vCPU's time went to looking them up. One state: 363 blocks with two
	// translations instead of 16,489, and 15-25% less vCPU time per request.
	if f := (*frame)(ptr(next)); f.status&statusSPP != 0 {
		f.status |= statusFS
	}
	if h.fpOwner == next {
		return
	}
	fpRelease(h)
	loadFP(next)
	h.fpOwner = next
}

// fpRelease stores the FP registers into their owner's frame if it
// changed them, and leaves h owning none.
//
//go:nosplit
func fpRelease(h *hartState) {
	if o := h.fpOwner; o != 0 {
		f := (*frame)(ptr(o))
		if f.status&statusFS == statusFS {
			// Stored, but left dirty: a frame that changed its FP
			// registers once keeps doing so, and flipping its FS
			// between clean and dirty would give its code two
			// translations under TCG (see fpSwitch).
			saveFP(o)
		}
	}
	h.fpOwner = 0
}

// userFS is the FS state a user frame enters user mode with: clean, or
// dirty for good once the application changed its FP registers (status
// is its last), so that its code runs in one FP state (see fpSwitch):
// an application that never uses FP never has its registers stored, one
// that does has them stored at each hand-over, as a dirty frame would.
//
//go:nosplit
func userFS(status uint64) uint64 {
	if status&statusFS == statusFS {
		return statusFS
	}
	return statusFSCl
}

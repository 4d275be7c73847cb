package hart

import (
	"regexp"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/linkcheck"
)

// The trap-context rules of doc.go, checked on the linked kernel code:
// everything the trap vector (and the boot entry, which runs with no g)
// reaches through direct calls must be nosplit, must not allocate, must not
// take a write barrier, must hold no bounds or divide check the compiler
// could not prove away (its panic would run in trap context), and must
// fit in a bounded stack. The linker sees the real call graph after
// inlining, so the test reads it rather than the source; calls through a
// register, which it cannot follow, are refused.

// roots are the assembly entry points into trap context.
var roots = []string{"kernel/hart.trapVector.abi0", "kernel/hart.entry.abi0", "kernel/hart.secondaryEntry.abi0", "kernel/hart.enterUserDirect.abi0"}

// stackBudget bounds the deepest chain of frames from a root, in bytes.
// The trap stack is larger; the budget is the linker's own nosplit limit
// (800 bytes on riscv64) less a margin, so a chain that grows is noticed
// here, with its path, before the link fails.
const stackBudget = 720

// runtimeOK are the runtime functions trap context may call: nosplit
// leaves that neither allocate nor need a g.
var runtimeOK = map[string]bool{
	"runtime.memmove":              true, // copy()
	"runtime.memclrNoHeapPointers": true, // clear() of a plain array
}

// exceptions are calls that break a rule today, each with why it is
// tolerated. The test fails when one disappears, so the list only shrinks.
var exceptions = map[string]string{
	// The fatal report names the function at a PC. runtime.funcname has a
	// stack check, which cannot fire: the trap stack lies above every
	// goroutine stack, so sp is always above the g's stack guard.
	"kernel/hart.putSym -> runtime.findfunc": "fatal report only",
	"kernel/hart.putSym -> runtime.funcname": "fatal report only; stack check cannot fire on the trap stack",
}

// checkPanics are the runtime's panics for failed bounds, divide and
// unsafe.Slice checks.
var checkPanics = regexp.MustCompile(`^runtime\.(panicBounds|panicdivide|panicunsafeslice\w*|panicIndex\w*|panicSlice\w*|goPanic\w*)$`)

// TestTrapContext checks every function reachable from the roots.
func TestTrapContext(t *testing.T) {
	// -checklinkname=0 as for the kernel (internal/kbuild): the fault
	// report links to runtime.funcname.
	g, exe := linkcheck.Build(t, "./testdata/linkcheck", "-checklinkname=0")
	kernel := func(fn string) bool { return strings.HasPrefix(fn, "kernel/") }
	reach := g.Reach(kernel, roots...)
	t.Logf("%d functions run in trap context or before the runtime", len(reach))

	seen := map[string]bool{}
	for fn := range reach {
		for callee := range g[fn] {
			call := fn + " -> " + callee
			switch {
			case strings.HasPrefix(callee, "kernel/"):
			case exceptions[call] != "":
				seen[call] = true
			case callee == "runtime.morestack":
				t.Errorf("%s is not nosplit (it has a stack check)", fn)
			case checkPanics.MatchString(callee):
				// A failing check would panic in trap context, with the
				// interrupted thread's g: make the index or divisor
				// provably safe (a guard the compiler can see).
				t.Errorf("%s has a bounds or divide check (%s)", fn, callee)
			case runtimeOK[callee]:
			default:
				// Allocation (newobject, mallocgc, growslice, ...), write
				// barriers (gcWriteBarrier*), other runtime services, or
				// code outside the kernel.
				t.Errorf("%s calls %s, which trap context must not", fn, callee)
			}
		}
	}
	// The graph has only direct calls: a call through a register (a
	// func value, an interface method) would leave the checked set.
	for fn, calls := range linkcheck.IndirectCalls(t, exe, reach) {
		t.Errorf("%s calls through a register, which this test cannot follow: %s", fn, strings.Join(calls, "; "))
	}
	for call := range exceptions {
		if !seen[call] {
			t.Errorf("exception %q no longer happens: remove it from the list", call)
		}
	}

	// The deepest chain of frames, through the kernel's functions and
	// the runtime leaves above.
	for _, r := range roots {
		d, path := g.Depth(t, r, func(fn string) bool { return kernel(fn) || runtimeOK[fn] })
		t.Logf("%s: %d bytes: %s", r, d, path)
		if d > stackBudget {
			t.Errorf("%s uses %d bytes of stack, budget %d: %s", r, d, stackBudget, path)
		}
	}
}

package hart

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The trap-context rules of doc.go, checked on the linked kernel code:
// everything the trap vector (and the boot entry, which runs with no g)
// reaches through direct calls must be nosplit, must not allocate, must not
// take a write barrier, and must fit in a bounded stack. The linker sees
// the real call graph after inlining, so the test reads it rather than the
// source. Indirect calls are invisible to it; trap context makes none.

const module = "github.com/runikraft/runikraft/"

// roots are the assembly entry points into trap context.
var roots = []string{"kernel/hart.trapVector.abi0", "kernel/hart.entry.abi0"}

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

// checkDebt lists the functions in which the compiler still emits a bounds
// or divide check it cannot prove away. A failing check would panic in
// trap context (powering off through the nested-trap path); each one is
// debt to pay by making the index or divisor provably safe.
var checkDebt = []string{
	"kernel/hart.clockGettime", "kernel/hart.clone", "kernel/hart.copyUser",
	"kernel/hart.epollCtl", "kernel/hart.expire", "kernel/hart.futex",
	"kernel/hart.gettimeofday", "kernel/hart.idle", "kernel/hart.initClock",
	"kernel/hart.initFrames", "kernel/hart.mapKernel", "kernel/hart.pollPLIC",
	"kernel/hart.putDec", "kernel/hart.schedule", "kernel/hart.trap",
	"kernel/hart.userFastCall", "kernel/hart.wakeEpoll",
	"kernel/mm.(*Areas).FindFree", "kernel/mm.(*Areas).Remove",
	"kernel/mm.(*Areas).SetProt", "kernel/mm.(*Areas).mergeAround",
	"kernel/mm.(*Areas).splitAt", "kernel/mm.(*Frames).Alloc",
	"kernel/mm.(*Frames).AllocContig",
}

// checkPanics are the runtime's panics for failed bounds, divide and
// unsafe.Slice checks.
var checkPanics = regexp.MustCompile(`^runtime\.(panicBounds|panicdivide|panicunsafeslice\w*|panicIndex\w*|panicSlice\w*|goPanic\w*)$`)

// callGraph links testdata/linkcheck for the kernel's target and returns
// the linker's nosplit call graph: caller → callee → caller's frame size.
func callGraph(t *testing.T) map[string]map[string]int {
	t.Helper()
	if testing.Short() {
		t.Skip("builds for riscv64; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	exe := filepath.Join(t.TempDir(), "linkcheck")
	// -checklinkname=0 as for the kernel (internal/kbuild): the fault
	// report links to runtime.funcname.
	cmd := exec.Command(gobin, "build", "-o", exe, "-ldflags=-checklinkname=0 -debugnosplit", "./testdata/linkcheck")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0", "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build linkcheck: %v\n%s", err, out)
	}
	// Lines look like "nosplit: caller<1> +40 -> callee<1>": +40 is the
	// caller's frame with its call overhead, <n> the ABI. A function with
	// a stack check shows only its edge to runtime.morestack. A kernel
	// function's ABI0 form (assembly, or the wrapper through which
	// assembly calls Go) is named with an .abi0 suffix.
	edge := regexp.MustCompile(`^nosplit: (\S+)<(\d+)> \+(\d+) -> (\S+)<(\d+)>$`)
	name := func(fn, abi string) string {
		if strings.HasPrefix(fn, module) {
			fn = strings.TrimPrefix(fn, module)
			if abi == "0" {
				fn += ".abi0"
			}
		}
		return fn
	}
	g := map[string]map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := edge.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		from, to := name(m[1], m[2]), name(m[4], m[5])
		frame, _ := strconv.Atoi(m[3])
		if g[from] == nil {
			g[from] = map[string]int{}
		}
		g[from][to] = max(g[from][to], frame)
	}
	if len(g[roots[0]]) == 0 {
		t.Fatalf("no call graph from %s in the linker's output:\n%s", roots[0], out)
	}
	return g
}

// TestTrapContext checks every function reachable from the roots.
func TestTrapContext(t *testing.T) {
	g := callGraph(t)
	reach := map[string]bool{}
	var walk func(fn string)
	walk = func(fn string) {
		if reach[fn] {
			return
		}
		reach[fn] = true
		for callee := range g[fn] {
			if strings.HasPrefix(callee, "kernel/") {
				walk(callee)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	t.Logf("%d functions run in trap context or before the runtime", len(reach))

	seen := map[string]bool{}
	var withChecks []string
	for fn := range reach {
		checks := false
		for callee := range g[fn] {
			call := fn + " -> " + callee
			switch {
			case strings.HasPrefix(callee, "kernel/"):
			case exceptions[call] != "":
				seen[call] = true
			case callee == "runtime.morestack":
				t.Errorf("%s is not nosplit (it has a stack check)", fn)
			case checkPanics.MatchString(callee):
				checks = true
			case runtimeOK[callee]:
			default:
				// Allocation (newobject, mallocgc, growslice, ...), write
				// barriers (gcWriteBarrier*), other runtime services, or
				// code outside the kernel.
				t.Errorf("%s calls %s, which trap context must not", fn, callee)
			}
		}
		if checks {
			withChecks = append(withChecks, fn)
		}
	}
	for call := range exceptions {
		if !seen[call] {
			t.Errorf("exception %q no longer happens: remove it from the list", call)
		}
	}
	slices.Sort(withChecks)
	for _, fn := range withChecks {
		if !slices.Contains(checkDebt, fn) {
			t.Errorf("%s has a bounds or divide check that can panic in trap context: make the index or divisor provably safe", fn)
		}
	}
	for _, fn := range checkDebt {
		if !slices.Contains(withChecks, fn) {
			t.Errorf("%s no longer has a bounds or divide check: remove it from checkDebt", fn)
		}
	}

	// The deepest chain of frames through the kernel's functions and the
	// runtime leaves above. The graph has no recursion there (the linker
	// would reject a nosplit cycle); cap the depth anyway.
	var depth func(fn string, level int) (int, string)
	depth = func(fn string, level int) (int, string) {
		if level > 64 {
			t.Fatalf("call chain deeper than 64 through %s", fn)
		}
		best, path := 0, fn
		for callee, frame := range g[fn] {
			d, p := 0, callee
			if strings.HasPrefix(callee, "kernel/") || runtimeOK[callee] {
				d, p = depth(callee, level+1)
			}
			if frame+d > best {
				best, path = frame+d, fn+" -> "+p
			}
		}
		return best, path
	}
	for _, r := range roots {
		d, path := depth(r, 0)
		t.Logf("%s: %d bytes: %s", r, d, path)
		if d > stackBudget {
			t.Errorf("%s uses %d bytes of stack, budget %d: %s", r, d, stackBudget, path)
		}
	}
}

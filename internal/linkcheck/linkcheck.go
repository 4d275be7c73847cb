// Package linkcheck lets kernel tests check code that must run without a
// Go stack to grow (trap handlers, pre-runtime boot code) on what the
// linker really links: it builds a program for linux/riscv64 with
// -ldflags=-debugnosplit and returns the call graph the linker prints,
// which includes each function's frame size and every direct call after
// inlining (bounds-check panics, allocation, write barriers, morestack).
package linkcheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Module is stripped from the names of the project's own functions.
const Module = "github.com/runikraft/runikraft/"

// Graph maps caller to callee to the caller's frame size in bytes (with
// its call overhead). A project function is named without Module, e.g.
// "kernel/hart.trap"; its ABI0 form (assembly, or the wrapper through
// which assembly calls Go) gets an ".abi0" suffix, so the wrapper and the
// function are two nodes. Others keep their full name, e.g.
// "runtime.panicBounds". A function with a stack check shows only its
// edge to "runtime.morestack": the linker does not follow it further.
type Graph map[string]map[string]int

// Build links the main package pkg (a directory relative to the test's
// package, e.g. "./testdata/linkcheck") for linux/riscv64 with the given
// extra linker flags and -debugnosplit, and returns the call graph. It
// skips the test as Go does.
func Build(t testing.TB, pkg, ldflags string) (g Graph, exe string) {
	t.Helper()
	exe = filepath.Join(t.TempDir(), "linkcheck")
	out := Go(t, "build", "-o", exe, "-ldflags="+strings.TrimSpace(ldflags+" -debugnosplit"), pkg)
	g = parse(out)
	if len(g) == 0 {
		t.Fatalf("no call graph in the linker's output:\n%s", out)
	}
	return g, exe
}

// IndirectCalls disassembles the project's functions in the executable
// exe and returns, for each function in fns (named as in Graph), its
// calls through a register ("CALL (X5)"): the linker's graph cannot
// follow those.
func IndirectCalls(t testing.TB, exe string, fns map[string]bool) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "tool", "objdump", "-s", "^"+regexp.QuoteMeta(Module), exe).Output()
	if err != nil {
		t.Fatalf("go tool objdump: %v", err)
	}
	calls := map[string][]string{}
	var fn string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if rest, ok := strings.CutPrefix(l, "TEXT "); ok {
			sym, _, _ := strings.Cut(rest, "(SB)")
			fn = strings.TrimPrefix(sym, Module)
			continue
		}
		if fns[fn] && strings.Contains(l, "\tCALL (") {
			f := strings.Fields(l)
			calls[fn] = append(calls[fn], f[0]+": "+strings.Join(f[3:], " "))
		}
	}
	if fn == "" {
		t.Fatalf("go tool objdump listed no function of %s", Module)
	}
	return calls
}

// Go runs the go command for linux/riscv64 (the kernel's target) in the
// test's package directory and returns its combined output, failing t if
// it fails. It skips the test with -short or without a go command.
func Go(t testing.TB, args ...string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds for riscv64; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	cmd := exec.Command(gobin, args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0", "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// edge matches "nosplit: caller<1> +40 -> callee<0>"; <n> is the ABI.
var edge = regexp.MustCompile(`^nosplit: (\S+)<(\d+)> \+(\d+) -> (\S+)<(\d+)>$`)

func parse(out []byte) Graph {
	g := Graph{}
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
	return g
}

func name(fn, abi string) string {
	if !strings.HasPrefix(fn, Module) {
		return fn
	}
	fn = strings.TrimPrefix(fn, Module)
	if abi == "0" {
		fn += ".abi0"
	}
	return fn
}

// Reach returns the functions reachable from roots through callees that
// follow accepts (the roots themselves always count).
func (g Graph) Reach(follow func(fn string) bool, roots ...string) map[string]bool {
	seen := map[string]bool{}
	var walk func(fn string)
	walk = func(fn string) {
		if seen[fn] {
			return
		}
		seen[fn] = true
		for callee := range g[fn] {
			if follow(callee) {
				walk(callee)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return seen
}

// Depth returns the deepest stack from root in bytes, through callees
// that follow accepts, and that chain of calls. A chain longer than 64
// calls (a cycle: the linker would reject nosplit recursion) fails t.
func (g Graph) Depth(t testing.TB, root string, follow func(fn string) bool) (int, string) {
	t.Helper()
	var depth func(fn string, level int) (int, string)
	depth = func(fn string, level int) (int, string) {
		if level > 64 {
			t.Fatalf("call chain deeper than 64 through %s", fn)
		}
		best, path := 0, fn
		for callee, frame := range g[fn] {
			d, p := 0, callee
			if follow(callee) {
				d, p = depth(callee, level+1)
			}
			if frame+d > best {
				best, path = frame+d, fn+" -> "+p
			}
		}
		return best, path
	}
	return depth(root, 0)
}

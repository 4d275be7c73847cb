package fdt

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/linkcheck"
)

// stackBudget is how much of the ~800-byte nosplit budget Parse may use on
// linux/riscv64; the rest belongs to the kernel's own boot frames.
const stackBudget = 400

// TestNosplitDirectives checks that every function in the package's
// non-test files carries //go:nosplit: Parse runs with no g, so any
// function with a stack-growth prologue would crash.
func TestNosplitDirectives(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, goparser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			n++
			if !hasNosplit(fd.Doc) {
				t.Errorf("%s: func %s lacks //go:nosplit", fset.Position(fd.Pos()), fd.Name.Name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no functions found")
	}
}

func hasNosplit(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		if c.Text == "//go:nosplit" {
			return true
		}
	}
	return false
}

// TestCrossCompile builds the package for the kernel's target.
func TestCrossCompile(t *testing.T) {
	linkcheck.Go(t, "build", ".")
}

// TestNoHeap checks the compiler's escape analysis: nothing in the package
// may be heap-allocated, as there is no heap before the runtime starts.
func TestNoHeap(t *testing.T) {
	out := linkcheck.Go(t, "build", "-gcflags=-m", ".")
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "escapes to heap") || strings.Contains(line, "moved to heap") {
			t.Errorf("heap allocation: %s", line)
		}
	}
}

// TestNosplitStack links testdata/linkcheck for riscv64, which makes the
// linker enforce the nosplit limit on Parse's call chain, and reads the
// linker's call graph dump to check that
//   - the deepest chain from Parse and ParseBytes stays within stackBudget;
//   - package functions call nothing outside the package: no panics (bounds
//     checks included), no allocation, no morestack.
func TestNosplitStack(t *testing.T) {
	const pkg = "kernel/fdt."
	g, _ := linkcheck.Build(t, "./testdata/linkcheck", "")
	inPkg := func(fn string) bool { return strings.HasPrefix(fn, pkg) }
	for fn, callees := range g {
		if !inPkg(fn) {
			continue
		}
		for callee := range callees {
			if !inPkg(callee) {
				t.Errorf("%s calls %s", fn, callee)
			}
		}
	}
	for _, root := range []string{"Parse", "ParseBytes"} {
		if len(g[pkg+root]) == 0 {
			t.Fatalf("%s not in the linker's call graph", pkg+root)
		}
		d, path := g.Depth(t, pkg+root, inPkg)
		t.Logf("%s: %d bytes: %s", root, d, path)
		if d > stackBudget {
			t.Errorf("%s uses %d bytes of nosplit stack, budget %d: %s", root, d, stackBudget, path)
		}
	}
}

package kbuild

import (
	"bytes"
	"context"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// decls lists a file's top-level declarations but imports, functions by
// name and parameter and result types, so that a gVisor upgrade that
// changes what the replaced file declares fails here rather than in a
// kernel build or, worse, not at all.
func decls(t *testing.T, fset *token.FileSet, f *ast.File) []string {
	t.Helper()
	str := func(n ast.Node) string {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, n); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	types := func(fl *ast.FieldList) string {
		var s []string
		if fl != nil {
			for _, f := range fl.List {
				for range max(1, len(f.Names)) {
					s = append(s, str(f.Type))
				}
			}
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			recv := ""
			if d.Recv != nil {
				recv = types(d.Recv) + " "
			}
			out = append(out, "func "+recv+d.Name.Name+types(d.Type.TypeParams)+types(d.Type.Params)+types(d.Type.Results))
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				continue
			}
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					out = append(out, "type "+s.Name.Name+" "+str(s.Type))
				case *ast.ValueSpec:
					for _, n := range s.Names {
						out = append(out, d.Tok.String()+" "+n.Name)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func buildConstraint(t *testing.T, f *ast.File) string {
	t.Helper()
	for _, g := range f.Comments {
		for _, c := range g.List {
			if constraint.IsGoBuild(c.Text) {
				x, err := constraint.Parse(c.Text)
				if err != nil {
					t.Fatal(err)
				}
				return x.String()
			}
		}
	}
	return ""
}

// TestGvisorBitsFile checks that the gVisor file kernel builds replace is
// still there at the version go.mod requires, still built for riscv64
// under the same constraint, and declares what our replacement declares.
func TestGvisorBitsFile(t *testing.T) {
	ctx := context.Background()
	dir := pkgDir(ctx, ".", gvisorBitsPkg)
	if dir == "" {
		t.Fatalf("go list %s: the module should see gVisor", gvisorBitsPkg)
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gvisor.dev/gvisor")
	mod, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(strings.TrimSpace(string(mod)), "pkg", "bits"); dir != want {
		t.Fatalf("%s is in %s, not in go.mod's gVisor (%s)", gvisorBitsPkg, dir, want)
	}
	cmd = exec.Command("go", "list", "-f", "{{.GoFiles}}", gvisorBitsPkg)
	cmd.Env = Env()
	files, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(strings.Trim(strings.TrimSpace(string(files)), "[]")), gvisorBitsFile) {
		t.Fatalf("gVisor's riscv64 build of %s no longer compiles %s (files %s)", gvisorBitsPkg, gvisorBitsFile, files)
	}

	fset := token.NewFileSet()
	theirs, err := parser.ParseFile(fset, filepath.Join(dir, gvisorBitsFile), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := parser.ParseFile(fset, "overlay.go", gvisorBitsText(), parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if ours.Name.Name != theirs.Name.Name {
		t.Errorf("package %s replaces a file of package %s", ours.Name.Name, theirs.Name.Name)
	}
	if a, b := buildConstraint(t, ours), buildConstraint(t, theirs); a != b || a == "" {
		t.Errorf("build constraint %q replaces one of %q", a, b)
	}
	a, b := decls(t, fset, ours), decls(t, fset, theirs)
	if !slices.Equal(a, b) {
		t.Errorf("the replacement declares\n\t%s\nwhile gVisor's %s declares\n\t%s", strings.Join(a, "\n\t"), gvisorBitsFile, strings.Join(b, "\n\t"))
	}
	if len(b) != 3 {
		t.Errorf("gVisor's file declares %d things, expected the three functions", len(b))
	}
}

// TestGvisorBitsBuild compiles gVisor's packages bits and buffer for
// riscv64 with the go.mod kernel builds use, and checks that it is our
// file they compile.
func TestGvisorBitsBuild(t *testing.T) {
	tmp := t.TempDir()
	modfile, err := gvisorBits(context.Background(), ".", tmp)
	if err != nil {
		t.Fatal(err)
	}
	if modfile == "" {
		t.Fatal("no replacement for gVisor's bits")
	}
	cmd := exec.Command("go", "list", "-modfile", modfile, "-f", "{{.Dir}}", gvisorBitsPkg)
	cmd.Env = Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), gvisorBitsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, gvisorBitsText()) {
		t.Fatalf("the build sees a %s that is not ours:\n%s", gvisorBitsFile, got)
	}
	cmd = exec.Command("go", "build", "-modfile", modfile, gvisorBitsPkg, "gvisor.dev/gvisor/pkg/buffer")
	cmd.Env = Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

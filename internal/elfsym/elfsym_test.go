package elfsym

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Every symbol of this test binary is found with the value, size and
// section debug/elf gives (the first of duplicate names), and an absent
// name is not.
func TestLookupMatchesDebugELF(t *testing.T) {
	f := riscvProgram(t)
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	checked := 0
	for _, s := range syms {
		if s.Name == "" || seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		got, ok := Lookup(f, s.Name)
		if !ok || got.Value != s.Value || got.Size != s.Size || got.Section != s.Section {
			t.Fatalf("Lookup(%q) = %+v, %v; debug/elf has %+v", s.Name, got, ok, s)
		}
		if checked++; checked > 2000 {
			break
		}
	}
	if _, ok := Lookup(f, "no such symbol, surely"); ok {
		t.Error("found a symbol that does not exist")
	}
}

// riscvProgram builds a small riscv64 Go program (test binaries have no
// symbol table) and opens it.
func riscvProgram(t *testing.T) *elf.File {
	t.Helper()
	// A riscv64 program built here (test binaries have no symbol table).
	// A riscv64 program built here (test binaries have no symbol table).
	dir := t.TempDir()
	src, exe := filepath.Join(dir, "main.go"), filepath.Join(dir, "prog")
	if err := os.WriteFile(src, []byte("package main\nfunc main() { println(1) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", exe, src)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Names gives every name debug/elf's Symbols gives, in the same order,
// and stops when asked to.
func TestNamesMatchesDebugELF(t *testing.T) {
	f := riscvProgram(t)
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if !Names(f, func(n []byte) bool { got = append(got, string(n)); return true }) {
		t.Fatal("Names found no symbol table")
	}
	if len(got) != len(syms) {
		t.Fatalf("Names gave %d names, debug/elf %d symbols", len(got), len(syms))
	}
	for i, s := range syms {
		if got[i] != s.Name {
			t.Fatalf("name %d: Names %q, debug/elf %q", i, got[i], s.Name)
		}
	}
	calls := 0
	Names(f, func([]byte) bool { calls++; return calls < 3 })
	if calls != 3 {
		t.Errorf("Names went on after fn returned false: %d calls, want 3", calls)
	}
}

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
	defer f.Close()
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

package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEncode checks the hand-written pprof encoding with the reader go
// build itself uses: go tool preprofile must see each edge with its
// call's offset from the caller's first line.
func TestEncode(t *testing.T) {
	var p profile
	p.add("pkg.callee", 40, 40, "pkg.(*T).caller", 10, 17, 300)
	p.add("pkg.other", 50, 50, "pkg.(*T).caller", 10, 12, 100)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "p.pgo"), filepath.Join(dir, "p.pre")
	if err := os.WriteFile(in, p.encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("go", "tool", "preprofile", "-i", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("go tool preprofile: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "GO PREPROFILE V1\npkg.(*T).caller\npkg.callee\n7 300\npkg.(*T).caller\npkg.other\n2 100\n"
	if got := string(b); !strings.Contains(got, want) {
		t.Errorf("preprofile:\n%s\nwant:\n%s", got, want)
	}
}

// TestInlining builds testdata/inl and checks that the call to leaf,
// inlined with inner into outer, is inner's at inner's line offset.
func TestInlining(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "inl")
	// Built for Linux whatever the host: pgoprof reads ELF and DWARF.
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/inl")
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	in, err := readInlining(d)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := readLines(d)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := entries(f, in)
	if err != nil {
		t.Fatal(err)
	}
	var outer uint64
	for a, fn := range fns {
		if fn.name == "main.outer" {
			outer = a
		}
	}
	if outer == 0 {
		t.Fatal("no main.outer")
	}
	// The instructions of line 11 (inner's call to leaf) inside outer.
	found := false
	for i, a := range lines.addr {
		if a < outer || a > outer+256 || lines.line[i] != 11 {
			continue
		}
		fn, ok := in.at(a)
		if !ok || fn.name != "main.inner" || fn.declLine != 10 {
			t.Errorf("at %#x: %+v, want main.inner starting on line 10", a, fn)
		}
		found = true
	}
	if !found {
		t.Error("no code of line 11 in main.outer")
	}
}

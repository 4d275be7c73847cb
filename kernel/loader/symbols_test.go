package loader

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// TestFuncsMatchesDebugELF reads the function symbols of a real riscv64
// program (built here with Go) with Funcs and with debug/elf, and
// checks they agree; then names addresses inside and outside them.
func TestFuncsMatchesDebugELF(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var want []Func
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Name != "" {
			want = append(want, Func{s.Name, s.Value, s.Size})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Addr < want[j].Addr })
	got := Funcs(data)
	if len(got) != len(want) || len(got) < 100 {
		t.Fatalf("Funcs found %d functions, debug/elf %d", len(got), len(want))
	}
	var main Func
	for i := range got {
		if got[i].Addr != want[i].Addr || got[i].Size != want[i].Size {
			t.Fatalf("function %d: %+v, debug/elf %+v", i, got[i], want[i])
		}
		if got[i].Name == "main.main" {
			main = got[i]
		}
	}
	if main.Size == 0 {
		t.Fatal("no main.main")
	}
	if s := FuncAt(got, main.Addr+4); s != "main.main+0x4" {
		t.Errorf("FuncAt(main.main+4) = %q", s)
	}
	if s := FuncAt(got, 1); s != "" {
		t.Errorf("FuncAt(1) = %q, want none", s)
	}

	// The copy the kernel keeps for crash reports names the same
	// functions and is a small part of the file.
	kept := KeepSymbols(data)
	if !reflect.DeepEqual(Funcs(kept), got) {
		t.Fatalf("Funcs of KeepSymbols' copy differs from Funcs of the file")
	}
	if len(kept) == 0 || len(kept) > len(data)/4 {
		t.Fatalf("KeepSymbols kept %d bytes of a %d-byte file", len(kept), len(data))
	}
	if _, err := elf.NewFile(bytes.NewReader(kept)); err != nil {
		t.Fatalf("KeepSymbols' copy is not an ELF file debug/elf reads: %v", err)
	}
}

// TestFuncsHostile feeds truncated and corrupted files: no panic, and
// nothing outside the file is read.
func TestFuncsHostile(t *testing.T) {
	if Funcs(nil) != nil || Funcs([]byte("\x7fELF")) != nil {
		t.Fatal("want nil for short files")
	}
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01")
	h[0x28] = 0xff // section headers past the end
	h[0x3a], h[0x3c] = 64, 3
	if Funcs(h) != nil {
		t.Fatal("want nil for section headers outside the file")
	}
	// A symbol table whose size runs past the file.
	f := make([]byte, 64+2*64)
	copy(f, h)
	f[0x28], f[0x3c] = 64, 2
	sh := f[64+64:]
	sh[4] = 2                                  // SHT_SYMTAB
	sh[0x18], sh[0x20], sh[0x38] = 0, 0xff, 24 // off 0, size 255 > file
	if Funcs(f) != nil {
		t.Fatal("want nil for a symbol table outside the file")
	}
	for _, b := range [][]byte{nil, []byte("\x7fELF"), h, f} {
		if KeepSymbols(b) != nil {
			t.Fatalf("KeepSymbols(%q): want nil", b)
		}
	}
}

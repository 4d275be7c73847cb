package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A Go program that dials is taken to use sockets; one that only prints
// is not; a stripped one may, so it is.
func TestUsesSockets(t *testing.T) {
	dir := t.TempDir()
	progs := map[string]string{
		"plain": "package main\nimport \"fmt\"\nfunc main() { fmt.Println(1) }\n",
		"dials": "package main\nimport \"net\"\nfunc main() { net.Dial(\"tcp\", \"127.0.0.1:1\") }\n",
	}
	for name, src := range progs {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "main.go"), []byte(src), 0o644)
		os.WriteFile(filepath.Join(d, "go.mod"), []byte("module "+name+"\n"), 0o644)
		for _, strip := range []bool{false, true} {
			out := filepath.Join(dir, name+".elf")
			args := []string{"build", "-o", out}
			if strip {
				out += "-stripped"
				args = []string{"build", "-ldflags=-s", "-o", out}
			}
			cmd := exec.Command("go", append(args, ".")...)
			cmd.Dir = d
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build %s: %v\n%s", name, err, b)
			}
			got, err := UsesSockets(out)
			want := name == "dials" || strip
			if err != nil || got != want {
				t.Errorf("UsesSockets(%s, stripped %v) = %v, %v; want %v", name, strip, got, err, want)
			}
		}
	}
}

// A C program on musl that calls localtime reads the zone database; one
// that only prints does not; a Go program does once it links package
// time.
func TestReadsZoneinfo(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"plain.bin":  "\x7fELF...puts...",
		"musltz.bin": "\x7fELF.../usr/share/zoneinfo/\x00/share/zoneinfo/\x00",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := ReadsZoneinfo(filepath.Join(dir, "plain.bin")); err != nil || r {
		t.Errorf("plain: %v, %v; want false", r, err)
	}
	if r, err := ReadsZoneinfo(filepath.Join(dir, "musltz.bin")); err != nil || !r {
		t.Errorf("musl with time zones: %v, %v; want true", r, err)
	}
	if _, err := ReadsZoneinfo(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
	// Go programs: println alone links no time-zone code; package time
	// names /usr/share/zoneinfo.
	for src, want := range map[string]bool{
		"package main\nfunc main() { println(1) }\n":                                    false,
		"package main\nimport \"time\"\nfunc main() { println(time.Now().String()) }\n": true,
	} {
		goProg := filepath.Join(dir, "main.go")
		os.WriteFile(goProg, []byte(src), 0o644)
		out := filepath.Join(dir, "go.elf")
		cmd := exec.Command("go", "build", "-o", out, goProg)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, b)
		}
		if r, err := ReadsZoneinfo(out); err != nil || r != want {
			t.Errorf("Go program %q: %v, %v; want %v", src, r, err, want)
		}
	}
}

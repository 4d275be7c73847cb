package toolchain_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/toolchain"
	"github.com/runikraft/runikraft/internal/toolchain/toolchaintest"
)

func TestCheckAppHeaders(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		want    string // error substring, "" for none
	}{
		{"static-pie", toolchaintest.ELF(t, uint16(elf.EM_RISCV), 2, uint16(elf.ET_DYN)), ""},
		{"exec", toolchaintest.ELF(t, uint16(elf.EM_RISCV), 2, uint16(elf.ET_EXEC)), ""},
		{"x86", toolchaintest.ELF(t, uint16(elf.EM_X86_64), 2, uint16(elf.ET_EXEC)), "is for EM_X86_64, not riscv64"},
		{"rv32", toolchaintest.ELF(t, uint16(elf.EM_RISCV), 1, uint16(elf.ET_EXEC)), "is ELFCLASS32, not 64-bit"},
		{"object", toolchaintest.ELF(t, uint16(elf.EM_RISCV), 2, uint16(elf.ET_REL)), "is ET_REL, not an executable"},
		{"text", []byte("#!/bin/sh\necho hi\n"), "is not an ELF file"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		if err := os.WriteFile(p, tt.content, 0o755); err != nil {
			t.Fatal(err)
		}
		err := toolchain.CheckApp(p)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if err := toolchain.CheckApp(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

// TestCheckAppCrossGCC checks real programs from Debian's cross gcc, when
// it is installed: glibc's static one passes, a dynamic one does not.
func TestCheckAppCrossGCC(t *testing.T) {
	gcc, err := exec.LookPath(toolchain.DefaultCross)
	if err != nil {
		t.Skipf("%s not installed", toolchain.DefaultCross)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "x.c")
	os.WriteFile(src, []byte("#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n"), 0o644)
	build := func(name string, flags ...string) string {
		out := filepath.Join(dir, name)
		if b, err := exec.Command(gcc, append(flags, "-o", out, src)...).CombinedOutput(); err != nil {
			t.Skipf("cross gcc cannot build %s: %v\n%s", name, err, b)
		}
		return out
	}
	if err := toolchain.CheckApp(build("static", "-static")); err != nil {
		t.Errorf("static glibc program: %v", err)
	}
	err = toolchain.CheckApp(build("dynamic"))
	if err == nil || !strings.Contains(err.Error(), "asks for the dynamic linker /lib/ld-linux-riscv64") {
		t.Errorf("dynamic program: err = %v, want the dynamic linker named", err)
	}
}

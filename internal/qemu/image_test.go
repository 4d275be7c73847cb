package qemu

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/payload"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckImage(t *testing.T) {
	good := payload.PrintAndExit("ok\n", 0)
	im, err := CheckImage(writeFile(t, "good.elf", good))
	if err != nil {
		t.Fatal(err)
	}
	if im.Entry != payload.Base || im.LoadBase != payload.Base || im.EntryMismatch() {
		t.Errorf("CheckImage = %+v", im)
	}

	patch := func(off int, v uint16) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint16(b[off:], v)
		return b
	}
	x86 := patch(18, 62) // e_machine = EM_X86_64
	// A bare ELF32 header: riscv32, no segments.
	rv32 := make([]byte, 52)
	copy(rv32, "\x7fELF\x01\x01\x01")
	binary.LittleEndian.PutUint16(rv32[16:], 2)   // ET_EXEC
	binary.LittleEndian.PutUint16(rv32[18:], 243) // EM_RISCV
	binary.LittleEndian.PutUint32(rv32[20:], 1)
	binary.LittleEndian.PutUint16(rv32[40:], 52)
	noLoad := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(noLoad[64:], 4) // PT_NOTE instead of PT_LOAD
	moved := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(moved[24:], payload.Base+8) // e_entry

	dir := t.TempDir()
	unreadable := writeFile(t, "unreadable.elf", good)
	os.Chmod(unreadable, 0)

	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.elf"), "no such file"},
		{"directory", dir, "is a directory"},
		{"text", writeFile(t, "script.sh", []byte("#!/bin/sh\necho hi\n")), "not an ELF file"},
		{"empty", writeFile(t, "empty", nil), "not an ELF file"},
		{"x86-64", writeFile(t, "x86.elf", x86), "want riscv64"},
		{"32-bit", writeFile(t, "rv32.elf", rv32), "ELF for riscv32"},
		{"no PT_LOAD", writeFile(t, "noload.elf", noLoad), "no loadable segments"},
	} {
		_, err := CheckImage(tc.path)
		if err == nil {
			t.Errorf("%s: CheckImage succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q should name %s and say %q", tc.name, err, tc.path, tc.want)
		}
	}

	if os.Geteuid() != 0 { // root reads anything
		if _, err := CheckImage(unreadable); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("unreadable: error %v", err)
		}
	}

	im, err = CheckImage(writeFile(t, "moved.elf", moved))
	if err != nil || !im.EntryMismatch() {
		t.Errorf("entry moved: %+v, %v; want EntryMismatch", im, err)
	}
}

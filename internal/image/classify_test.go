package image

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/payload"
)

func TestIsMachineImage(t *testing.T) {
	le := binary.LittleEndian
	at := func(vaddr, paddr uint64, linux bool) string {
		img := payload.PrintAndExit("", 0)
		le.PutUint64(img[64+16:], vaddr)
		le.PutUint64(img[64+24:], paddr)
		if linux {
			img[7] = 3 // EI_OSABI: ELFOSABI_LINUX
		}
		p := filepath.Join(t.TempDir(), "img")
		if err := os.WriteFile(p, img, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name         string
		vaddr, paddr uint64
		linux        bool
		machine      bool
		refused      string // part of the reason; "" if accepted
	}{
		{"bare payload at the kernel's address", 0x8020_0000, 0x8020_0000, false, true, ""},
		{"Linux program linked low", 0x1_0000, 0x1_0000, true, false, ""},
		{"Linux program at the kernel's address", 0x8020_0000, 0x8020_0000, true, false, "a Linux program linked at 0x80200000"},
		{"bare payload over the firmware", 0x8000_0000, 0x8000_0000, false, false, "over the firmware"},
		{"program in the kernel half", 0xffff_ffc0_0000_0000, 0xffff_ffc0_0000_0000, true, false, "kernel half"},
		{"kernel-half virtual, RAM physical (vmlinux-like)", 0xffff_ffff_8000_0000, 0x8020_0000, false, true, ""},
	} {
		machine, err := IsMachineImage(at(c.vaddr, c.paddr, c.linux))
		switch {
		case c.refused == "" && (err != nil || machine != c.machine):
			t.Errorf("%s: machine %v, %v; want %v", c.name, machine, err, c.machine)
		case c.refused != "" && (!errors.Is(err, ErrUnusable) || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: %v; want ErrUnusable saying %q", c.name, err, c.refused)
		}
	}
}

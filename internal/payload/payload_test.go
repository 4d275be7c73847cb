package payload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"
)

// The encodings themselves are tested in kernel/rvasm against binutils;
// here, that a payload is the expected sequence.
func TestPrintAndExitCode(t *testing.T) {
	want := []uint32{
		0x001002b7, // lui t0,0x100
		0x00073337, // lui t1,0x73
		0x3333031b, // addiw t1,t1,0x333
		0x0062a023, // sw t1,0(t0)
		0x0000006f, // j .
	}
	img := PrintAndExit("", 7)
	code := img[len(img)-4*len(want):]
	for i, w := range want {
		if got := binary.LittleEndian.Uint32(code[4*i:]); got != w {
			t.Errorf("word %d = %08x, want %08x", i, got, w)
		}
	}
	if len(img) != 120+4*len(want) {
		t.Errorf("image is %d bytes, want %d", len(img), 120+4*len(want))
	}
}

func TestBareIsValidELF(t *testing.T) {
	img := PrintAndExit("ok\n", 0)
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_RISCV || f.Type != elf.ET_EXEC {
		t.Errorf("header: %v %v %v %v", f.Class, f.Data, f.Machine, f.Type)
	}
	if f.Entry != Base {
		t.Errorf("entry %#x, want %#x", f.Entry, Base)
	}
	if len(f.Progs) != 1 {
		t.Fatalf("%d program headers, want 1", len(f.Progs))
	}
	p := f.Progs[0]
	if p.Type != elf.PT_LOAD || p.Flags != elf.PF_R|elf.PF_W|elf.PF_X || p.Vaddr != Base || p.Paddr != Base || p.Filesz != p.Memsz {
		t.Errorf("program header: %+v", p.ProgHeader)
	}
	data := make([]byte, p.Filesz)
	if _, err := p.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	// 3 bytes × (addi+sb) + lui for the UART + lui/li(2)/sw/j for the exit.
	if want := 4 * (1 + 3*2 + 5); len(data) != want {
		t.Errorf("code is %d bytes, want %d", len(data), want)
	}
}

func TestPrintAndExitRange(t *testing.T) {
	for _, code := range []int{-1, 256} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("PrintAndExit(_, %d) did not panic", code)
				}
			}()
			PrintAndExit("", code)
		}()
	}
}

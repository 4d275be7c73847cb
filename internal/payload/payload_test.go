package payload

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"
)

// Golden words come from riscv64-linux-gnu-as -march=rv64g with .option
// norvc, disassembled with objdump -M no-aliases.
func TestEncodings(t *testing.T) {
	for _, tc := range []struct {
		name string
		emit func(c *Code)
		want []uint32
	}{
		{"lui t0,0x100", func(c *Code) { c.Lui(T0, 0x100) }, []uint32{0x001002b7}},
		{"lui t0,0x10000", func(c *Code) { c.Lui(T0, 0x10000) }, []uint32{0x100002b7}},
		{"lui t1,0xfffff", func(c *Code) { c.Lui(T1, 0xfffff) }, []uint32{0xfffff337}},
		{"addi t1,zero,111", func(c *Code) { c.Addi(T1, Zero, 111) }, []uint32{0x06f00313}},
		{"addi t1,zero,255", func(c *Code) { c.Addi(T1, Zero, 255) }, []uint32{0x0ff00313}},
		{"addi t1,t0,-1", func(c *Code) { c.Addi(T1, T0, -1) }, []uint32{0xfff28313}},
		{"addi t1,t0,-2048", func(c *Code) { c.Addi(T1, T0, -2048) }, []uint32{0x80028313}},
		{"addi t1,t0,2047", func(c *Code) { c.Addi(T1, T0, 2047) }, []uint32{0x7ff28313}},
		{"addiw t1,t1,819", func(c *Code) { c.Addiw(T1, T1, 0x333) }, []uint32{0x3333031b}},
		{"addiw t1,t1,-2048", func(c *Code) { c.Addiw(T1, T1, -2048) }, []uint32{0x8003031b}},
		{"sb t1,0(t0)", func(c *Code) { c.Sb(T1, T0, 0) }, []uint32{0x00628023}},
		{"sb t1,-1(t0)", func(c *Code) { c.Sb(T1, T0, -1) }, []uint32{0xfe628fa3}},
		{"sb t1,2047(t0)", func(c *Code) { c.Sb(T1, T0, 2047) }, []uint32{0x7e628fa3}},
		{"sw t1,0(t0)", func(c *Code) { c.Sw(T1, T0, 0) }, []uint32{0x0062a023}},
		{"sw t1,-2048(t0)", func(c *Code) { c.Sw(T1, T0, -2048) }, []uint32{0x8062a023}},
		{"sw t1,36(t0)", func(c *Code) { c.Sw(T1, T0, 36) }, []uint32{0x0262a223}},
		{"li t1,0x73333", func(c *Code) { c.Li32(T1, 0x73333) }, []uint32{0x00073337, 0x3333031b}},
		{"li t1,0x5555", func(c *Code) { c.Li32(T1, 0x5555) }, []uint32{0x00005337, 0x5553031b}},
		{"li t1,0x800", func(c *Code) { c.Li32(T1, 0x800) }, []uint32{0x00001337, 0x8003031b}},
		{"li t1,0x7ffff800", func(c *Code) { c.Li32(T1, 0x7ffff800) }, []uint32{0x80000337, 0x8003031b}},
		{"lbu t1,5(t0)", func(c *Code) { c.Lbu(T1, T0, 5) }, []uint32{0x0052c303}},
		{"lbu t1,0(t0)", func(c *Code) { c.Lbu(T1, T0, 0) }, []uint32{0x0002c303}},
		{"lbu t3,-1(t0)", func(c *Code) { c.Lbu(T3, T0, -1) }, []uint32{0xfff2ce03}},
		{"andi t1,t1,1", func(c *Code) { c.Andi(T1, T1, 1) }, []uint32{0x00137313}},
		{"andi t3,t3,32", func(c *Code) { c.Andi(T3, T3, 32) }, []uint32{0x020e7e13}},
		{"andi t1,t1,-1", func(c *Code) { c.Andi(T1, T1, -1) }, []uint32{0xfff37313}},
		{"beq t1,zero,.", func(c *Code) { c.Beq(T1, Zero, 0) }, []uint32{0x00030063}},
		{"beq t1,zero,.-4", func(c *Code) { c.Beq(T1, Zero, -4) }, []uint32{0xfe030ee3}},
		{"bne t2,zero,.-32", func(c *Code) { c.Bne(T2, Zero, -32) }, []uint32{0xfe0390e3}},
		{"bne t1,t2,.+4092", func(c *Code) { c.Bne(T1, T2, 4092) }, []uint32{0x7e731ee3}},
		{"jal zero,.", func(c *Code) { c.Jal(Zero, 0) }, []uint32{0x0000006f}},
		{"jal zero,.-4", func(c *Code) { c.Jal(Zero, -4) }, []uint32{0xffdff06f}},
		{"jal ra,.+2044", func(c *Code) { c.Jal(1, 2044) }, []uint32{0x7fc000ef}},
		{"jal zero,.-2152", func(c *Code) { c.Jal(Zero, -2152) }, []uint32{0xf98ff06f}},
	} {
		var c Code
		tc.emit(&c)
		if !equalWords(c.words, tc.want) {
			t.Errorf("%s: got %08x, want %08x", tc.name, c.words, tc.want)
		}
	}
}

func equalWords(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLi32Value(t *testing.T) {
	// Simulate lui+addiw and check the low 32 bits for awkward values.
	for _, v := range []uint32{0, 1, 0x7ff, 0x800, 0xfff, 0x1000, 0x3333, 0xff3333, 0x7fffffff, 0x80000000, 0xffff3333, 0xffffffff} {
		var c Code
		c.Li32(T1, v)
		hi := int64(int32(c.words[0] & 0xfffff000))
		lo := int64(int32(c.words[1]) >> 20)
		if got := uint32(hi + lo); got != v {
			t.Errorf("Li32(%#x) computes %#x", v, got)
		}
	}
}

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

package rvasm

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cases pairs each encoder call with the assembly binutils reads for the
// same instruction(s); testdata/golden.txt holds binutils' words for it.
var cases = []struct {
	asm   string // one instruction per line
	words []uint32
}{
	{"lui t0,0x100", w(Lui(T0, 0x100))},
	{"lui t0,0x10000", w(Lui(T0, 0x10000))},
	{"lui t1,0xfffff", w(Lui(T1, 0xfffff))},
	{"auipc t3,0x0", w(Auipc(T3, 0))},
	{"auipc t0,0x80000", w(Auipc(T0, 0x80000))},
	{"addi t1,zero,111", w(Addi(T1, Zero, 111))},
	{"addi t1,t0,-1", w(Addi(T1, T0, -1))},
	{"addi t1,t0,-2048", w(Addi(T1, T0, -2048))},
	{"addi t1,t0,2047", w(Addi(T1, T0, 2047))},
	{"addi a7,zero,113", w(Addi(A7, Zero, 113))},
	{"addi zero,zero,0", w(Nop())},
	{"addiw t1,t1,819", w(Addiw(T1, T1, 0x333))},
	{"addiw t1,t1,-2048", w(Addiw(T1, T1, -2048))},
	{"andi t1,t1,1", w(Andi(T1, T1, 1))},
	{"andi t3,t3,32", w(Andi(T3, T3, 32))},
	{"andi t1,t1,-1", w(Andi(T1, T1, -1))},
	{"lbu t1,5(t0)", w(Lbu(T1, T0, 5))},
	{"lbu t3,-1(t0)", w(Lbu(T3, T0, -1))},
	{"ld t4,-128(t3)", w(Ld(T4, T3, -128))},
	{"ld t0,16(t0)", w(Ld(T0, T0, 16))},
	{"ld s11,2040(sp)", w(Ld(S11, SP, 2040))},
	{"sb t1,0(t0)", w(Sb(T1, T0, 0))},
	{"sb t1,-1(t0)", w(Sb(T1, T0, -1))},
	{"sb t1,2047(t0)", w(Sb(T1, T0, 2047))},
	{"sw t1,-2048(t0)", w(Sw(T1, T0, -2048))},
	{"sw t1,36(t0)", w(Sw(T1, T0, 36))},
	{"sd t1,0(a1)", w(Sd(T1, A1, 0))},
	{"sd t2,8(a1)", w(Sd(T2, A1, 8))},
	{"sd a0,-40(s0)", w(Sd(A0, S0, -40))},
	{"add t1,t1,t0", w(Add(T1, T1, T0))},
	{"sub t2,t2,t6", w(Sub(T2, T2, T6))},
	{"mul t2,t2,t6", w(Mul(T2, T2, T6))},
	{"divu t1,t0,t4", w(Divu(T1, T0, T4))},
	{"remu t2,t0,t4", w(Remu(T2, T0, T4))},
	{"beq t1,zero,.", w(Beq(T1, Zero, 0))},
	{"beq t1,zero,.-4", w(Beq(T1, Zero, -4))},
	{"beq a0,t0,.+100", w(Beq(A0, T0, 100))},
	{"bne t2,zero,.-32", w(Bne(T2, Zero, -32))},
	{"bne t1,t2,.+4092", w(Bne(T1, T2, 4092))},
	{"bne t1,t2,.-4096", w(Bne(T1, T2, -4096))},
	{"bltu t2,t6,.+12", w(Bltu(T2, T6, 12))},
	{"jal zero,.", w(Jal(Zero, 0))},
	{"jal zero,.-4", w(Jal(Zero, -4))},
	{"jal ra,.+2044", w(Jal(RA, 2044))},
	{"jal zero,.-2152", w(Jal(Zero, -2152))},
	{"jal ra,.+1048574", w(Jal(RA, 1<<20-2))},
	{"jalr zero,0(ra)", w(Ret())},
	{"jalr zero,0(t0)", w(Jalr(Zero, T0, 0))},
	{"jalr ra,-8(a5)", w(Jalr(RA, A5, -8))},
	{"ecall", w(Ecall())},
	{"ebreak", w(Ebreak())},
	{"csrrs t0,time,zero", w(Rdtime(T0))},
	{"csrrs a0,sstatus,a1", w(Csrrs(A0, 0x100, A1))},
	{"li t1,0x73333", li(T1, 0x73333)},
	{"li t1,0x5555", li(T1, 0x5555)},
	{"li t1,0x800", li(T1, 0x800)},
	{"li t1,0x7ffff800", li(T1, 0x7ffff800)},
	{"li t2,0x7fffffff", li(T2, 0x7fffffff)},
}

func w(words ...uint32) []uint32 { return words }

func li(rd Reg, v uint32) []uint32 { p := Li32(rd, v); return p[:] }

// golden reads testdata/golden.txt: "asm<TAB>word word ...", as
// riscv64-linux-gnu-as -march=rv64gc with .option norvc assembled it
// (TestGoldenIsBinutils regenerates it where binutils is installed).
func golden(t *testing.T) map[string][]uint32 {
	t.Helper()
	f, err := os.Open("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := map[string][]uint32{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		asm, words, ok := strings.Cut(sc.Text(), "\t")
		if !ok || strings.HasPrefix(asm, "#") {
			continue
		}
		for _, s := range strings.Fields(words) {
			v, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				t.Fatalf("golden.txt: %q: %v", sc.Text(), err)
			}
			g[asm] = append(g[asm], uint32(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEncodings(t *testing.T) {
	g := golden(t)
	for _, c := range cases {
		want, ok := g[c.asm]
		if !ok {
			t.Errorf("%s: not in testdata/golden.txt", c.asm)
			continue
		}
		if fmt.Sprintf("%08x", c.words) != fmt.Sprintf("%08x", want) {
			t.Errorf("%s: encoded %08x, binutils %08x", c.asm, c.words, want)
		}
	}
}

// TestGoldenIsBinutils assembles every case with binutils and checks the
// recorded words against it; with -update it rewrites golden.txt.
func TestGoldenIsBinutils(t *testing.T) {
	as, err1 := exec.LookPath("riscv64-linux-gnu-as")
	objdump, err2 := exec.LookPath("riscv64-linux-gnu-objdump")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("riscv64-linux-gnu-as/objdump missing: install.sh installs them (Debian's binutils-riscv64-linux-gnu)")
		}
		t.Skip("riscv64-linux-gnu-as/objdump missing (Debian's binutils-riscv64-linux-gnu; ./install.sh installs it)")
	}
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString(".option norvc\n.text\n")
	for _, c := range cases {
		src.WriteString(c.asm + "\n")
	}
	s, o := filepath.Join(dir, "g.s"), filepath.Join(dir, "g.o")
	if err := os.WriteFile(s, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(as, "-march=rv64gc", "-o", o, s).CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	out, err := exec.Command(objdump, "-d", "-M", "no-aliases", o).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	// Instruction lines look like "   4:\t00100313          \taddi\tt1,zero,1".
	var words []uint32
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 3 || !strings.HasSuffix(strings.TrimSpace(f[0]), ":") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(f[1]), 16, 32)
		if err != nil {
			continue
		}
		words = append(words, uint32(v))
	}
	var rec strings.Builder
	rec.WriteString("# Machine words from riscv64-linux-gnu-as -march=rv64gc (.option norvc),\n# read back with objdump; regenerate: go test -run GoldenIsBinutils -update\n")
	for _, c := range cases {
		n := len(c.words)
		if len(words) < n {
			t.Fatalf("objdump gave fewer words than the cases need:\n%s", out)
		}
		fmt.Fprintf(&rec, "%s\t%08x\n", c.asm, words[:n])
		words = words[n:]
	}
	if len(words) != 0 {
		t.Fatalf("objdump gave %d words more than the cases need", len(words))
	}
	got := strings.NewReplacer("[", "", "]", "").Replace(rec.String())
	if *update {
		if err := os.WriteFile("testdata/golden.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("testdata/golden.txt differs from what binutils assembles now:\n%s", got)
	}
}

func TestLi32Value(t *testing.T) {
	// Evaluate lui+addiw and check the low 32 bits for awkward values.
	for _, v := range []uint32{0, 1, 0x7ff, 0x800, 0xfff, 0x1000, 0x3333, 0xff3333, 0x7fffffff, 0x80000000, 0xffff3333, 0xffffffff} {
		p := Li32(T1, v)
		hi := int64(int32(p[0] & 0xfffff000))
		lo := int64(int32(p[1]) >> 20)
		if got := uint32(hi + lo); got != v {
			t.Errorf("Li32(%#x) loads %#x", v, got)
		}
	}
}

func TestLen(t *testing.T) {
	for _, c := range []struct {
		half uint16
		n    int
	}{{0x0001, 2}, {0x8082, 2}, {0x9002, 2}, {0x0073, 4}, {0x0297, 4}, {0xffff, 4}} {
		if got := Len(c.half); got != c.n {
			t.Errorf("Len(%#04x) = %d, want %d", c.half, got, c.n)
		}
	}
}

func TestOutOfRangePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"addi 2048":    func() { Addi(T0, T0, 2048) },
		"addi -2049":   func() { Addi(T0, T0, -2049) },
		"sd 2048":      func() { Sd(T0, T0, 2048) },
		"beq odd":      func() { Beq(T0, T0, 3) },
		"beq 4096":     func() { Beq(T0, T0, 4096) },
		"jal 1<<20":    func() { Jal(Zero, 1<<20) },
		"lui 0x100000": func() { Lui(T0, 0x100000) },
		"register 32":  func() { Add(32, T0, T0) },
		"csr 0x1000":   func() { Csrrs(T0, 0x1000, Zero) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

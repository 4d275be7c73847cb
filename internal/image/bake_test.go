package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/elfsym"
	"github.com/runikraft/runikraft/kernel/abi"
)

// linkKernel builds a real riscv64 kernel program the way kbuild does (Go
// 1.26 emits compressed instructions, so the rewriter must decode lengths).
func linkKernel(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kernel.elf")
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", fmt.Sprintf("-T %#x -checklinkname=0", TextAddr),
		"github.com/runikraft/runikraft/tests/boot/kernels/exit3")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// objdumpEcalls lists ECALL addresses per function with Go's own
// disassembler: an independent decoder to check the rewriter against.
func objdumpEcalls(t *testing.T, path string) map[uint64]string {
	t.Helper()
	out, err := exec.Command("go", "tool", "objdump", path).Output()
	if err != nil {
		t.Fatalf("go tool objdump: %v", err)
	}
	sites := map[uint64]string{}
	fn := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "TEXT ") {
			fn = strings.Fields(line)[1]
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 4 && f[3] == "ECALL" {
			pc, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
			if err != nil {
				t.Fatalf("bad objdump line %q", line)
			}
			sites[pc] = fn
		}
	}
	return sites
}

func TestBakeRewritesEveryEcall(t *testing.T) {
	in := linkKernel(t)
	want := objdumpEcalls(t, in)
	if len(want) < 20 {
		t.Fatalf("objdump found only %d ECALLs; the runtime has dozens", len(want))
	}
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	img, res, err := Bake(data)
	if err != nil {
		t.Fatal(err)
	}
	// Every ECALL except the hart layer's SBI call is rewritten, and
	// nothing else is.
	var expect []uint64
	for pc, fn := range want {
		if !strings.Contains(fn, "kernel/hart.sbicall") {
			expect = append(expect, pc)
		}
	}
	sort.Slice(expect, func(i, j int) bool { return expect[i] < expect[j] })
	if fmt.Sprint(expect) != fmt.Sprint(res.Sites) {
		t.Fatalf("rewritten sites differ from objdump's ECALLs:\n got  %x\n want %x", res.Sites, expect)
	}
	if len(expect) == len(want) {
		t.Fatal("sbicall's ECALL not found: the SBI call would be rewritten too")
	}

	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	for _, pc := range res.Sites {
		off := text.Offset + pc - text.Addr
		if w := binary.LittleEndian.Uint32(img[off:]); w != 0x00100073 { // ebreak
			t.Fatalf("site %#x holds %#x, want EBREAK", pc, w)
		}
	}
	// The boot stub is the lowest loaded segment and the ELF entry, and
	// no segment is both writable and executable.
	lowest := ^uint64(0)
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if p.Vaddr < lowest {
			lowest = p.Vaddr
		}
		if p.Flags&elf.PF_W != 0 && p.Flags&elf.PF_X != 0 {
			t.Fatalf("W+X segment at %#x", p.Vaddr)
		}
	}
	if lowest != res.StubAddr || f.Entry != res.StubAddr || res.StubAddr != TextAddr-pageSize {
		t.Fatalf("lowest %#x entry %#x stub %#x", lowest, f.Entry, res.StubAddr)
	}
	stub := make([]byte, 24)
	for _, p := range f.Progs {
		if p.Vaddr == res.StubAddr {
			if _, err := p.ReadAt(stub, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := binary.LittleEndian.Uint64(stub[16:]); got != res.Entry {
		t.Fatalf("stub jumps to %#x, want hart entry %#x", got, res.Entry)
	}
	// bootInfo is filled in.
	syms, _ := f.Symbols()
	for _, s := range syms {
		if s.Name != bootInfoSym {
			continue
		}
		sec := sectionFor(f, s.Value)
		bi := img[sec.Offset+s.Value-sec.Addr:]
		get := func(i int) uint64 { return binary.LittleEndian.Uint64(bi[i*8:]) }
		if get(abi.Version) != 1 || get(abi.NSites) != uint64(len(res.Sites)) || get(abi.GoEntry) == 0 || get(abi.ImageEnd) != res.ImageEnd {
			t.Fatalf("bootInfo not filled: version %d sites %d entry %#x end %#x", get(abi.Version), get(abi.NSites), get(abi.GoEntry), get(abi.ImageEnd))
		}
		// The boot stub says where the table is, for images without
		// a symbol table.
		if loc, ok := elfsym.BootInfo(f, "no symbol: the stub must answer"); !ok || loc.Value != s.Value || loc.Size != s.Size {
			t.Fatalf("stub locator %+v %v, symbol at %#x size %d", loc, ok, s.Value, s.Size)
		}
	}
	// Baking twice is refused rather than silently producing garbage.
	if _, _, err := Bake(img); err == nil || !strings.Contains(err.Error(), "already baked") {
		t.Fatalf("second bake: %v", err)
	}
}

func TestBakeRejectsBadInput(t *testing.T) {
	cases := map[string][]byte{
		"empty":   nil,
		"garbage": []byte("not an elf at all, just text"),
	}
	host, err := os.ReadFile("/proc/self/exe")
	if err == nil {
		cases["host binary"] = host
	}
	for name, data := range cases {
		if _, _, err := Bake(data); err == nil {
			t.Errorf("%s: Bake succeeded", name)
		}
	}
}

func TestBakeWithoutHartLayer(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\nfunc main() { println(1) }\n"), 0o644)
	out := filepath.Join(dir, "plain.elf")
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", fmt.Sprintf("-T %#x", TextAddr), src)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	data, _ := os.ReadFile(out)
	if _, _, err := Bake(data); err == nil || !strings.Contains(err.Error(), "must import") {
		t.Fatalf("want an error naming the missing import, got %v", err)
	}
}

package loader

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The vDSO parses as the shared object the runtimes look for.
func TestVDSOParses(t *testing.T) {
	b := VDSO(10_000_000, 1_700_000_000_000_000_000)
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != elf.ET_DYN || f.Machine != elf.EM_RISCV || len(f.Progs) != 2 ||
		f.Progs[0].Type != elf.PT_LOAD || f.Progs[0].Flags != elf.PF_R|elf.PF_X || f.Progs[1].Type != elf.PT_DYNAMIC {
		t.Fatalf("headers: %+v %v", f.FileHeader, f.Progs)
	}
	// debug/elf finds dynamic symbols through sections; walk the
	// dynamic table by hand as the runtimes do.
	dyn := map[uint64]uint64{}
	for i := vdsoDyn; ; i += 16 {
		tag, val := le64(b[i:]), le64(b[i+8:])
		if tag == 0 {
			break
		}
		dyn[tag] = val
	}
	hash, syms, strs := dyn[4], dyn[6], dyn[5]
	nbucket, nchain := le32(b[hash:]), le32(b[hash+4:])
	if nbucket != 1 || nchain != 2 {
		t.Fatalf("hash: %d buckets, %d chain entries", nbucket, nchain)
	}
	first := le32(b[hash+8:])
	sym := b[syms+24*uint64(first):]
	name := b[strs+uint64(le32(sym)):]
	name = name[:bytes.IndexByte(name, 0)]
	if string(name) != "__vdso_clock_gettime" || sym[4] != 0x12 || le64(sym[8:]) != vdsoCode {
		t.Fatalf("symbol %d: %q info %#x value %#x", first, name, sym[4], le64(sym[8:]))
	}
}

// The code disassembles to what it is meant to be (binutils' view).
func TestVDSODisassembles(t *testing.T) {
	objdump, err := exec.LookPath("riscv64-linux-gnu-objdump")
	if err != nil {
		t.Skip("riscv64-linux-gnu-objdump missing (Debian's binutils-riscv64-linux-gnu; ./install.sh installs it)")
	}
	bin := filepath.Join(t.TempDir(), "code.bin")
	if err := os.WriteFile(bin, VDSO(10_000_000, 0)[vdsoCode:vdsoCode+4*len(vdsoClockGettime)], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-D", "-b", "binary", "-m", "riscv:rv64", "-M", "no-aliases", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"auipc\tt3,0x0", "ld\tt4,-128(t3)", "ld\tt6,-112(t3)", "ld\tt5,-120(t3)",
		"beq\ta0,t0,", "ecall", "csrrs\tt0,time,zero", "divu\tt1,t0,t4", "remu\tt2,t0,t4",
		"mul\tt2,t2,t6", "bltu\tt2,t6,", "sub\tt2,t2,t6", "sd\tt1,0(a1)", "sd\tt2,8(a1)", "jalr\tzero,0(ra)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("disassembly lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "unknown") || strings.Contains(text, ".word") {
		t.Errorf("undecodable instructions:\n%s", text)
	}
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func TestELFHash(t *testing.T) {
	// Go's runtime and Linux use these values for riscv64's vDSO.
	if h := elfHash("LINUX_4.15"); h != 0xae77f75 {
		t.Errorf("elfHash(LINUX_4.15) = %#x, want 0xae77f75", h)
	}
	if h := elfHash("__vdso_clock_gettime"); h != 0xd35ec75 {
		t.Errorf("elfHash(__vdso_clock_gettime) = %#x, want 0xd35ec75", h)
	}
}

package toolchain

import (
	"debug/elf"
	"strings"
	"testing"
)

func TestAppFactsCheck(t *testing.T) {
	ok := appFacts{Class: elf.ELFCLASS64, Machine: elf.EM_RISCV, Type: elf.ET_DYN}
	tests := []struct {
		mod  func(*appFacts)
		want string
	}{
		{func(f *appFacts) {}, ""},
		{func(f *appFacts) { f.Type = elf.ET_EXEC }, ""},
		{func(f *appFacts) { f.Interp = "/lib/ld-musl-riscv64.so.1" }, "asks for the dynamic linker /lib/ld-musl-riscv64.so.1"},
		{func(f *appFacts) { f.Needed = []string{"libc.so", "libz.so.1"} }, "needs shared libraries (libc.so, libz.so.1)"},
		{func(f *appFacts) { f.Undefined = []string{"a", "b", "c", "d", "e", "f", "g"} }, "(a, b, c, d, e and 2 more)"},
		{func(f *appFacts) { f.BadRelocs = []string{"R_RISCV_64 against environ"} }, "dynamic relocations its start code does not apply (R_RISCV_64 against environ)"},
		{func(f *appFacts) { f.TextRelocs = []uint64{0x1234, 0x2000} }, "has 2 relocation(s) in read-only memory (the first at 0x1234): an object or archive in it was compiled without -fPIE/-fPIC"},
	}
	for _, tt := range tests {
		f := ok
		tt.mod(&f)
		err := f.check("app")
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", f, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: err = %v, want %q", f, err, tt.want)
		}
	}
}

// Package toolchaintest fakes the cross gcc, the sysroot and the kernel so
// the runikraft-cc and runikraft-ld drivers can be tested on any host.
package toolchaintest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/toolchain"
)

// fakeGCC logs its arguments, one per line, then "--" to $FAKE_LOG, answers
// the queries the drivers make and "links" by copying $FAKE_APP to -o.
// With $FAKE_FAIL set it fails like a linker would.
const fakeGCC = `#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >> "$FAKE_LOG"
echo -- >> "$FAKE_LOG"
case "$1" in
-print-file-name=include) echo /fake/gcc/include; exit 0;;
--version) printf 'rv-gcc (Fake 12.2.0-1) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.\n'; exit 0;;
-print-search-dirs) printf 'install: /fake/gcc/\nprograms: =/fake/gcc/\nlibraries: =/fake/gcc/:/usr/riscv64-linux-gnu/lib/\n'; exit 0;;
esac
if [ -n "$FAKE_FAIL" ]; then echo "undefined reference to 'missing'" >&2; exit 1; fi
out=; prev=
for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
if [ -n "$out" ]; then cp "$FAKE_APP" "$out"; fi
exit 0
`

// Fake is a fake installation: bin/ with a kernel, a sysroot, a cross gcc.
type Fake struct {
	Root    string // the fake repository: bin/, sysroot/, cross/
	Sysroot string
	GCC     string // cross/rv-gcc; cross/rv-ar exists too
	Kernel  string // bin/runikraft-kernel.img
	App     string // what the fake gcc "links": a minimal riscv64 ELF
	Log     string
	Work    string            // the test's working directory (see New)
	Env     map[string]string // the Host's environment
}

// New builds a fake installation in a temporary directory, points the
// fake gcc's environment at it and makes its work/ directory the test's
// working directory, so relative outputs such as "-c x.c -o x.o" land
// there and never in the source tree. Tests using it cannot be parallel.
func New(t *testing.T) *Fake {
	t.Helper()
	root := t.TempDir()
	f := &Fake{
		Root:    root,
		Sysroot: filepath.Join(root, "sysroot"),
		GCC:     filepath.Join(root, "cross", "rv-gcc"),
		Kernel:  filepath.Join(root, "bin", toolchain.KernelName),
		App:     filepath.Join(root, "app.elf"),
		Log:     filepath.Join(root, "gcc.log"),
		Work:    filepath.Join(root, "work"),
	}
	for _, p := range []string{"sysroot/include/stdio.h", "sysroot/lib/libc.a", "sysroot/lib/rcrt1.o", "sysroot/lib/libgcc.a", "bin/" + toolchain.KernelName} {
		write(t, filepath.Join(root, p), "", 0o644)
	}
	write(t, f.GCC, fakeGCC, 0o755)
	write(t, filepath.Join(root, "cross", "rv-ar"), "#!/bin/sh\n", 0o755)
	write(t, f.App, string(ELF(t, 243, 2, 3)), 0o755) // EM_RISCV, ELFCLASS64, ET_DYN
	f.Env = map[string]string{"RUNIKRAFT_CROSS": f.GCC}
	t.Setenv("FAKE_LOG", f.Log)
	t.Setenv("FAKE_APP", f.App)
	if err := os.Mkdir(f.Work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(f.Work)
	return f
}

// Host is the fake installation as the drivers see it.
func (f *Fake) Host() toolchain.Host {
	return toolchain.Host{
		Getenv: func(k string) string { return f.Env[k] },
		Exe:    filepath.Join(f.Root, "bin", "runikraft-cc"),
	}
}

// Calls returns the argument lists the fake gcc was run with.
func (f *Fake) Calls(t *testing.T) [][]string {
	t.Helper()
	data, err := os.ReadFile(f.Log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	var cur []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "--" {
			calls = append(calls, cur)
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	return calls
}

// ELF returns a minimal ELF header-only file: enough for debug/elf and the
// application checks.
func ELF(t *testing.T, machine uint16, class byte, typ uint16) []byte {
	t.Helper()
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class, 1, 1 // class, little-endian, EV_CURRENT
	binary.LittleEndian.PutUint16(b[16:], typ)
	binary.LittleEndian.PutUint16(b[18:], machine)
	binary.LittleEndian.PutUint32(b[20:], 1)
	if class == 1 {
		binary.LittleEndian.PutUint16(b[40:], 52) // e_ehsize
		return b[:52]
	}
	binary.LittleEndian.PutUint16(b[52:], 64) // e_ehsize
	return b
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

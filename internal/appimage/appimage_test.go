package appimage

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/elfsym"
	"github.com/runikraft/runikraft/internal/kbuild"
)

// build makes a real stock kernel and a real Go program, as install.sh
// does, so the test sees the layouts the tools meet.
func build(t *testing.T) (kernel, app string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a kernel and a program for riscv64; skipped with -short")
	}
	dir := t.TempDir()
	kernel = filepath.Join(dir, "kernel.img")
	if _, err := kbuild.Build(context.Background(), kbuild.Options{
		Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel", Out: kernel, Stderr: os.Stderr,
	}); err != nil {
		t.Fatal(err)
	}
	app = filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-o", app, "github.com/runikraft/runikraft/examples/hello")
	cmd.Env = kbuild.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return kernel, app
}

func TestRoundTrip(t *testing.T) {
	kernel, app := build(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "motd"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "app.img")
	o := Options{Kernel: kernel, App: app, Rootfs: root, Args: []string{"a b", ""}, Env: []string{"K=v=w"}}
	m, err := Write(o, out)
	if err != nil {
		t.Fatal(err)
	}
	if m.App != "hello" || !strings.HasPrefix(m.AppKind, "static, Go go1.") {
		t.Errorf("manifest %+v", m)
	}
	info, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info.Manifest, *m) {
		t.Errorf("read back %+v, wrote %+v", info.Manifest, *m)
	}
	args, env, err := bootargs.Decode(info.Cmdline)
	if err != nil || !reflect.DeepEqual(args, []string{"hello", "a b", ""}) || !reflect.DeepEqual(env, []string{"K=v=w"}) {
		t.Errorf("command line %q: %q %q %v", info.Cmdline, args, env, err)
	}
	if !info.Rootfs || !bytes.Contains(info.Initrd, []byte("motd")) || !bytes.Contains(info.Initrd, []byte("init")) {
		t.Errorf("root filesystem not baked (rootfs=%v, %d bytes)", info.Rootfs, len(info.Initrd))
	}

	// The baked segment is read-only, page-aligned, after the kernel.
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	last := f.Progs[len(f.Progs)-1]
	if last.Type != elf.PT_LOAD || last.Flags != elf.PF_R || last.Vaddr%pageSize != 0 || last.Vaddr < info.KernelEnd-pageSize || last.Vaddr+last.Memsz != info.ImageEnd {
		t.Errorf("baked segment %+v (kernel end %#x, image end %#x)", last.ProgHeader, info.KernelEnd, info.ImageEnd)
	}

	// Baking twice, or baking into something else, is refused.
	img, _ := os.ReadFile(out)
	if _, err := Embed(img, []byte("x"), nil, []byte("{}")); err == nil || !strings.Contains(err.Error(), "already carries") {
		t.Errorf("second bake: %v", err)
	}
	if _, err := Read(kernel); !errors.Is(err, ErrNotApp) {
		t.Errorf("Read(kernel) = %v, want ErrNotApp", err)
	}
	if _, err := Read(app); !errors.Is(err, ErrNotRunikraft) {
		t.Errorf("Read(app) = %v, want ErrNotRunikraft", err)
	}
	if _, _, err := Build(Options{Kernel: kernel, App: kernel}); err == nil || !strings.Contains(err.Error(), "machine image") {
		t.Errorf("kernel as app: %v", err)
	}
	if _, _, err := Build(Options{Kernel: app, App: app}); err == nil || !strings.Contains(err.Error(), "not a Runikraft kernel") {
		t.Errorf("app as kernel: %v", err)
	}
	if _, _, err := Build(Options{Kernel: kernel, App: app, Env: []string{"novalue"}}); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
		t.Errorf("bad env: %v", err)
	}
}

// Stripping keeps what runs and what names functions, drops DWARF.
func TestStripDebug(t *testing.T) {
	_, app := build(t)
	orig, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	stripped := stripDebug(orig)
	if len(stripped) >= len(orig) {
		t.Fatalf("stripped %d bytes, original %d", len(stripped), len(orig))
	}
	a, err := elf.NewFile(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	b, err := elf.NewFile(bytes.NewReader(stripped))
	if err != nil {
		t.Fatalf("stripped file: %v", err)
	}
	if _, err := b.DWARF(); err == nil {
		t.Error("stripped file still has DWARF")
	}
	symsA, _ := a.Symbols()
	symsB, err := b.Symbols()
	if err != nil || !reflect.DeepEqual(symsA, symsB) {
		t.Errorf("symbols changed: %d → %d (%v)", len(symsA), len(symsB), err)
	}
	// Loaded bytes are the same, but for e_shoff: Go puts the ELF header
	// (and the old section headers) inside its first segment.
	shoff := binary.LittleEndian.Uint64(orig[0x28:])
	for i, p := range a.Progs {
		q := b.Progs[i]
		da, _ := io.ReadAll(p.Open())
		db, _ := io.ReadAll(q.Open())
		if p.ProgHeader != q.ProgHeader || len(da) != len(db) {
			t.Fatalf("segment %d changed", i)
		}
		for j := range da {
			if off := p.Off + uint64(j); da[j] != db[j] && !(off >= 0x28 && off < 0x30) && !(off >= shoff && off < shoff+uint64(len(a.Sections))*64) {
				t.Fatalf("segment %d changed at file offset %#x", i, off)
			}
		}
	}
	if again := stripDebug(stripped); !bytes.Equal(again, stripped) {
		t.Error("stripping twice changed the file")
	}
}

// An application image leaves the kernel's symbol table out: smaller by
// about its size, no .symtab, every kernel segment's bytes as they were
// but for the bootInfo table, and Read still finds that table (through
// the boot stub's locator).
func TestEmbedDropsKernelSymbols(t *testing.T) {
	kernel, app := build(t)
	kern, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := elf.NewFile(bytes.NewReader(kern))
	if err != nil {
		t.Fatal(err)
	}
	symtab := kf.SectionByType(elf.SHT_SYMTAB)
	if symtab == nil {
		t.Fatal("the kernel image has no symbol table to start with")
	}
	symBytes := int64(symtab.Size + kf.Sections[symtab.Link].Size)
	out := filepath.Join(t.TempDir(), "app.img")
	if _, err := Write(Options{Kernel: kernel, App: app}, out); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("image: %v", err)
	}
	if f.SectionByType(elf.SHT_SYMTAB) != nil {
		t.Error("the image still has a symbol table")
	}
	if _, err := f.Symbols(); err == nil {
		t.Error("Symbols() succeeded on the image")
	}
	appFile, _ := os.Stat(app)
	if grown := int64(len(img)) - int64(len(kern)); grown > appFile.Size()+3*pageSize-symBytes+pageSize {
		t.Errorf("image is %d bytes over the kernel's %d with a %d-byte app: the %d bytes of symbols were not dropped", grown, len(kern), appFile.Size(), symBytes)
	}
	if len(f.Sections) != len(kf.Sections) {
		t.Fatalf("sections %d, kernel had %d", len(f.Sections), len(kf.Sections))
	}
	for i, s := range kf.Sections {
		if s.Type == elf.SHT_SYMTAB || i == int(symtab.Link) {
			continue
		}
		g := f.Sections[i]
		if g.Name != s.Name || g.Addr != s.Addr || g.Size != s.Size || g.Type != s.Type {
			t.Errorf("section %d: %+v, kernel had %+v", i, g.SectionHeader, s.SectionHeader)
		}
	}
	k, err := parseKernel(img)
	if err != nil {
		t.Fatalf("bootInfo in the image: %v", err)
	}
	for i, p := range kf.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		q := f.Progs[i]
		if q.Vaddr != p.Vaddr || q.Filesz != p.Filesz || q.Memsz != p.Memsz || q.Off%pageSize != p.Off%pageSize {
			t.Fatalf("segment %d: %+v, kernel had %+v", i, q.ProgHeader, p.ProgHeader)
		}
		da, _ := io.ReadAll(p.Open())
		db, _ := io.ReadAll(q.Open())
		for j := range da {
			off := q.Off + uint64(j)
			if da[j] != db[j] && (off < k.biOff || off >= k.biOff+uint64(len(k.bi))) {
				t.Fatalf("segment %d changed at %#x", i, p.Vaddr+uint64(j))
			}
		}
	}
	if info, err := Read(out); err != nil || info.Manifest.App != "hello" {
		t.Fatalf("Read: %+v, %v", info, err)
	}
	// An image without a symbol table bakes no worse a second time: the
	// cut is idempotent.
	if again := dropSymbols(img); !bytes.Equal(again, img) {
		t.Error("dropSymbols changed an image without symbols")
	}
	// A kernel baked before the boot stub had the locator keeps its
	// symbol table, the only way to its bootInfo.
	old := append([]byte(nil), kern...)
	for _, p := range kf.Progs {
		if p.Type == elf.PT_LOAD && kf.Entry >= p.Vaddr && kf.Entry < p.Vaddr+p.Filesz {
			clear(old[p.Off+(kf.Entry-p.Vaddr)+elfsym.StubLocOff:][:8])
		}
	}
	if !bytes.Equal(dropSymbols(old), old) {
		t.Error("dropSymbols cut the symbol table of a kernel without the stub's locator")
	}
	oldImg, err := Embed(old, []byte("\x7fELF not parsed here"), nil, []byte("{}"))
	if err != nil {
		t.Fatalf("Embed with a kernel without the locator: %v", err)
	}
	if f, err := elf.NewFile(bytes.NewReader(oldImg)); err != nil || f.SectionByType(elf.SHT_SYMTAB) == nil {
		t.Errorf("the image of a kernel without the locator lost its symbol table (%v)", err)
	}
}

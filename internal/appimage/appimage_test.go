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

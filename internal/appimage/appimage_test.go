package appimage

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
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

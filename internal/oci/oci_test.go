package oci

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/runikraft/runikraft/kernel/loader"
)

// machineImage writes a minimal riscv64 ELF linked in RAM (a machine
// image as far as packaging is concerned) whose code is body.
func machineImage(t *testing.T, body []byte) string {
	t.Helper()
	const base = 0x8020_0000
	hdr := make([]byte, 64+56)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(hdr[16:], uint16(elf.ET_EXEC))
	le.PutUint16(hdr[18:], uint16(elf.EM_RISCV))
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[24:], base)
	le.PutUint64(hdr[32:], 64) // phoff
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[54:], 56)
	le.PutUint16(hdr[56:], 1)
	loader.PutProgHeader(hdr[64:], uint32(elf.PT_LOAD), uint32(elf.PF_R|elf.PF_X), 0x1000, base, uint64(len(body)), uint64(len(body)), 0x1000)
	img := append(hdr, make([]byte, 0x1000-len(hdr))...)
	img = append(img, body...)
	p := filepath.Join(t.TempDir(), "machine.img")
	if err := os.WriteFile(p, img, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuildReproducible(t *testing.T) {
	p := machineImage(t, []byte("\x73\x00\x50\x10 some code"))
	a, m, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Errorf("two builds of one image: digests %s and %s", da, db)
	}
	if !m.Machine {
		t.Errorf("meta %+v: want a machine image", m)
	}
	// Another image, another digest: the digest depends on the content.
	c, _, err := Build(machineImage(t, []byte("other code")))
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, a) == digest(t, c) {
		t.Error("different images got the same digest")
	}

	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "riscv64" || cf.Created.Unix() != 0 {
		t.Errorf("config: os %q arch %q created %v", cf.OS, cf.Architecture, cf.Created)
	}
	mf, err := a.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if mf.Annotations[AnnKind] != "machine" || mf.Annotations[AnnKernelPath] != KernelPath || cf.Config.Labels[AnnKind] != "machine" {
		t.Errorf("annotations %v, labels %v", mf.Annotations, cf.Config.Labels)
	}
	if err := Check(a); err != nil {
		t.Errorf("Check: %v", err)
	}
	var out bytes.Buffer
	if err := ExtractKernel(a, &out); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(p)
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("extracted %d bytes, want the image's %d", out.Len(), len(want))
	}
}

func TestBuildRefusesProgram(t *testing.T) {
	p := filepath.Join(t.TempDir(), "prog")
	// An ET_EXEC riscv64 program linked low is a Linux program.
	img, err := os.ReadFile(machineImage(t, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(img[64+16:], 0x10000) // p_vaddr
	if err := os.WriteFile(p, img, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Build(p); err == nil || !strings.Contains(err.Error(), "runikraft-ld --bake") {
		t.Errorf("Build of a program: %v, want advice to bake it", err)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := &Meta{Kernel: "k", App: "app", AppKind: "static-pie", AppSize: 10, Args: []string{"a b", ""}, Env: []string{"K=v"}, ImageSize: 20, MemorySize: 30, KernelSize: 5, Rootfs: true}
	got, err := ParseMeta(m.Annotations())
	if err != nil {
		t.Fatal(err)
	}
	if got.App != "app" || got.AppSize != 10 || len(got.Args) != 2 || got.Args[0] != "a b" || got.Env[0] != "K=v" || got.MemorySize != 30 || !got.Rootfs {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range []map[string]string{
		{},
		{AnnKind: "application", AnnAppSize: "-1"},
		{AnnKind: "application", AnnArgs: "not json"},
	} {
		if _, err := ParseMeta(bad); err == nil {
			t.Errorf("ParseMeta(%v) succeeded", bad)
		}
	}
}

// TestRegistryRoundTrip pushes to a registry served on loopback and pulls
// into a clean store: the same digest, the same kernel bytes.
func TestRegistryRoundTrip(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	p := machineImage(t, []byte("round trip"))
	img, _, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(u.Host + "/rk/machine:1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Put(ref, img); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pushed, err := src.Push(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if pushed != digest(t, img) {
		t.Errorf("pushed %s, built %s", pushed, digest(t, img))
	}

	dst, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Lookup(ref); err == nil {
		t.Fatal("a clean store has the image")
	}
	got, err := dst.Pull(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got) != pushed {
		t.Errorf("pulled %s, pushed %s", digest(t, got), pushed)
	}
	k, err := dst.Kernel(got)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(p)
	b, _ := os.ReadFile(k)
	if !bytes.Equal(a, b) {
		t.Error("the pulled kernel differs from the packaged image")
	}
	// By digest, too.
	byDigest, err := name.ParseReference(ref.Context().Name() + "@" + pushed.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Lookup(byDigest); err != nil {
		t.Errorf("lookup by digest: %v", err)
	}

	// A multi-platform index: pull takes the riscv64 entry.
	other := mutate.ConfigMediaType(img, "application/vnd.oci.image.config.v1+json")
	cf, _ := other.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "amd64"
	other, err = mutate.ConfigFile(other, cf)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(emptyIndex(), "application/vnd.oci.image.index.v1+json"),
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &Platform}},
	)
	multi, _ := name.ParseReference(u.Host + "/rk/multi:1")
	if err := remote.WriteIndex(multi, idx); err != nil {
		t.Fatal(err)
	}
	got, err = dst.Pull(ctx, multi)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, got) != pushed {
		t.Errorf("from the index: %s, want the riscv64 image %s", digest(t, got), pushed)
	}
	// An amd64-only image is refused.
	amd, _ := name.ParseReference(u.Host + "/rk/amd:1")
	if err := remote.Write(amd, other); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Pull(ctx, amd); err == nil || !strings.Contains(err.Error(), "riscv64") {
		t.Errorf("pulling an amd64 image: %v", err)
	}
}

func TestWriteLayout(t *testing.T) {
	img, _, err := Build(machineImage(t, []byte("layout")))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lay")
	for range 2 { // a second write replaces the entry
		if err := WriteLayout(dir, img, "v1"); err != nil {
			t.Fatal(err)
		}
	}
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("%d entries, want 1", len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.Annotations[AnnRefName] != "v1" || d.Platform == nil || d.Platform.Architecture != "riscv64" || d.Digest != digest(t, img) {
		t.Errorf("layout entry %+v", d)
	}
}

func emptyIndex() v1.ImageIndex { return empty.Index }

// Package oci packages a Runikraft image as an OCI image and moves it
// between a local store, OCI layout directories and registries.
//
// The image has one layer holding the bootable ELF at KernelPath, the
// place KubeVirt's kernel boot from a container (kernelBoot.container
// kernelPath) and libvirt's direct kernel boot read it from. Its config
// says linux/riscv64, and the manifest's annotations (also the config's
// labels) carry what runikraft inspect knows of it. Nothing in it depends
// on the time or the machine that made it: the same image gives the same
// digest.
package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/bootargs"
	rkimage "github.com/runikraft/runikraft/internal/image"
)

// KernelPath is where the layer holds the bootable image.
const KernelPath = "/boot/kernel"

// MaxImageSize bounds the kernel file read back out of a layer: an image
// larger than this is not one runikraft made, and is not written to disk.
const MaxImageSize = 1 << 30

// Platform is the only platform a Runikraft image is for.
var Platform = v1.Platform{OS: "linux", Architecture: "riscv64"}

// Annotation keys. The org.opencontainers ones are OCI's own; the rest
// are Runikraft's, in reverse-domain form as OCI asks.
const (
	AnnTitle      = "org.opencontainers.image.title"
	AnnRefName    = "org.opencontainers.image.ref.name"
	annPrefix     = "com.github.runikraft."
	AnnKernelPath = annPrefix + "kernel-path" // KernelPath
	AnnKind       = annPrefix + "kind"        // "application" or "machine"
	AnnKernel     = annPrefix + "kernel"      // kernel build (appimage.Manifest.Kernel)
	AnnApp        = annPrefix + "app"         // argv[0]
	AnnAppKind    = annPrefix + "app-kind"
	AnnAppSize    = annPrefix + "app-size"    // bytes of the application ELF
	AnnArgs       = annPrefix + "args"        // JSON array: default arguments after argv[0]
	AnnEnv        = annPrefix + "env"         // JSON array: default environment
	AnnImageSize  = annPrefix + "image-size"  // bytes of the ELF file
	AnnMemorySize = annPrefix + "memory-size" // bytes the image occupies once loaded
	AnnKernelSize = annPrefix + "kernel-size" // bytes of the kernel proper, loaded
	AnnRootfs     = annPrefix + "rootfs"      // "true" when a root filesystem is baked in
)

// Meta is what the annotations say about an image; Describe fills it in
// from the image itself, ParseMeta from the annotations.
type Meta struct {
	Machine    bool // a machine image: no application manifest
	Kernel     string
	App        string
	AppKind    string
	AppSize    int64
	Args       []string
	Env        []string
	ImageSize  int64
	MemorySize uint64
	KernelSize uint64
	Rootfs     bool
}

// Describe reads what the image at path says about itself. Applications
// that are not baked into a kernel (plain Linux programs) are refused:
// the layer holds one bootable file.
func Describe(path string) (*Meta, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxImageSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an image may have", path, fi.Size(), MaxImageSize)
	}
	m := &Meta{ImageSize: fi.Size()}
	info, err := appimage.Read(path)
	switch {
	case err == nil:
	case errors.Is(err, appimage.ErrNotApp) || errors.Is(err, appimage.ErrNotRunikraft):
		bare, err := rkimage.IsMachineImage(path)
		if err != nil {
			return nil, err
		}
		if !bare {
			return nil, fmt.Errorf("%s is a Linux program, not a bootable image: bake it with runikraft-ld --bake %[1]s -o IMAGE first", path)
		}
		m.Machine = true
		return m, nil
	default:
		return nil, err
	}
	mf := info.Manifest
	m.Kernel, m.App, m.AppKind, m.AppSize = mf.Kernel, mf.App, mf.AppKind, mf.AppSize
	if info.Cmdline != "" {
		args, env, err := bootargs.Decode(info.Cmdline)
		if err != nil {
			return nil, fmt.Errorf("%s: baked command line: %w", path, err)
		}
		if len(args) > 1 {
			m.Args = args[1:]
		}
		m.Env = env
	}
	m.MemorySize = info.ImageEnd - info.LoadStart
	m.KernelSize = info.KernelEnd - info.LoadStart
	m.Rootfs = info.Rootfs
	return m, nil
}

// Annotations renders m as OCI annotations.
func (m *Meta) Annotations() map[string]string {
	a := map[string]string{
		AnnKernelPath: KernelPath,
		AnnImageSize:  strconv.FormatInt(m.ImageSize, 10),
	}
	if m.Machine {
		a[AnnKind] = "machine"
		return a
	}
	js := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v) // strings always marshal
		return string(b)
	}
	a[AnnKind] = "application"
	a[AnnTitle] = m.App
	a[AnnKernel] = m.Kernel
	a[AnnApp] = m.App
	a[AnnAppKind] = m.AppKind
	a[AnnAppSize] = strconv.FormatInt(m.AppSize, 10)
	a[AnnArgs] = js(m.Args)
	a[AnnEnv] = js(m.Env)
	a[AnnMemorySize] = strconv.FormatUint(m.MemorySize, 10)
	a[AnnKernelSize] = strconv.FormatUint(m.KernelSize, 10)
	a[AnnRootfs] = strconv.FormatBool(m.Rootfs)
	return a
}

// ParseMeta reads Meta back from annotations (of a pulled image: hostile).
func ParseMeta(a map[string]string) (*Meta, error) {
	m := &Meta{}
	var err error
	num := func(key string) int64 {
		s, ok := a[key]
		if !ok || err != nil {
			return 0
		}
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil || n < 0 {
			err = fmt.Errorf("annotation %s=%q: not a size", key, s)
		}
		return n
	}
	list := func(key string) []string {
		s, ok := a[key]
		if !ok || err != nil {
			return nil
		}
		var v []string
		if jerr := json.Unmarshal([]byte(s), &v); jerr != nil {
			err = fmt.Errorf("annotation %s: %v", key, jerr)
		}
		return v
	}
	switch a[AnnKind] {
	case "machine":
		m.Machine = true
	case "application":
	default:
		return nil, fmt.Errorf("annotation %s=%q: not a Runikraft image", AnnKind, a[AnnKind])
	}
	m.Kernel, m.App, m.AppKind = a[AnnKernel], a[AnnApp], a[AnnAppKind]
	m.AppSize = num(AnnAppSize)
	m.ImageSize = num(AnnImageSize)
	m.MemorySize = uint64(num(AnnMemorySize))
	m.KernelSize = uint64(num(AnnKernelSize))
	m.Args = list(AnnArgs)
	m.Env = list(AnnEnv)
	m.Rootfs = a[AnnRootfs] == "true"
	if err != nil {
		return nil, err
	}
	return m, nil
}

// epoch is the one time the image records: reproducible builds' usual
// choice (SOURCE_DATE_EPOCH=0), so two runs give the same bytes.
var epoch = v1.Time{Time: time.Unix(0, 0).UTC()}

// Build packages the image at path as an OCI image.
func Build(path string) (v1.Image, *Meta, error) {
	m, err := Describe(path)
	if err != nil {
		return nil, nil, fmt.Errorf("oci: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("oci: %w", err)
	}
	if int64(len(data)) != m.ImageSize {
		return nil, nil, fmt.Errorf("oci: %s changed while it was read", path)
	}
	tb, err := layerTar(data)
	if err != nil {
		return nil, nil, fmt.Errorf("oci: layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tb)), nil
	}, tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, nil, fmt.Errorf("oci: layer: %w", err)
	}
	ann := m.Annotations()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: epoch, CreatedBy: "runikraft pkg", Comment: "the bootable image at " + KernelPath},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("oci: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("oci: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = Platform.OS, Platform.Architecture
	cf.Created = epoch
	cf.Config.Labels = ann
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, nil, fmt.Errorf("oci: %w", err)
	}
	out, ok := mutate.Annotations(img, ann).(v1.Image)
	if !ok {
		return nil, nil, errors.New("oci: annotated image is not an image")
	}
	return out, m, nil
}

// layerTar returns the layer's tar: boot/ and boot/kernel, owned by root,
// readable by everyone (KubeVirt copies the kernel out as another user),
// dated the epoch.
func layerTar(kernel []byte) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	hdrs := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "boot/", Mode: 0o755, ModTime: epoch.Time},
		{Typeflag: tar.TypeReg, Name: KernelPath[1:], Mode: 0o444, Size: int64(len(kernel)), ModTime: epoch.Time},
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(kernel); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

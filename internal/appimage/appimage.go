// Package appimage bakes an application into a kernel image: one ELF that
// boots on qemu-system-riscv64 -M virt -kernel FILE with nothing else.
//
// The application (a static riscv64 Linux program, or a cpio root
// filesystem holding it as /init), the default command line and a JSON
// manifest go into one read-only PT_LOAD segment placed right after the
// kernel's last byte; the kernel's bootInfo table says where each part
// is (kernel/abi), and ImageEnd grows to cover them so the kernel never
// hands that memory out. A boot loader's own -initrd and -append win over
// the baked ones, so the image also runs another program when asked.
package appimage

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/elfsym"
	"github.com/runikraft/runikraft/internal/rootfs"
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
	"github.com/runikraft/runikraft/kernel/loader"
)

// Options describe an application image.
type Options struct {
	Kernel string   // baked kernel image (bin/runikraft-kernel.img)
	App    string   // static riscv64 Linux executable (static-pie or ET_EXEC)
	Rootfs string   // optional host directory packed as the root filesystem
	Args   []string // default arguments after argv[0]
	Env    []string // default environment, KEY=VALUE
	Name   string   // argv[0]; default: the base name of App
	// Volumes are guest directories declared as mount points: the
	// baked command line mounts the i-th from the virtio-9p device with
	// mount tag VolumeTag(i), when the hypervisor attaches one.
	Volumes []string
}

// VolumeTag is the 9p mount tag of an image's i-th declared volume.
func VolumeTag(i int) string { return "vol" + strconv.Itoa(i) }

// Manifest is what an application image records about itself, for
// runikraft inspect and runikraft run. The kernel does not read it.
type Manifest struct {
	Kernel string `json:"kernel"` // kernel build: module, version, Go version
	// KernelFile is the kernel image it was baked from (absolute): the
	// image leaves the kernel's symbol table out, and tools that name
	// the kernel's symbols read them there (when its Go build ID
	// matches).
	KernelFile string   `json:"kernel_file,omitempty"`
	App        string   `json:"app"`              // argv[0]
	AppKind    string   `json:"app_kind"`         // "static-pie", "static", plus the Go version for Go programs
	AppSize    int64    `json:"app_size"`         // bytes of the application ELF
	Args       []string `json:"args,omitempty"`   // default arguments after argv[0]
	Env        []string `json:"env,omitempty"`    // default environment
	Rootfs     string   `json:"rootfs,omitempty"` // host directory it was packed from
	// Volumes are the guest directories declared as mount points
	// (runikraft-ld --volume); the i-th has the 9p mount tag "vol<i>".
	Volumes []string `json:"volumes,omitempty"`
}

const pageSize = 0x1000

const bootInfoSym = "github.com/runikraft/runikraft/kernel/hart.bootInfo"

// Write bakes o into the image at out (written atomically, mode 0755).
func Write(o Options, out string) (*Manifest, error) {
	img, m, err := Build(o)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(out, img); err != nil {
		return nil, fmt.Errorf("appimage: %w", err)
	}
	return m, nil
}

// Build returns the application image that o describes.
func Build(o Options) ([]byte, *Manifest, error) {
	kern, err := os.ReadFile(o.Kernel)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: kernel: %w", err)
	}
	app, err := os.ReadFile(o.App)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: application: %w", err)
	}
	kind, err := appKind(app)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: %s: %w", o.App, err)
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(o.App)
	}
	for _, kv := range o.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, nil, fmt.Errorf("appimage: environment entry %q: want KEY=VALUE", kv)
		}
	}
	cmdline, err := bootargs.Encode(append([]string{name}, o.Args...), o.Env)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: %w", err)
	}
	if len(o.Volumes) > 0 {
		vs := make([]bootargs.Volume, len(o.Volumes))
		for i, d := range o.Volumes {
			vs[i] = bootargs.Volume{Tag: VolumeTag(i), Dir: d}
		}
		key, err := bootargs.EncodeVolumes(vs)
		if err != nil {
			return nil, nil, fmt.Errorf("appimage: volumes %q: %w", o.Volumes, err)
		}
		cmdline += " " + bootargs.VolumesKey + "=" + key
	}
	app = stripDebug(app)
	kfile, err := filepath.Abs(o.Kernel)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: %w", err)
	}
	m := &Manifest{Kernel: kernelVersion(o.Kernel, kern), KernelFile: kfile, App: name, AppKind: kind, AppSize: int64(len(app)), Args: o.Args, Env: o.Env, Volumes: o.Volumes}
	initrd := app
	if o.Rootfs != "" {
		if m.Rootfs, err = filepath.Abs(o.Rootfs); err != nil {
			return nil, nil, fmt.Errorf("appimage: %w", err)
		}
		init := cpio.Entry{Header: cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: int64(len(app))}, Body: app}
		var b bytes.Buffer
		if err := rootfs.Pack(o.Rootfs, &b, rootfs.Options{Extra: []cpio.Entry{init}}); err != nil {
			return nil, nil, fmt.Errorf("appimage: root filesystem: %w", err)
		}
		initrd = b.Bytes()
	}
	js, err := json.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: %w", err)
	}
	img, err := Embed(kern, initrd, []byte(cmdline), js)
	if err != nil {
		return nil, nil, fmt.Errorf("appimage: %s: %w", o.Kernel, err)
	}
	return img, m, nil
}

// appKind checks that app is something the kernel's loader takes and
// says what it is.
func appKind(app []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(app))
	if err != nil {
		return "", fmt.Errorf("not an ELF program: %w", err)
	}
	if f.Machine != elf.EM_RISCV || f.Class != elf.ELFCLASS64 {
		return "", fmt.Errorf("not a riscv64 program (machine %v, class %v)", f.Machine, f.Class)
	}
	var kind string
	switch f.Type {
	case elf.ET_EXEC:
		kind = "static"
	case elf.ET_DYN:
		kind = "static-pie"
	default:
		return "", fmt.Errorf("ELF type %v is not an executable", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", errors.New("dynamically linked (it has an interpreter): link it statically")
		}
		if p.Type == elf.PT_LOAD && p.Vaddr >= 0x8000_0000 && f.Type == elf.ET_EXEC {
			return "", fmt.Errorf("linked at %#x: a kernel or machine image, not a Linux program", p.Vaddr)
		}
	}
	if bi, err := buildinfo.Read(bytes.NewReader(app)); err == nil {
		kind += ", Go " + bi.GoVersion
	}
	return kind, nil
}

// kernelVersion names the kernel build from its Go build information
// (module version and VCS revision when the build recorded them) and the
// image's SHA-256, which identifies it whatever the build recorded.
func kernelVersion(path string, img []byte) string {
	sum := sha256.Sum256(img)
	id := fmt.Sprintf("sha256:%x", sum[:8])
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return id
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value[:min(12, len(s.Value))]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "-dirty"
		}
	}
	return strings.TrimSpace(bi.Path+" "+v+" "+bi.GoVersion) + ", " + id
}

// Embed appends initrd, cmdline and manifest to the baked kernel image
// kern as one read-only segment and records them in its bootInfo.
func Embed(kern, initrd, cmdline, manifest []byte) ([]byte, error) {
	// The kernel's symbol table is not loaded and is a tenth of the
	// file: the image goes without it (tools find the table through the
	// boot stub, and inspect --size and gdb the symbols in the kernel
	// image with the same Go build ID).
	kern = dropSymbols(kern)
	k, err := parseKernel(kern)
	if err != nil {
		return nil, err
	}
	if k.word(abi.EmbedSize) != 0 || k.word(abi.ManifestSize) != 0 {
		return nil, errors.New("it already carries an application")
	}
	if len(initrd) == 0 {
		return nil, errors.New("empty application")
	}
	out := append([]byte(nil), kern...)
	k.bi = out[k.biOff : k.biOff+abi.Words*8]
	base := pageUp(k.word(abi.ImageEnd))

	// The blob: initrd, then the command line and manifest, 8-aligned.
	var blob []byte
	put := func(i, n int, b []byte) {
		for len(blob)%8 != 0 {
			blob = append(blob, 0)
		}
		k.set(i, base+uint64(len(blob)))
		k.set(n, uint64(len(b)))
		blob = append(blob, b...)
	}
	put(abi.EmbedStart, abi.EmbedSize, initrd)
	if len(cmdline) > 0 {
		put(abi.CmdlineStart, abi.CmdlineSize, cmdline)
	}
	put(abi.ManifestStart, abi.ManifestSize, manifest)
	k.set(abi.ImageEnd, base+uint64(len(blob)))

	// Data goes at a page-aligned file offset (offset ≡ vaddr mod page),
	// then a new program header table with one more entry: the old table
	// sits among the kernel's bytes with no room to grow.
	for len(out)%pageSize != 0 {
		out = append(out, 0)
	}
	blobOff := uint64(len(out))
	out = append(out, blob...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	le := binary.LittleEndian
	phoff := le.Uint64(kern[0x20:])
	phentsize := uint64(le.Uint16(kern[0x36:]))
	phnum := uint64(le.Uint16(kern[0x38:]))
	if phentsize != 56 || phoff+phnum*phentsize > uint64(len(kern)) || phnum >= 0xfff0 {
		return nil, errors.New("malformed program header table")
	}
	newPhoff := uint64(len(out))
	out = append(out, kern[phoff:phoff+phnum*phentsize]...)
	ph := make([]byte, phentsize)
	loader.PutProgHeader(ph, uint32(elf.PT_LOAD), uint32(elf.PF_R), blobOff, base, uint64(len(blob)), uint64(len(blob)), pageSize)
	out = append(out, ph...)
	le.PutUint64(out[0x20:], newPhoff)
	le.PutUint16(out[0x38:], uint16(phnum+1))
	copy(out[IdentMarkOffset:], IdentMark)
	return out, nil
}

// IdentMark, in the ELF identification's padding bytes (EI_PAD, which
// ELF leaves zero and loaders ignore), marks an application image within
// the first bytes of the file, where binfmt_misc's magic can see it:
// install.sh registers runikraft for riscv64 ELF files with this mark,
// and leaves other riscv64 programs to qemu-riscv64.
const (
	IdentMark       = "RKAPP"
	IdentMarkOffset = 9
)

// kernel is a baked kernel image's bootInfo table.
type kernel struct {
	f     *elf.File
	bi    []byte // the table's bytes
	biOff uint64 // their file offset
}

func (k *kernel) word(i int) uint64   { return binary.LittleEndian.Uint64(k.bi[i*8:]) }
func (k *kernel) set(i int, v uint64) { binary.LittleEndian.PutUint64(k.bi[i*8:], v) }
func pageUp(v uint64) uint64          { return (v + pageSize - 1) &^ (pageSize - 1) }

func parseKernel(img []byte) (*kernel, error) {
	k, err := parseKernelAt(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		return nil, err
	}
	k.bi = img[k.biOff : k.biOff+abi.Words*8] // Embed writes through it
	return k, nil
}

// parseKernelAt finds the bootInfo table of the kernel image in r (size
// bytes) and reads a copy of it, touching little else of the file.
func parseKernelAt(r io.ReaderAt, size int64) (*kernel, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("not an ELF file: %w", err)
	}
	if f.Machine != elf.EM_RISCV || f.Class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("not a riscv64 image (machine %v, class %v)", f.Machine, f.Class)
	}
	s, ok := elfsym.BootInfo(f, bootInfoSym)
	if !ok {
		return nil, errors.New("not a Runikraft kernel (no bootInfo table)")
	}
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_PROGBITS || s.Value < sec.Addr || s.Value+abi.Words*8 < s.Value || s.Value+abi.Words*8 > sec.Addr+sec.Size {
			continue
		}
		off := sec.Offset + (s.Value - sec.Addr)
		if off+abi.Words*8 > uint64(size) {
			break
		}
		k := &kernel{f: f, bi: make([]byte, abi.Words*8), biOff: off}
		if _, err := r.ReadAt(k.bi, int64(off)); err != nil {
			return nil, fmt.Errorf("reading bootInfo: %w", err)
		}
		if k.word(0) != abi.Magic || k.word(abi.Version) != 1 {
			return nil, errors.New("not a baked Runikraft kernel (bootInfo is not filled in: build it with runikraft build-kernel)")
		}
		return k, nil
	}
	return nil, errors.New("its bootInfo table is not in the file")
}

// Info is what Read finds in an image.
type Info struct {
	Manifest  Manifest
	Cmdline   string // the baked command line (bootargs format)
	Initrd    []byte // the application or the root filesystem archive
	Rootfs    bool   // Initrd is a cpio root filesystem
	LoadStart uint64 // lowest loaded address
	KernelEnd uint64 // end of the kernel proper
	ImageEnd  uint64 // end of everything loaded
}

// Errors of Read that callers tell apart: a Runikraft kernel without an
// application, and an image that is not a baked Runikraft kernel at all.
var (
	ErrNotApp       = errors.New("no application baked in")
	ErrNotRunikraft = errors.New("not a Runikraft image")
)

// Read returns what the application image at path carries. A Runikraft
// kernel without an application gives ErrNotApp, any other ELF
// ErrNotRunikraft; a damaged application image gives another error.
func Read(path string) (*Info, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, err
	}
	k, err := parseKernelAt(file, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%w)", path, ErrNotRunikraft, err)
	}
	if k.word(abi.ManifestSize) == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNotApp)
	}
	at := func(i, n int) ([]byte, error) {
		addr, size := k.word(i), k.word(n)
		for _, p := range k.f.Progs {
			if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+size <= p.Vaddr+p.Filesz && addr+size >= addr {
				b := make([]byte, size)
				if _, err := p.ReadAt(b, int64(addr-p.Vaddr)); err != nil {
					return nil, err
				}
				return b, nil
			}
		}
		return nil, fmt.Errorf("%s: baked data at %#x+%#x is outside the loaded segments", path, addr, size)
	}
	info := &Info{ImageEnd: k.word(abi.ImageEnd), KernelEnd: k.word(abi.EmbedStart), LoadStart: ^uint64(0)}
	for _, p := range k.f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr < info.LoadStart {
			info.LoadStart = p.Vaddr
		}
	}
	js, err := at(abi.ManifestStart, abi.ManifestSize)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(js, &info.Manifest); err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", path, err)
	}
	if info.Initrd, err = at(abi.EmbedStart, abi.EmbedSize); err != nil {
		return nil, err
	}
	info.Rootfs = bytes.HasPrefix(info.Initrd, []byte("070701")) || bytes.HasPrefix(info.Initrd, []byte("070702"))
	if k.word(abi.CmdlineSize) != 0 {
		c, err := at(abi.CmdlineStart, abi.CmdlineSize)
		if err != nil {
			return nil, err
		}
		info.Cmdline = string(c)
	}
	return info, nil
}

func writeAtomic(out string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".runikraft-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

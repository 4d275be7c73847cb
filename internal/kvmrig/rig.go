// Package kvmrig runs Runikraft images under real RISC-V KVM on a machine
// that has none, by nesting: qemu-system-riscv64 (TCG, with the
// hypervisor extension) boots Debian's riscv64 Linux, whose kvm module
// then runs Debian's riscv64 qemu-system-riscv64 -accel kvm with the
// image. The rig (that Linux kernel and an initramfs holding kvm.ko,
// QEMU with its libraries and a small init) is built once from the
// Debian archive by apt and kept in the user's cache directory.
package kvmrig

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/runikraft/runikraft/internal/flock"
	"github.com/runikraft/runikraft/internal/rootfs"
)

// Packages the rig is made of: the kernel meta-package (only its vmlinux
// and kvm.ko are used) and the package with qemu-system-riscv64 (trixie
// splits qemu-system-misc per architecture; qemu-system-riscv is the one
// qemu-system-misc pulls in for RISC-V).
const (
	KernelMeta = "linux-image-riscv64"
	QEMUPkg    = "qemu-system-riscv"
)

// recipe changes whenever the way the rig is built changes, so a cached
// rig built the old way is rebuilt.
const recipe = "kvm-rig 2"

//go:embed guestinit/main.go
var initSource embed.FS

// Rig is a built rig.
type Rig struct {
	Dir       string // where it lives
	Kernel    string // the outer Linux kernel (for -kernel)
	Initramfs string // newc cpio: kvm.ko, QEMU and its libraries, /init
	Versions  Versions
}

// Versions records what the rig was built from.
type Versions struct {
	Linux string // Debian version of the kernel package, e.g. 6.12.117-1
	// KernelPackage is the versioned kernel package, e.g.
	// linux-image-6.12.117+deb13-riscv64.
	KernelPackage string
	QEMU          string // Debian version of qemu-system-riscv
	Mirror        string
	Built         time.Time
}

// Options for Ensure.
type Options struct {
	// Dir is the cache directory; "" is DefaultDir().
	Dir string
	// Log receives progress lines and apt's messages; nil discards them.
	Log io.Writer
}

// DefaultDir is $RUNIKRAFT_CACHE/kvm-rig, or ~/.cache/runikraft/kvm-rig
// (libc-shim and the tests keep their downloads next to it).
func DefaultDir() (string, error) {
	if d := os.Getenv("RUNIKRAFT_CACHE"); d != "" {
		return filepath.Join(d, "kvm-rig"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kvm rig: neither RUNIKRAFT_CACHE nor HOME is set: %w", err)
	}
	return filepath.Join(home, ".cache", "runikraft", "kvm-rig"), nil
}

// Ensure returns the rig in the cache, building it first if it is
// missing or was built from other inputs (recipe, init source, mirror).
// A built rig is reused without touching the network; remove the
// directory to pick up newer packages from the archive. Concurrent
// callers wait for one build.
func Ensure(ctx context.Context, o Options) (*Rig, error) {
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	unlock, err := flock.LockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("kvm rig: %w", err)
	}
	defer unlock()

	mirror, err := DebianMirror()
	if err != nil {
		return nil, err
	}
	stamp, err := inputStamp(mirror)
	if err != nil {
		return nil, err
	}
	r := &Rig{Dir: dir, Kernel: filepath.Join(dir, "vmlinux"), Initramfs: filepath.Join(dir, "initramfs.cpio")}
	if b, err := os.ReadFile(filepath.Join(dir, "stamp")); err == nil && string(b) == stamp {
		if b, err := os.ReadFile(filepath.Join(dir, "versions.json")); err == nil && json.Unmarshal(b, &r.Versions) == nil {
			if fileExists(r.Kernel) && fileExists(r.Initramfs) {
				return r, nil
			}
		}
	}
	os.Remove(filepath.Join(dir, "stamp"))
	start := time.Now()
	fmt.Fprintf(log, "runikraft: building the nested-KVM rig in %s (Debian %s %s from %s)\n", dir, Suite, Arch, mirror)
	if err := build(ctx, r, mirror, log); err != nil {
		return nil, err
	}
	r.Versions.Mirror = mirror
	r.Versions.Built = time.Now().UTC().Truncate(time.Second)
	vb, _ := json.MarshalIndent(r.Versions, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "versions.json"), append(vb, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("kvm rig: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stamp"), []byte(stamp), 0o644); err != nil {
		return nil, fmt.Errorf("kvm rig: %w", err)
	}
	fmt.Fprintf(log, "runikraft: nested-KVM rig built in %v: Linux %s, QEMU %s\n", time.Since(start).Round(time.Second), r.Versions.Linux, r.Versions.QEMU)
	return r, nil
}

// inputStamp hashes everything the rig is built from that lives here.
func inputStamp(mirror string) (string, error) {
	src, err := initSource.ReadFile("guestinit/main.go")
	if err != nil {
		return "", fmt.Errorf("kvm rig: %w", err)
	}
	h := sha256.New()
	for _, s := range []string{recipe, Suite, Arch, KernelMeta, QEMUPkg, mirror, string(src)} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// build fetches the packages, unpacks them into a root, adds the init
// and packs the initramfs. Downloads and the unpacked root are scratch:
// only vmlinux, the initramfs and the stamp stay.
func build(ctx context.Context, r *Rig, mirror string, log io.Writer) error {
	work := filepath.Join(r.Dir, "work")
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	defer os.RemoveAll(work)
	a, err := newApt(filepath.Join(work, "apt"), mirror, log)
	if err != nil {
		return err
	}
	if err := a.update(ctx); err != nil {
		return err
	}
	kpkg, err := a.dependency(ctx, KernelMeta, "linux-image-")
	if err != nil {
		return err
	}
	kdeb, err := a.download(ctx, filepath.Join(work, "kernel"), kpkg)
	if err != nil {
		return err
	}
	qdebs, err := a.downloadWithDeps(ctx, filepath.Join(work, "qemu"), QEMUPkg)
	if err != nil {
		return err
	}
	r.Versions.KernelPackage = kpkg
	if r.Versions.Linux, err = debField(ctx, kdeb, "Version"); err != nil {
		return err
	}
	for _, d := range qdebs {
		if strings.HasPrefix(filepath.Base(d), QEMUPkg+"_") {
			if r.Versions.QEMU, err = debField(ctx, d, "Version"); err != nil {
				return err
			}
		}
	}
	if r.Versions.QEMU == "" {
		return fmt.Errorf("kvm rig: apt downloaded no %s package", QEMUPkg)
	}

	unpacked, root := filepath.Join(work, "unpacked"), filepath.Join(work, "root")
	fmt.Fprintf(log, "runikraft: unpacking %d packages (dpkg-deb -x, no maintainer scripts)\n", len(qdebs))
	for _, d := range qdebs {
		if err := run(ctx, "dpkg-deb", "-x", d, unpacked); err != nil {
			return err
		}
	}
	if err := mergedUsr(unpacked); err != nil {
		return err
	}
	keep, err := closure(unpacked, []string{qemuBinary})
	if err != nil {
		return err
	}
	if err := moveKept(unpacked, root, keep); err != nil {
		return err
	}
	vmlinuxTmp := r.Kernel + ".tmp"
	if err := extractKernel(ctx, kdeb, vmlinuxTmp, filepath.Join(root, "kvm.ko")); err != nil {
		return err
	}
	if err := buildInit(ctx, filepath.Join(work, "init-src"), filepath.Join(root, "init")); err != nil {
		return err
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("kvm rig: %w", err)
		}
	}
	if err := pack(root, r.Initramfs); err != nil {
		return err
	}
	if err := os.Rename(vmlinuxTmp, r.Kernel); err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	return nil
}

// qemuBinary is the nested VMM, relative to the root.
const qemuBinary = "usr/bin/qemu-system-riscv64"

// mergedUsr links /bin, /sbin and /lib to /usr as a merged-/usr system
// has them: the program interpreter is /lib/ld-linux-riscv64-lp64d.so.1.
func mergedUsr(root string) error {
	for _, l := range []string{"bin", "sbin", "lib"} {
		p := filepath.Join(root, l)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("kvm rig: %s is a directory, not merged-/usr as trixie's packages are", p)
		}
		os.Remove(p)
		if err := os.Symlink("usr/"+l, p); err != nil {
			return fmt.Errorf("kvm rig: %w", err)
		}
	}
	if !fileExists(filepath.Join(root, qemuBinary)) {
		return fmt.Errorf("kvm rig: the unpacked packages have no %s", qemuBinary)
	}
	return nil
}

// buildInit builds guestinit for linux/riscv64 from its embedded source.
func buildInit(ctx context.Context, dir, out string) error {
	src, err := initSource.ReadFile("guestinit/main.go")
	if err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	// A module of its own, standard library only, so the build does not
	// depend on where runikraft's source is.
	mod := "module rkvminit\n\ngo 1.21\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kvm rig: building the init: %w\n%s", err, b)
	}
	return nil
}

// pack packs root into a newc archive at out (atomically). Not
// compressed: under TCG the outer Linux took 3.6 s to gunzip a 36 MB
// archive and 1.9 s to unpack the same 90 MB uncompressed.
func pack(root, out string) error {
	f, err := os.CreateTemp(filepath.Dir(out), ".initramfs-*")
	if err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	err = rootfs.Pack(root, bw, rootfs.Options{Mtime: time.Unix(0, 0), SkipUnsupported: true})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kvm rig: packing the initramfs: %w", err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("kvm rig: %w", err)
	}
	return nil
}

func debField(ctx context.Context, deb, field string) (string, error) {
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", deb, field).Output()
	if err != nil {
		return "", fmt.Errorf("kvm rig: dpkg-deb -f %s %s: %w", deb, field, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func run(ctx context.Context, name string, args ...string) error {
	if b, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("kvm rig: %s %s: %w\n%s", name, strings.Join(args, " "), err, b)
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

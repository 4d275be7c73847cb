package kvmrig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runikraft/runikraft/internal/qemu"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// The outer machine: TCG with the hypervisor extension, enough RAM for the
// initramfs (about 150 MB unpacked), QEMU and the nested guest.
const (
	OuterMemoryMiB = 2048
	// MaxNestedMemoryMiB leaves the outer Linux room for the initramfs
	// and QEMU itself.
	MaxNestedMemoryMiB = 1536
	// Outer Linux quiet (loglevel=1: emergencies only), so the console
	// carries the nested guest's output alone.
	outerAppend = "console=ttyS0 quiet loglevel=1 rdinit=/init"
)

// Paths inside the outer Linux, where the per-run archive puts the image.
const (
	guestKernel = "run/kernel"
	guestInitrd = "run/initrd"
	guestArgv   = "run/argv"
)

// RunOptions describes one nested run.
type RunOptions struct {
	Rig *Rig
	// QEMU is the host's qemu-system-riscv64 (the outer machine).
	QEMU string
	// Nested is the image's own VM, as runikraft run would boot it; its
	// Kernel and Initrd are host paths, copied into the outer machine.
	// Only the UART console is supported (not AppConsole).
	Nested  qemu.Config
	Timeout time.Duration // 0: none
	Stdout  io.Writer     // the nested guest's console
	Stderr  io.Writer     // the nested QEMU's stderr, the rig's own messages
	Banner  io.Writer     // everything before the nested guest's output (outer firmware, Linux, init); nil drops it
}

// Result says how a nested run ended.
type Result struct {
	// Code is the nested QEMU's exit status, which is the image's when
	// it powers off through the test finisher.
	Code int
	// TimedOut is set when Timeout expired.
	TimedOut bool
	// NestedTime is how long the nested QEMU ran, by the outer Linux's
	// clock: the image under KVM, without the outer machine's boot.
	NestedTime time.Duration
	// Outer is how the outer QEMU ended.
	Outer qemu.Result
}

// ErrNoStatus is returned when the outer machine ended without the init
// reporting the nested QEMU's status.
var ErrNoStatus = errors.New("kvm rig: the outer machine ended without reporting the nested guest's exit status")

// KVMArgs is QEMU's argv (without the program) that boots cfg under KVM
// on a RISC-V host: KVM, the host CPU, and no firmware (KVM's SBI
// replaces OpenSBI). Only the UART console is supported.
func KVMArgs(cfg qemu.Config) ([]string, error) {
	if cfg.AppConsole {
		return nil, errors.New("kvm rig: the nested run has the UART console only")
	}
	args := qemu.Args(cfg)
	i := slices.Index(args, "-bios")
	if i < 0 || i+1 >= len(args) {
		return nil, errors.New("kvm rig: qemu.Args has no -bios")
	}
	args[i+1] = "none"
	return append([]string{"-accel", "kvm", "-cpu", "host"}, args...), nil
}

// NestedArgs is KVMArgs with the image at its paths inside the outer
// machine.
func NestedArgs(cfg qemu.Config) ([]string, error) {
	cfg.Kernel = "/" + guestKernel
	if cfg.Initrd != "" {
		cfg.Initrd = "/" + guestInitrd
	}
	return KVMArgs(cfg)
}

// OuterArgs is the outer QEMU's argv (without the program).
func OuterArgs(r *Rig, initrd, nonce string) []string {
	return []string{
		"-M", "virt", "-cpu", "rv64,h=true",
		"-m", strconv.Itoa(OuterMemoryMiB) + "M", "-smp", "1",
		"-bios", "default",
		"-nodefaults", "-display", "none", "-monitor", "none",
		"-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0",
		"-kernel", r.Kernel, "-initrd", initrd,
		// A name=value the kernel does not know is passed to init as an
		// environment variable.
		"-append", outerAppend + " rkvm_nonce=" + nonce,
	}
}

// Run boots o.Nested under KVM inside the outer machine.
func Run(ctx context.Context, o RunOptions) (Result, error) {
	if o.Nested.MemoryMiB > MaxNestedMemoryMiB {
		return Result{}, fmt.Errorf("kvm rig: the nested guest can have at most %s of the outer machine's %s", qemu.FormatMemory(MaxNestedMemoryMiB), qemu.FormatMemory(OuterMemoryMiB))
	}
	nested, err := NestedArgs(o.Nested)
	if err != nil {
		return Result{}, err
	}
	var nb [12]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return Result{}, fmt.Errorf("kvm rig: %w", err)
	}
	nonce := hex.EncodeToString(nb[:])
	initrd, err := runInitramfs(o.Rig, o.Nested, nested)
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(initrd)

	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	f := newFrameFilter(o.Stdout, o.Stderr, nonce)
	res, err := qemu.Run(ctx, qemu.Options{
		Path:    o.QEMU,
		Args:    OuterArgs(o.Rig, initrd, nonce),
		Stdout:  f,
		Stderr:  o.Stderr,
		Banner:  o.Banner,
		Timeout: o.Timeout,
	})
	if err != nil {
		return Result{}, fmt.Errorf("kvm rig: starting %s: %w", o.QEMU, err)
	}
	f.end()
	out := Result{Outer: res, TimedOut: res.TimedOut}
	switch {
	case res.TimedOut:
		return out, nil
	case f.failure != "":
		return out, fmt.Errorf("kvm rig: the outer machine's init failed: %s", f.failure)
	case !f.done:
		return out, fmt.Errorf("%w (outer QEMU exit status %d, signal %d)", ErrNoStatus, res.ExitCode, res.Signal)
	}
	out.Code, out.NestedTime = f.status, f.ran
	return out, nil
}

// runInitramfs writes the rig's initramfs followed by a small archive
// with this run's image, initrd and nested argv: Linux unpacks
// concatenated archives in order, so the cached 40 MB part is copied,
// never rebuilt.
func runInitramfs(r *Rig, cfg qemu.Config, argv []string) (string, error) {
	base, err := os.Open(r.Initramfs)
	if err != nil {
		return "", fmt.Errorf("kvm rig: %w", err)
	}
	defer base.Close()
	f, err := os.CreateTemp("", "runikraft-kvm-*.cpio")
	if err != nil {
		return "", fmt.Errorf("kvm rig: %w", err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("kvm rig: %w", err)
	}
	n, err := io.Copy(f, base)
	if err != nil {
		return fail(err)
	}
	// The unpacker skips zero bytes between archives; keep the next
	// header 4-byte aligned, as cpio headers are.
	if pad := (4 - n%4) % 4; pad > 0 {
		if _, err := f.Write(make([]byte, pad)); err != nil {
			return fail(err)
		}
	}
	var av strings.Builder
	for _, a := range append([]string{"/usr/bin/qemu-system-riscv64"}, argv...) {
		if strings.IndexByte(a, 0) >= 0 {
			return fail(fmt.Errorf("argument %q contains a NUL byte", a))
		}
		av.WriteString(a)
		av.WriteByte(0)
	}
	entries := []cpio.Entry{
		{Header: cpio.Header{Name: "run", Mode: cpio.TypeDir | 0o755}},
		{Header: cpio.Header{Name: guestArgv, Mode: cpio.TypeReg | 0o644, Size: int64(av.Len())}, Body: []byte(av.String())},
	}
	for _, p := range []struct{ name, host string }{{guestKernel, cfg.Kernel}, {guestInitrd, cfg.Initrd}} {
		if p.host == "" {
			continue
		}
		e, err := fileEntry(p.name, p.host)
		if err != nil {
			return fail(err)
		}
		entries = append(entries, e)
	}
	if err := cpio.WriteArchive(f, entries, cpio.ArchiveOptions{}); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("kvm rig: %w", err)
	}
	return f.Name(), nil
}

func fileEntry(name, host string) (cpio.Entry, error) {
	fi, err := os.Stat(host)
	if err != nil {
		return cpio.Entry{}, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > cpio.MaxSize {
		return cpio.Entry{}, fmt.Errorf("%s is not a regular file of at most %d bytes", host, int64(cpio.MaxSize))
	}
	return cpio.Entry{
		Header: cpio.Header{Name: name, Mode: cpio.TypeReg | 0o644, Size: fi.Size()},
		Open:   func() (io.ReadCloser, error) { return os.Open(filepath.Clean(host)) },
	}, nil
}

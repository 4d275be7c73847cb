// Package libvirt describes a Runikraft image as a libvirt domain: direct
// kernel boot on QEMU's riscv64 virt machine with the devices runikraft
// run gives it (internal/qemu), so the image runs under a libvirt daemon
// (virsh, virt-manager, anything that manages libvirt domains).
//
// runikraft run hands QEMU sockets for the UART and the application's
// console ports; a libvirt domain lives on after the command that defined
// it, so here they are files: the UART (the kernel's log) and the
// runikraft.stdout and runikraft.stderr ports each write one. The
// runikraft.stdin port reads an empty file, so the application reads end
// of file as with runikraft run </dev/null (see StdinFiles). Every virtio device sits on virtio-mmio, as with runikraft run
// (libvirt's default for virt is PCI, which the kernel does not drive),
// and libvirt's default extras (USB controller, balloon) are left out.
package libvirt

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/qemu"
)

// Port names of the stock kernel's console (kernel/console).
const (
	StdinPort  = "runikraft.stdin"
	StdoutPort = "runikraft.stdout"
	StderrPort = "runikraft.stderr"
)

// Config is one domain.
type Config struct {
	Name      string // domain name
	Emulator  string // qemu-system-riscv64's path
	Kernel    string // absolute path of the image (-kernel)
	Initrd    string // absolute path of an application for the stock kernel, or ""
	Cmdline   string // kernel command line (bootargs.Encode ...)
	MemoryMiB uint64
	CPUs      int
	KVM       bool // <domain type='kvm'> on a host with /dev/kvm; TCG ('qemu') otherwise
	RNG       bool // virtio-rng, fed from the host's /dev/urandom
	// Console is the file that receives the UART: the firmware banner,
	// the kernel's log and, with Report, its exit status line.
	Console string
	// Stdout and Stderr, both set or both empty, receive the
	// application's console ports (an application on the stock kernel,
	// as runikraft run's AppConsole). Empty: everything on the UART.
	Stdout, Stderr string
	// Stdin, with Stdout, is the path of the stdin port's pipe chardev;
	// StdinFiles makes the files behind it.
	Stdin string
	// Report adds bootargs.ReportKey to the command line: the kernel
	// prints its exit status on the UART, since libvirt does not keep
	// QEMU's exit status (where runikraft run reads it).
	Report bool
}

// StdinFiles creates the files behind the stdin port's pipe chardev at
// path: QEMU reads path.in and writes path.out when both exist. Regular
// empty files, not FIFOs: QEMU opens them read-write, and a FIFO opened
// so never ends, while an empty file ends at once, and QEMU then reports
// the port closed, which is end of file for the guest (as a closed
// socket is under runikraft run). A null chardev would never be open,
// and the guest's read would wait for ever.
func StdinFiles(path string) error {
	for _, f := range []string{path + ".in", path + ".out"} {
		if err := os.WriteFile(f, nil, 0o666); err != nil {
			return err
		}
	}
	return nil
}

// HostHasKVM reports whether this host can run the domain under KVM.
func HostHasKVM() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func (c Config) validate() error {
	abs := func(what, p string) error {
		if p != "" && !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%s %q: libvirt needs an absolute path", what, p)
		}
		return nil
	}
	switch {
	case c.Name == "":
		return errors.New("no domain name")
	case c.Kernel == "":
		return errors.New("no kernel")
	case c.Console == "":
		return errors.New("no console file")
	case (c.Stdout == "") != (c.Stderr == "") || (c.Stdout == "") != (c.Stdin == ""):
		return errors.New("stdin, stdout and stderr files go together")
	case c.MemoryMiB < qemu.MinMemoryMiB || c.MemoryMiB > qemu.MaxMemoryMiB:
		return fmt.Errorf("memory %s out of range %s..%s", qemu.FormatMemory(c.MemoryMiB), qemu.FormatMemory(qemu.MinMemoryMiB), qemu.FormatMemory(qemu.MaxMemoryMiB))
	case c.CPUs < 1 || c.CPUs > qemu.MaxCPUs:
		return fmt.Errorf("cpus %d out of range 1..%d", c.CPUs, qemu.MaxCPUs)
	}
	for _, p := range [][2]string{{"kernel", c.Kernel}, {"initrd", c.Initrd}, {"console file", c.Console}, {"stdin", c.Stdin}, {"stdout file", c.Stdout}, {"stderr file", c.Stderr}, {"emulator", c.Emulator}} {
		if err := abs(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

// Domain returns the domain c describes.
func Domain(c Config) (*libvirtxml.Domain, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("libvirt domain: %w", err)
	}
	cmdline := c.Cmdline
	if c.Report {
		key, err := bootargs.EncodeKey(bootargs.ReportKey, nil)
		if err != nil {
			return nil, err
		}
		cmdline = strings.TrimSpace(cmdline + " " + key)
	}
	mmio := func() *libvirtxml.DomainAddress {
		return &libvirtxml.DomainAddress{VirtioMMIO: &libvirtxml.DomainAddressVirtioMMIO{}}
	}
	file := func(p string) *libvirtxml.DomainChardevSource {
		return &libvirtxml.DomainChardevSource{File: &libvirtxml.DomainChardevSourceFile{Path: p}}
	}
	zero := uint(0)
	typ := "qemu"
	if c.KVM {
		typ = "kvm"
	}
	desc := "Runikraft image " + c.Kernel
	if c.Initrd != "" {
		desc = "application " + c.Initrd + " on the Runikraft kernel " + c.Kernel
	}
	d := &libvirtxml.Domain{
		Type:        typ,
		Name:        c.Name,
		Description: desc,
		Memory:      &libvirtxml.DomainMemory{Value: uint(c.MemoryMiB), Unit: "MiB"},
		VCPU:        &libvirtxml.DomainVCPU{Value: uint(c.CPUs)},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "riscv64", Machine: "virt", Type: "hvm"},
			Kernel:  c.Kernel,
			Initrd:  c.Initrd,
			Cmdline: cmdline,
		},
		// A unikernel's power-off is its end: nothing restarts it.
		OnPoweroff: "destroy",
		OnReboot:   "destroy",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Emulator: c.Emulator,
			Controllers: []libvirtxml.DomainController{
				{Type: "usb", Model: "none"},
			},
			Serials: []libvirtxml.DomainSerial{{
				Source: file(c.Console),
				Target: &libvirtxml.DomainSerialTarget{Port: &zero},
			}},
			MemBalloon: &libvirtxml.DomainMemBalloon{Model: "none"},
		},
	}
	if c.KVM {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	}
	if c.Stdout != "" {
		d.Devices.Controllers = append(d.Devices.Controllers, libvirtxml.DomainController{
			Type: "virtio-serial", Index: &zero, Address: mmio(),
		})
		port := func(src *libvirtxml.DomainChardevSource, name string) libvirtxml.DomainChannel {
			return libvirtxml.DomainChannel{
				Source: src,
				Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: name}},
			}
		}
		d.Devices.Channels = []libvirtxml.DomainChannel{
			port(&libvirtxml.DomainChardevSource{Pipe: &libvirtxml.DomainChardevSourcePipe{Path: c.Stdin}}, StdinPort),
			port(file(c.Stdout), StdoutPort),
			port(file(c.Stderr), StderrPort),
		}
	}
	if c.RNG {
		d.Devices.RNGs = []libvirtxml.DomainRNG{{
			Model:   "virtio",
			Backend: &libvirtxml.DomainRNGBackend{Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"}},
			Address: mmio(),
		}}
	}
	return d, nil
}

// XML renders the domain for virsh define.
func XML(c Config) (string, error) {
	d, err := Domain(c)
	if err != nil {
		return "", err
	}
	s, err := d.Marshal()
	if err != nil {
		return "", fmt.Errorf("libvirt domain: %w", err)
	}
	return s + "\n", nil
}

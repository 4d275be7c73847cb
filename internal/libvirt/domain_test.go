package libvirt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/runikraft/runikraft/internal/bootargs"
)

func config() Config {
	return Config{
		Name: "rk-test", Emulator: "/usr/bin/qemu-system-riscv64",
		Kernel: "/img/kernel.img", Initrd: "/img/app", Cmdline: "runikraft.args=YQA runikraft.env=",
		MemoryMiB: 128, CPUs: 2, RNG: true, Report: true,
		Console: "/out/console.log", Stdin: "/out/stdin", Stdout: "/out/stdout", Stderr: "/out/stderr",
	}
}

// TestDomainXML renders a domain and reads it back with libvirtxml, as
// libvirt would parse it, checking what runikraft run's QEMU command
// line has.
func TestDomainXML(t *testing.T) {
	x, err := XML(config())
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatalf("%v\n%s", err, x)
	}
	if d.Type != "qemu" || d.Name != "rk-test" || d.Memory.Value != 128 || d.Memory.Unit != "MiB" || d.VCPU.Value != 2 {
		t.Errorf("domain type %q name %q memory %+v vcpu %+v", d.Type, d.Name, d.Memory, d.VCPU)
	}
	dos := d.OS
	if dos.Type.Arch != "riscv64" || dos.Type.Machine != "virt" || dos.Kernel != "/img/kernel.img" || dos.Initrd != "/img/app" {
		t.Errorf("os %+v %+v", dos.Type, dos)
	}
	if _, ok, _ := bootargs.DecodeKey(dos.Cmdline, bootargs.ReportKey); !ok || !strings.HasPrefix(dos.Cmdline, "runikraft.args=YQA runikraft.env= ") {
		t.Errorf("cmdline %q: want the given one plus %s", dos.Cmdline, bootargs.ReportKey)
	}
	dev := d.Devices
	if dev.Emulator != "/usr/bin/qemu-system-riscv64" || dev.MemBalloon == nil || dev.MemBalloon.Model != "none" {
		t.Errorf("emulator %q balloon %+v", dev.Emulator, dev.MemBalloon)
	}
	if len(dev.Serials) != 1 || dev.Serials[0].Source.File == nil || dev.Serials[0].Source.File.Path != "/out/console.log" {
		t.Errorf("serials %+v", dev.Serials)
	}
	var vser bool
	for _, c := range dev.Controllers {
		if c.Type == "virtio-serial" {
			vser = c.Address != nil && c.Address.VirtioMMIO != nil
		}
	}
	if !vser {
		t.Errorf("no virtio-serial controller on virtio-mmio: %+v", dev.Controllers)
	}
	ports := map[string]libvirtxml.DomainChardevSource{}
	for _, ch := range dev.Channels {
		ports[ch.Target.VirtIO.Name] = *ch.Source
	}
	if p := ports[StdinPort].Pipe; p == nil || p.Path != "/out/stdin" {
		t.Errorf("stdin port %+v", ports[StdinPort])
	}
	if f := ports[StdoutPort].File; f == nil || f.Path != "/out/stdout" {
		t.Errorf("stdout port %+v", ports[StdoutPort])
	}
	if f := ports[StderrPort].File; f == nil || f.Path != "/out/stderr" {
		t.Errorf("stderr port %+v", ports[StderrPort])
	}
	if len(dev.RNGs) != 1 || dev.RNGs[0].Address == nil || dev.RNGs[0].Address.VirtioMMIO == nil {
		t.Errorf("rng %+v", dev.RNGs)
	}

	// KVM, and a machine image: no ports, no rng asked for.
	c := config()
	c.KVM, c.RNG, c.Initrd, c.Stdin, c.Stdout, c.Stderr = true, false, "", "", "", ""
	dm, err := Domain(c)
	if err != nil {
		t.Fatal(err)
	}
	if dm.Type != "kvm" || dm.CPU == nil || dm.CPU.Mode != "host-passthrough" || len(dm.Devices.Channels) != 0 || len(dm.Devices.RNGs) != 0 {
		t.Errorf("kvm machine image: type %q cpu %+v channels %d rngs %d", dm.Type, dm.CPU, len(dm.Devices.Channels), len(dm.Devices.RNGs))
	}
}

func TestConfigRefused(t *testing.T) {
	for name, f := range map[string]func(*Config){
		"relative kernel": func(c *Config) { c.Kernel = "kernel.img" },
		"no console":      func(c *Config) { c.Console = "" },
		"stdout alone":    func(c *Config) { c.Stderr = "" },
		"tiny memory":     func(c *Config) { c.MemoryMiB = 1 },
		"no cpus":         func(c *Config) { c.CPUs = 0 },
		"no name":         func(c *Config) { c.Name = "" },
	} {
		c := config()
		f(&c)
		if _, err := Domain(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStdinFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stdin")
	if err := StdinFiles(p); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p + ".in", p + ".out"} {
		fi, err := os.Stat(f)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
}

package qemu

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestArgsExport(t *testing.T) {
	got := Args(Config{Kernel: "k.img", Initrd: "fs.cpio", MemoryMiB: 128, CPUs: 1, AppConsole: true, Export: "/tmp/a,b/export"})
	want := []string{
		"-M", "virt", "-bios", "default", "-nodefaults", "-display", "none", "-monitor", "none",
		"-chardev", "socket,id=rklog,fd=6", "-serial", "chardev:rklog",
		"-device", "virtio-serial-device,max_ports=5",
		"-chardev", "socket,id=rkin,fd=3", "-device", "virtserialport,chardev=rkin,name=runikraft.stdin",
		"-chardev", "socket,id=rkout,fd=4", "-device", "virtserialport,chardev=rkout,name=runikraft.stdout",
		"-chardev", "socket,id=rkerr,fd=5", "-device", "virtserialport,chardev=rkerr,name=runikraft.stderr",
		"-chardev", "file,id=rkexp,path=/tmp/a,,b/export", "-device", "virtserialport,chardev=rkexp,name=runikraft.export",
		"-m", "128M", "-smp", "1", "-kernel", "k.img", "-initrd", "fs.cpio",
		"-append", "runikraft.marker=1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
}

func TestValidateExportNeedsAppConsole(t *testing.T) {
	c := Config{Kernel: "k.img", MemoryMiB: 128, CPUs: 1, Export: "/tmp/x"}
	if err := c.Validate(); err == nil {
		t.Fatal("Export without AppConsole validated")
	}
	c.AppConsole = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestExportPortNameMatchesKernel(t *testing.T) {
	src, err := os.ReadFile("../../kernel/console/console.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"`+exportPort+`"`) {
		t.Errorf("kernel/console/console.go does not name port %q", exportPort)
	}
}

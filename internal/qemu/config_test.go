package qemu

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestArgsDefault(t *testing.T) {
	got := Args(Config{Kernel: "img.elf", MemoryMiB: DefaultMemoryMiB, CPUs: 1, RNG: true, Append: "runikraft.args=aW1nLmVsZgA runikraft.env="})
	want := []string{
		"-M", "virt", "-bios", "default", "-nodefaults", "-display", "none", "-monitor", "none",
		"-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0",
		"-m", "512M", "-smp", "1", "-kernel", "img.elf",
		"-append", "runikraft.marker=1 runikraft.args=aW1nLmVsZgA runikraft.env=",
		"-device", "virtio-rng-device",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
}

func TestArgsOptions(t *testing.T) {
	got := Args(Config{Kernel: "/a b/k", MemoryMiB: 2048, CPUs: 4, Debug: true})
	s := strings.Join(got, "|")
	for _, want := range []string{"-m|2048M", "-smp|4", "-kernel|/a b/k", "-d|guest_errors,unimp"} {
		if !strings.Contains(s, want) {
			t.Errorf("Args %q lacks %q", got, want)
		}
	}
	// Without a command line, only the marker request.
	if !strings.Contains(s, "-append|runikraft.marker=1|") {
		t.Errorf("Args %q: want -append runikraft.marker=1", got)
	}
	for _, absent := range []string{"virtio-rng-device", "mon:stdio", "-nographic"} {
		if strings.Contains(s, absent) {
			t.Errorf("Args %q contains %q", got, absent)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"128", 128}, {"64M", 64}, {"128MiB", 128}, {"128m", 128}, {"256mib", 256},
		{"2G", 2048}, {"2GiB", 2048}, {"1g", 1024}, {" 512M ", 512},
		{"8", MinMemoryMiB}, {"1024G", MaxMemoryMiB},
	} {
		got, err := ParseMemory(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "M", "G", "abc", "-1", "1.5G", "128K", "128KiB", "128MB", "2T", "12 8M",
		"0", "7M", "1025G", "1048577", "99999999999999999999", "0x80M",
	} {
		if got, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want error", in, got)
		} else if !strings.Contains(err.Error(), "memory size") {
			t.Errorf("ParseMemory(%q) error %q does not say what was wrong", in, err)
		}
	}
}

func TestFormatMemory(t *testing.T) {
	for mib, want := range map[uint64]string{128: "128MiB", 1024: "1GiB", 1536: "1536MiB", 2048: "2GiB"} {
		if got := FormatMemory(mib); got != want {
			t.Errorf("FormatMemory(%d) = %q, want %q", mib, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Kernel: "k", MemoryMiB: 128, CPUs: 1}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	for _, c := range []Config{
		{MemoryMiB: 128, CPUs: 1},
		{Kernel: "k", MemoryMiB: 4, CPUs: 1},
		{Kernel: "k", MemoryMiB: 128, CPUs: 0},
		{Kernel: "k", MemoryMiB: 128, CPUs: MaxCPUs + 1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", c)
		}
	}
}

func TestCommandLine(t *testing.T) {
	got := CommandLine([]string{"/usr/bin/qemu", "-chardev", "stdio,id=con0,signal=off", "-append", "a=b c=d", "", "it's"})
	want := `/usr/bin/qemu -chardev stdio,id=con0,signal=off -append 'a=b c=d' '' 'it'\''s'`
	if got != want {
		t.Errorf("CommandLine = %s\nwant %s", got, want)
	}
}

func TestArgsAppConsole(t *testing.T) {
	got := Args(Config{Kernel: "k.img", Initrd: "app", MemoryMiB: 128, CPUs: 2, RNG: true, AppConsole: true, Append: "a=b"})
	want := []string{
		"-M", "virt", "-bios", "default", "-nodefaults", "-display", "none", "-monitor", "none",
		"-chardev", "socket,id=rklog,fd=6", "-serial", "chardev:rklog",
		"-device", "virtio-serial-device,max_ports=4",
		"-chardev", "socket,id=rkin,fd=3", "-device", "virtserialport,chardev=rkin,name=runikraft.stdin",
		"-chardev", "socket,id=rkout,fd=4", "-device", "virtserialport,chardev=rkout,name=runikraft.stdout",
		"-chardev", "socket,id=rkerr,fd=5", "-device", "virtserialport,chardev=rkerr,name=runikraft.stderr",
		"-m", "128M", "-smp", "2", "-kernel", "k.img", "-initrd", "app",
		"-append", "runikraft.marker=1 a=b", "-device", "virtio-rng-device",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
}

// A held log's UART is a file chardev on the descriptor in QEMU's fd set.
func TestArgsHeldLog(t *testing.T) {
	got := Args(Config{Kernel: "k.img", MemoryMiB: 128, CPUs: 1, AppConsole: true, HeldLog: true})
	want := []string{"-add-fd", "fd=6,set=1", "-chardev", "file,id=rklog,path=/dev/fdset/1", "-serial", "chardev:rklog"}
	if i := slices.Index(got, "-add-fd"); i < 0 || !slices.Equal(got[i:i+len(want)], want) {
		t.Errorf("Args: %q\nwant it to hold %q", got, want)
	}
}

// The port names are kernel/console's, which the host cannot import
// (riscv64 only); this catches one side being renamed.
func TestPortNamesMatchKernel(t *testing.T) {
	src, err := os.ReadFile("../../kernel/console/console.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{stdinPort, stdoutPort, stderrPort} {
		if !strings.Contains(string(src), `"`+name+`"`) {
			t.Errorf("kernel/console/console.go does not name port %q", name)
		}
	}
}

// A command line longer than one execve argument may be is refused
// before QEMU is started (execve would fail with E2BIG).
func TestValidateCmdlineLength(t *testing.T) {
	c := Config{Kernel: "k", MemoryMiB: 64, CPUs: 1}
	c.Append = strings.Repeat("a", MaxCmdline-len(c.cmdline())-1) // and a blank before it
	if err := c.Validate(); err != nil {
		t.Errorf("a command line of exactly %d bytes: %v", MaxCmdline, err)
	}
	c.Append += "a"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "kernel command line") {
		t.Errorf("a command line of %d bytes: %v, want an error about its length", MaxCmdline+1, err)
	}
}

// Package qemu builds and runs the qemu-system-riscv64 command line that
// boots a Runikraft image on QEMU's virt machine under OpenSBI.
package qemu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/runikraft/runikraft/kernel/abi"
)

// DefaultBinary is the QEMU executable looked up in PATH.
const DefaultBinary = "qemu-system-riscv64"

// Defaults and limits for Config.
const (
	DefaultMemoryMiB = 512
	// OpenSBI sits at the start of RAM, the kernel 2MiB in and QEMU puts
	// the FDT in the last 2MiB; below 8MiB they collide.
	MinMemoryMiB = 8
	MaxMemoryMiB = 1 << 20 // 1TiB: anything larger is a typo here
	MaxCPUs      = 512     // QEMU virt's limit
	// MaxCmdline is the longest kernel command line (-append, the
	// console marker parameter included) QEMU can be started with: it is
	// one argument of QEMU's, and Linux's execve refuses an argument of
	// MAX_ARG_STRLEN (32 pages: 128 KiB, its NUL included) or more.
	MaxCmdline = 32*4096 - 1
)

// Config describes one VM.
type Config struct {
	Kernel    string // ELF image for -kernel
	MemoryMiB uint64
	CPUs      int
	Append    string // kernel command line (-append), after abi.MarkerParam
	Initrd    string // file QEMU places in RAM for the kernel (-initrd): the app
	RNG       bool   // add virtio-rng-device so the guest has entropy
	Debug     bool   // log guest errors and unimplemented device accesses
	GDBPort   int    // if not 0: start halted, gdb stub on 127.0.0.1:GDBPort
	// AppConsole wires the console for an application on the stock
	// kernel (see kernel/console): stdin, stdout and stderr on their own
	// virtio-console ports and the UART as the kernel's log, each on a
	// socket Run passes as fd FDStdin..FDLog. Run needs
	// Options.AppConsole to match.
	AppConsole bool
	// HeldLog (with AppConsole) says the kernel's log is not shown as
	// it comes, only at the end: QEMU then writes the UART to a file
	// (fd FDLog, an unlinked temporary file, through QEMU's fd set 1)
	// that Run reads once a second and at QEMU's exit. On a socket
	// every byte the firmware and the kernel write is a send of its own
	// that wakes runikraft: some 1,700 for OpenSBI's banner alone, host
	// CPU next to QEMU's at every start. Options.HeldLog must match.
	HeldLog bool
	// Net, if set, gives the guest a virtio-net device on QEMU's
	// user-mode network with these port forwards (kernel/net
	// configures it by DHCP, or from runikraft.net in Append).
	Net *UserNet
	// Volumes are host directories shared with the guest over virtio-9p
	// (runikraft run -v); the kernel learns where to mount them from
	// the command line (bootargs.VolumesKey).
	Volumes []Volume
	// Tap, if set instead of Net, puts the guest's virtio-net device on
	// a host tap interface.
	Tap *TapNet
	// Extra arguments appended to QEMU's command line as they are, for
	// tests and for what Config does not cover.
	Extra []string
}

// With AppConsole, QEMU's descriptors for the console sockets, in
// os/exec ExtraFiles order.
const (
	FDStdin  = 3 + iota // virtio-console port runikraft.stdin
	FDStdout            // port runikraft.stdout
	FDStderr            // port runikraft.stderr
	FDLog               // the UART (serial0): banner, marker, kernel log
)

// logFDSet is the QEMU fd set that holds FDLog with HeldLog.
const logFDSet = 1

// Port names the stock kernel looks for; kernel/console's StdinPort,
// StdoutPort and StderrPort (a riscv64-only package, so not imported).
const (
	stdinPort  = "runikraft.stdin"
	stdoutPort = "runikraft.stdout"
	stderrPort = "runikraft.stderr"
)

// Validate reports the first problem that would make QEMU reject c (or
// start a guest that cannot boot), in terms of the user's flags.
func (c Config) Validate() error {
	switch {
	case c.Kernel == "":
		return errors.New("no image given")
	case c.MemoryMiB < MinMemoryMiB || c.MemoryMiB > MaxMemoryMiB:
		return fmt.Errorf("memory %s out of range %s..%s", FormatMemory(c.MemoryMiB), FormatMemory(MinMemoryMiB), FormatMemory(MaxMemoryMiB))
	case c.CPUs < 1 || c.CPUs > MaxCPUs:
		return fmt.Errorf("cpus %d out of range 1..%d", c.CPUs, MaxCPUs)
	case len(c.cmdline()) > MaxCmdline:
		return fmt.Errorf("the kernel command line (the application's arguments and environment, encoded) is %d bytes, more than the %d QEMU can be given", len(c.cmdline()), MaxCmdline)
	}
	return nil
}

// Args returns QEMU's arguments (without the program name) for c.
//
// The console is the virt UART on a stdio chardev with signal=off instead
// of -serial mon:stdio, so no byte (Ctrl-A, Ctrl-C) is taken by QEMU's
// monitor mux or turned into a signal: stdin reaches the guest byte for
// byte. -nographic cannot be used with it: it would also attach the monitor
// to stdio ("cannot use stdio by multiple character devices"), so the
// display and monitor are switched off separately. -nodefaults drops the
// default devices we do not use (e.g. an unconnected user-mode network).
//
// With AppConsole, QEMU gets no stdio chardev at all (it would read our
// stdin next to the stdin port); the sockets are wired as
// kernel/console/doc.go describes, max_ports=4 being port 0 (reserved for
// a console) and the three streams.
func Args(c Config) []string {
	args := []string{
		"-M", "virt",
		"-bios", "default",
		"-nodefaults",
		"-display", "none",
		"-monitor", "none",
	}
	if c.AppConsole {
		sock := func(id string, fd int) string { return "socket,id=" + id + ",fd=" + strconv.Itoa(fd) }
		port := func(id, name string) string { return "virtserialport,chardev=" + id + ",name=" + name }
		uart := sock("rklog", FDLog)
		if c.HeldLog {
			// A file chardev opens a path; /dev/fdset/N is QEMU's own
			// way to name a descriptor it was given (no /proc needed).
			args = append(args, "-add-fd", "fd="+strconv.Itoa(FDLog)+",set="+strconv.Itoa(logFDSet))
			uart = "file,id=rklog,path=/dev/fdset/" + strconv.Itoa(logFDSet)
		}
		args = append(args,
			"-chardev", uart,
			"-serial", "chardev:rklog",
			"-device", "virtio-serial-device,max_ports=4",
			"-chardev", sock("rkin", FDStdin), "-device", port("rkin", stdinPort),
			"-chardev", sock("rkout", FDStdout), "-device", port("rkout", stdoutPort),
			"-chardev", sock("rkerr", FDStderr), "-device", port("rkerr", stderrPort),
		)
	} else {
		args = append(args,
			"-chardev", "stdio,id=con0,signal=off",
			"-serial", "chardev:con0",
		)
	}
	args = append(args,
		"-m", strconv.FormatUint(c.MemoryMiB, 10)+"M",
		"-smp", strconv.Itoa(c.CPUs),
		"-kernel", c.Kernel,
	)
	if c.Initrd != "" {
		args = append(args, "-initrd", c.Initrd)
	}
	// The kernel prints its console marker only when asked, so that a
	// plain boot's console is the application's alone; Run's filters
	// need it.
	args = append(args, "-append", c.cmdline())
	if c.RNG {
		args = append(args, "-device", "virtio-rng-device")
	}
	if c.Debug {
		args = append(args, "-d", "guest_errors,unimp")
	}
	if c.Net != nil {
		args = append(args, c.Net.args()...)
	} else if c.Tap != nil {
		args = append(args, c.Tap.args()...)
	}
	for i, v := range c.Volumes {
		args = append(args, v.args(i)...)
	}
	if c.GDBPort != 0 {
		args = append(args, "-S", "-gdb", "tcp:127.0.0.1:"+strconv.Itoa(c.GDBPort))
	}
	return append(args, c.Extra...)
}

// ParseMemory parses a memory size as accepted by --memory: a whole number
// of MiB, optionally followed by M or MiB, or of GiB followed by G or GiB
// (suffixes are case-insensitive; M and G are binary units, as in QEMU).
func ParseMemory(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], t[i:]
	var shift uint
	switch strings.ToLower(unit) {
	case "", "m", "mib":
	case "g", "gib":
		shift = 10
	default:
		return 0, fmt.Errorf("invalid memory size %q: want a number of MiB with an optional unit M, MiB, G or GiB (e.g. 128M, 2G)", s)
	}
	if num == "" {
		return 0, fmt.Errorf("invalid memory size %q: missing number (e.g. 128M, 2G)", s)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > MaxMemoryMiB>>shift {
		return 0, fmt.Errorf("invalid memory size %q: more than the maximum %s", s, FormatMemory(MaxMemoryMiB))
	}
	mib := n << shift
	if mib < MinMemoryMiB {
		return 0, fmt.Errorf("invalid memory size %q: less than the minimum %s", s, FormatMemory(MinMemoryMiB))
	}
	return mib, nil
}

// FormatMemory renders a size in MiB the way ParseMemory reads it.
func FormatMemory(mib uint64) string {
	if mib >= 1024 && mib%1024 == 0 {
		return strconv.FormatUint(mib/1024, 10) + "GiB"
	}
	return strconv.FormatUint(mib, 10) + "MiB"
}

// CommandLine renders argv for a POSIX shell, quoting only where needed, so
// --dry-run output can be pasted back into a terminal.
func CommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./,:=+@%", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cmdline is the kernel command line: the console marker's parameter
// (the kernel prints its marker only when asked, so that a plain boot's
// console is the application's alone; Run's filters need it), then
// Append.
func (c Config) cmdline() string {
	if c.Append == "" {
		return abi.MarkerParam
	}
	return abi.MarkerParam + " " + c.Append
}

//go:build linux && riscv64

// Command guestinit is /init of the nested-KVM rig's Linux (see package
// kvmrig): it loads kvm.ko, mounts what QEMU needs, runs the nested
// qemu-system-riscv64 -accel kvm with the argv the host put in the
// initramfs, and reports how it ended on the console in frames the host
// parses, then powers the machine off.
//
// Frames are "\n" + Tag + nonce + " " + kind, where the nonce comes from
// the kernel command line (rkvm_nonce=..., which Linux hands to init as
// an environment variable) so nothing the nested guest prints can forge
// one:
//
//	fail MESSAGE\n          the rig itself failed
//	stderr N\n + N bytes    the nested QEMU's stderr, at the end
//	exit N NS\n             the nested QEMU's exit status (128+sig if killed)
//	                        and how long it ran, in nanoseconds
//
// It is built for linux/riscv64 by the rig builder, from this file alone,
// so it imports only the standard library.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const (
	tag       = "rkvm-" // keep in sync with kvmrig.frameTag
	argvFile  = "/run/argv"
	module    = "/kvm.ko"
	errFile   = "/run/qemu.stderr"
	maxStderr = 64 << 10 // keep the frame bounded; the head says what went wrong
)

var nonce = os.Getenv("rkvm_nonce")

func frame(kind string) {
	os.Stdout.WriteString("\n" + tag + nonce + " " + kind)
}

func fail(format string, args ...any) {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	frame("fail " + msg + "\n")
	powerOff()
}

func powerOff() {
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	// Reboot only returns on error; init must not exit (the kernel panics).
	select {}
}

func main() {
	rawOutput()
	for _, m := range []struct{ src, dir, fstype string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"tmpfs", "/dev/shm", "tmpfs"},
	} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			fail("mkdir %s: %v", m.dir, err)
		}
		if err := syscall.Mount(m.src, m.dir, m.fstype, 0, ""); err != nil {
			fail("mount %s on %s: %v", m.fstype, m.dir, err)
		}
	}
	if err := loadModule(module); err != nil {
		fail("load %s: %v", module, err)
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		fail("kvm.ko is loaded but there is no /dev/kvm (does the CPU have the H extension?): %v", err)
	}
	raw, err := os.ReadFile(argvFile)
	if err != nil {
		fail("read %s: %v", argvFile, err)
	}
	argv := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	if len(argv) == 0 || argv[0] == "" {
		fail("%s is empty", argvFile)
	}
	errOut, err := os.Create(errFile)
	if err != nil {
		fail("create %s: %v", errFile, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// The console goes to QEMU as its stdout, so the guest's bytes reach
	// the host unchanged (rawOutput stopped \n becoming \r\n); stdin is
	// /dev/null, so QEMU leaves the terminal's modes alone.
	cmd.Stdout = os.Stdout
	cmd.Stderr = errOut
	cmd.Env = []string{"PATH=/usr/bin", "HOME=/"}
	start := time.Now()
	runErr := cmd.Run()
	ran := time.Since(start)
	errOut.Close()
	// QEMU may have left the console non-blocking, which would cut the
	// frames below short.
	syscall.SetNonblock(int(os.Stdout.Fd()), false)
	status := 0
	switch {
	case cmd.ProcessState == nil:
		fail("start %s: %v", argv[0], runErr)
	default:
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		} else {
			status = ws.ExitStatus()
		}
	}
	if b, err := os.ReadFile(errFile); err == nil && len(b) > 0 {
		if len(b) > maxStderr {
			b = b[:maxStderr]
		}
		frame(fmt.Sprintf("stderr %d\n", len(b)))
		os.Stdout.Write(b)
	}
	frame(fmt.Sprintf("exit %d %d\n", status, ran.Nanoseconds()))
	powerOff()
}

// rawOutput turns off output processing on the console, which would
// otherwise turn every \n of the nested guest into \r\n.
func rawOutput() {
	var t syscall.Termios
	fd := os.Stdout.Fd()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return // not a terminal: nothing to undo
	}
	t.Oflag &^= syscall.OPOST
	syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t)))
}

// loadModule loads an uncompressed kernel module with no parameters.
func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	empty := []byte{0}
	_, _, e := syscall.Syscall(syscall.SYS_FINIT_MODULE, f.Fd(), uintptr(unsafe.Pointer(&empty[0])), 0)
	if e != 0 && e != syscall.EEXIST {
		return e
	}
	return nil
}

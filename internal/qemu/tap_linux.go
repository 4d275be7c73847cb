package qemu

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// CheckTap opens tap interface name as QEMU will (/dev/net/tun,
// TUNSETIFF for a tap without packet information) and closes it again,
// so a tap that cannot be used is a clear error before QEMU starts.
// Root may open a name that does not exist yet: the kernel then makes
// a tap that lives as long as QEMU holds it.
func CheckTap(name string) error {
	if !ValidTapName(name) {
		return fmt.Errorf("tap %q: not an interface name (1-15 letters, digits, '-', '_', '.')", name)
	}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("tap %s: %w", name, err)
	}
	defer f.Close()
	const (
		iffTap   = 0x0002
		iffNoPI  = 0x1000
		tunSetIF = 0x400454ca // TUNSETIFF
	)
	var req struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = iffTap | iffNoPI
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), tunSetIF, uintptr(unsafe.Pointer(&req))); e != 0 {
		return fmt.Errorf("tap %s: cannot open it: %w (make it with `ip tuntap add dev %s mode tap user $USER` and `ip link set %s up`, or run as root)", name, e, name, name)
	}
	return nil
}

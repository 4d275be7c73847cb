//go:build linux

package hostfwd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseListenLine(t *testing.T) {
	const local = "0100007F:1F90"
	for _, c := range []struct {
		line, inode string
		ok          bool
	}{
		{"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0", "123456", true},
		{"   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 123457 1 0000000000000000 20 4 30 10 -1", "", false}, // established
		{"   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123458 1 0000000000000000 100 0 0 10 0", "", false},  // another address
		{"   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1", "", false},                                     // no inode
		{"  sl  local_address rem_address   st", "", false},
		{"", "", false},
	} {
		inode, ok := parseListenLine(c.line, local)
		if inode != c.inode || ok != c.ok {
			t.Errorf("parseListenLine(%q) = %q, %v; want %q, %v", c.line, inode, ok, c.inode, c.ok)
		}
	}
}

// TestWiden makes a listener with a backlog of 1, as QEMU's forward
// has, widens it through its own process's descriptor, and checks that 8
// connections then complete without any being accepted (with a backlog
// of 1 the kernel's queue holds 2, and the third connect's SYN is
// dropped and retried a second later, past the dial's timeout).
func TestWiden(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skip("no loopback:", err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	if err := Widen(os.Getpid(), port, 64); err != nil {
		// Only the pidfd calls may be refused by the host (a seccomp
		// profile, a kernel before 5.6); finding the socket must work.
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
			t.Skip("pidfd_getfd not permitted here:", err)
		}
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 500*time.Millisecond)
		if err != nil {
			t.Fatalf("connection %d after widening: %v", i, err)
		}
		defer c.Close()
	}
	if err := Widen(os.Getpid(), 0, 64); err == nil {
		t.Error("Widen accepted port 0")
	}
	if _, err := fdOfInode(os.Getpid(), "1"); err == nil {
		t.Error("fdOfInode found a socket inode this process does not hold")
	}
}

package boot

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi"
)

// liveVM is a kernel booting in QEMU whose console lines the test reads
// as they come.
type liveVM struct {
	cmd    *exec.Cmd
	lines  chan string // closed at end of output
	seen   []string
	stderr bytes.Buffer
}

// bootLive starts image name in QEMU with extra arguments; the VM is
// killed when the test ends.
func bootLive(t *testing.T, name string, timeout time.Duration, extra ...string) *liveVM {
	t.Helper()
	img, ok := images[name]
	if !ok {
		t.Fatalf("no kernel %q in kernels/", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	args := append([]string{"-M", "virt", "-m", "256M", "-nographic", "-bios", "default", "-kernel", img}, extra...)
	vm := &liveVM{lines: make(chan string, 256)}
	vm.cmd = exec.CommandContext(ctx, "qemu-system-riscv64", args...)
	vm.cmd.Stderr = &vm.stderr
	out, err := vm.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(vm.lines)
		sc := bufio.NewScanner(out)
		seen := false
		for sc.Scan() {
			text := strings.TrimRight(sc.Text(), "\r")
			if !seen {
				i := strings.Index(text, abi.ConsoleMarker)
				if i < 0 {
					continue
				}
				seen, text = true, text[i+len(abi.ConsoleMarker):]
			}
			vm.lines <- text
		}
		io.Copy(io.Discard, out)
	}()
	return vm
}

// waitFor reads lines until one starts with prefix; it fails the test
// at end of output or after d.
func (vm *liveVM) waitFor(t *testing.T, prefix string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-vm.lines:
			if !ok {
				t.Fatalf("output ended before %q:\n%s", prefix, strings.Join(vm.seen, "\n"))
			}
			vm.seen = append(vm.seen, l)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q in %v:\n%s", prefix, d, strings.Join(vm.seen, "\n"))
		}
	}
}

// wait reads the rest of the output and returns the exit status.
func (vm *liveVM) wait(t *testing.T) int {
	t.Helper()
	for l := range vm.lines {
		vm.seen = append(vm.seen, l)
	}
	err := vm.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	}
	t.Fatalf("qemu: %v\nstderr: %s\noutput:\n%s", err, vm.stderr.String(), strings.Join(vm.seen, "\n"))
	return -1
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The net kernel over QEMU's user networking: DHCP or a static address,
// a ping of the gateway, a connection out to a server on the host
// (10.0.2.2 is the host's loopback), and one in through a host forward.
// Both virtio-mmio interfaces: legacy (QEMU 7.2's default) and modern
// (VIRTIO_F_VERSION_1); the modern run also checks IPv6 (SLAAC, ping).
func TestNet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		global []string
		config string // runikraft.net=...; empty: the default, DHCP
		mode   string
	}{
		{"legacy-dhcp", nil, "", "dhcp"},
		{"modern-static", []string{"-global", "virtio-mmio.force-legacy=false"}, "runikraft.net=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3,host=box nettest.ipv6=1", "static"},
	} {
		t.Run(tc.name, func(t *testing.T) { testNet(t, tc.global, tc.config, tc.mode) })
	}
}

func testNet(t *testing.T, global []string, config, mode string) {
	// The host's server, which the guest reaches as 10.0.2.2.
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	said := make(chan string, 1)
	go func() {
		defer close(said)
		c, err := srv.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Minute))
		line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprintf(c, "hi guest, you said %s", line)
		// Then the guest's bulk transfer, byte i being i mod 251.
		buf := make([]byte, 64<<10)
		n, bad := 0, -1
		for n < 1<<21 {
			k, err := c.Read(buf)
			for i := range k {
				if bad < 0 && buf[i] != byte((n+i)%251) {
					bad = n + i
				}
			}
			n += k
			if err != nil {
				break
			}
		}
		// Closing tells the guest everything arrived.
		c.Close()
		said <- fmt.Sprintf("%s%d bytes, first bad %d", line, n, bad)
	}()
	// A UDP echo server, reached the same way.
	usrv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer usrv.Close()
	go func() {
		buf := make([]byte, 512)
		for range 10 {
			usrv.SetReadDeadline(time.Now().Add(3 * time.Minute))
			n, from, err := usrv.ReadFrom(buf)
			if err != nil {
				return
			}
			usrv.WriteTo(append([]byte("echo: "), buf[:n]...), from)
		}
	}()
	fwd := freePort(t)
	args := append(global,
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80", fwd),
		"-device", "virtio-net-device,netdev=n0",
		// The servers are on 127.0.0.1; the guest reaches them as 10.0.2.2.
		"-append", fmt.Sprintf("%s %s nettest.peer=10.0.2.2:%d nettest.udppeer=10.0.2.2:%d", abi.MarkerParam, config,
			srv.Addr().(*net.TCPAddr).Port, usrv.LocalAddr().(*net.UDPAddr).Port),
	)
	vm := bootLive(t, "net", 4*time.Minute, args...)

	vm.waitFor(t, "net: listening", 3*time.Minute)
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fwd), 30*time.Second)
	if err != nil {
		t.Fatalf("connect to the guest through the forward: %v", err)
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	bulk := bytes.Repeat([]byte("0123456789"), 20000)
	if _, err := c.Write(append([]byte(fmt.Sprintf("runikraft %d\n", len(bulk))), bulk...)); err != nil {
		t.Fatalf("write to the guest: %v", err)
	}
	reply, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
	c.Close()
	if want := fmt.Sprintf("tfarkinur %d\n", len(bulk)); string(reply) != want || err != nil {
		t.Errorf("guest answered %q (%v), want %q", reply, err, want)
	}
	code := vm.wait(t)
	out := strings.Join(vm.seen, "\n")
	wants := []string{"ok loopback tcp4", "ok loopback tcp6", "ok loopback udp4", "ok loopback udp6",
		"ok address", "ok ping gateway", "ok outbound", "ok outbound udp", "ok inbound", "net: all passed",
		"net: " + mode + " address 10.0.2.15/24 gateway 10.0.2.2 dns [10.0.2.3]",
		`net: resolv.conf "# Generated by the Runikraft kernel from its network configuration (` + mode + `).\nnameserver 10.0.2.3\n"`,
	}
	if strings.Contains(config, "nettest.ipv6=1") {
		// SLAAC from QEMU's router advertisement, and a ping of the router.
		wants = append(wants, "ok ipv6 slaac", "net: ipv6 address fec0::", "net: echo reply from fec0::2")
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if heard, ok := <-said; !ok || !strings.HasPrefix(heard, "hello from 10.0.2.15:") || !strings.HasSuffix(heard, "\n1048576 bytes, first bad -1") {
		t.Errorf("host server heard %q, want a hello from 10.0.2.15 and 1048576 good bytes", heard)
	}
	if code != 0 || t.Failed() {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	t.Logf("output:\n%s", out)
}

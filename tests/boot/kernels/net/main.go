//go:build riscv64

// Command net is a kernel image that checks the network stack
// (kernel/net) and the virtio-net driver. It prints "ok NAME" per check
// and exits 0 only if all passed; tests/boot/net_test.go drives it.
//
// Always: TCP and UDP over loopback, IPv4 and IPv6. With a virtio-net
// device: it waits for its address (runikraft.net on the command line,
// DHCP by default), pings the gateway, connects to nettest.peer=ADDR:PORT
// (a server the host test runs; 10.0.2.2 is the host under QEMU's user
// networking) and, with nettest.udppeer=ADDR:PORT, sends a datagram to
// a UDP echo server there, then serves one TCP exchange on port 80 (reached through
// a host forward) after printing "net: listening". With nettest.idle=N
// it then waits N seconds doing nothing, so that a benchmark can
// measure an idle kernel's CPU use.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/waiter"

	_ "github.com/runikraft/runikraft/kernel"
	vnet "github.com/runikraft/runikraft/kernel/drivers/virtio/net"
	"github.com/runikraft/runikraft/kernel/hart"
	knet "github.com/runikraft/runikraft/kernel/net"
)

var failed bool

func check(name string, err error) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", name, err)
		failed = true
		return
	}
	fmt.Printf("ok %s\n", name)
}

func main() {
	st, err := knet.Start()
	if err != nil {
		fmt.Println("FAIL start:", err)
		os.Exit(1)
	}
	check("loopback tcp4", loopTCP(st, netip.MustParseAddr("127.0.0.1"), ipv4.ProtocolNumber))
	check("loopback tcp6", loopTCP(st, netip.MustParseAddr("::1"), ipv6.ProtocolNumber))
	check("loopback udp4", loopUDP(st, netip.MustParseAddr("127.0.0.1"), ipv4.ProtocolNumber))
	check("loopback udp6", loopUDP(st, netip.MustParseAddr("::1"), ipv6.ProtocolNumber))

	dev, err := vnet.Open()
	if errors.Is(err, vnet.ErrNoDevice) {
		fmt.Println("net: no virtio-net device")
		finish()
	}
	if err != nil {
		check("device", err)
		finish()
	}
	m := dev.MAC()
	fmt.Printf("net: %v mac %02x:%02x:%02x:%02x:%02x:%02x features %#x\n", dev, m[0], m[1], m[2], m[3], m[4], m[5], dev.Features())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cfg, err := st.Ready(ctx)
	cancel()
	check("address", err)
	if err != nil {
		finish()
	}
	fmt.Printf("net: %s address %v gateway %v dns %v\n", cfg.Mode, cfg.Addr, cfg.Gateway, cfg.DNS)
	fmt.Printf("net: resolv.conf %q\n", st.ResolvConf())
	fmt.Printf("net: hosts %q\n", st.Hosts())
	for _, i := range st.Interfaces() {
		fmt.Printf("net: interface %d %s mtu %d up %v addrs %v\n", i.Index, i.Name, i.MTU, i.Up, i.Addrs)
	}
	if cfg.Gateway.IsValid() {
		check("ping gateway", ping(st, cfg.Gateway, echo4))
	}
	if param("nettest.ipv6") == "1" {
		check("ipv6 slaac", slaac(st))
	}
	if peer := param("nettest.peer"); peer != "" {
		check("outbound", outbound(st, peer))
	}
	if peer := param("nettest.udppeer"); peer != "" {
		check("outbound udp", outboundUDP(st, peer))
	}
	check("inbound", inbound(st))
	s := dev.Stats()
	fmt.Printf("net: device rx %d frames %d bytes %d errors %d dropped, tx %d frames %d bytes %d errors\n",
		s.RxFrames, s.RxBytes, s.RxErrors, s.RxDropped, s.TxFrames, s.TxBytes, s.TxErrors)
	if n, err := strconv.Atoi(param("nettest.idle")); err == nil && n > 0 && n <= 60 {
		fmt.Println("net: idle")
		time.Sleep(time.Duration(n) * time.Second)
	}
	finish()
}

func finish() {
	if failed {
		os.Exit(1)
	}
	fmt.Println("net: all passed")
	os.Exit(0)
}

// param returns key=VALUE from the kernel command line.
func param(key string) string {
	for _, tok := range strings.Fields(hart.Bootargs()) {
		if v, ok := strings.CutPrefix(tok, key+"="); ok {
			return v
		}
	}
	return ""
}

func full(a netip.Addr, port uint16) tcpip.FullAddress {
	if a.Is4() {
		return tcpip.FullAddress{Addr: tcpip.AddrFrom4(a.As4()), Port: port}
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFrom16(a.As16()), Port: port}
}

// loopTCP sends 256 KiB through a loopback connection and back.
func loopTCP(st *knet.Stack, a netip.Addr, proto tcpip.NetworkProtocolNumber) error {
	l, err := gonet.ListenTCP(st.Gvisor(), full(a, 7), proto)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.Copy(c, c) // echo until the client closes its side
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, st.Gvisor(), full(a, 7), proto)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		c.CloseWrite()
		errc <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echoed %d bytes, not the %d sent", len(got), len(data))
	}
	return nil
}

// loopUDP sends datagrams between two loopback sockets.
func loopUDP(st *knet.Stack, a netip.Addr, proto tcpip.NetworkProtocolNumber) error {
	la, lb := full(a, 9001), full(a, 9002)
	x, err := gonet.DialUDP(st.Gvisor(), &la, nil, proto)
	if err != nil {
		return err
	}
	defer x.Close()
	y, err := gonet.DialUDP(st.Gvisor(), &lb, nil, proto)
	if err != nil {
		return err
	}
	defer y.Close()
	y.SetDeadline(time.Now().Add(10 * time.Second))
	x.SetDeadline(time.Now().Add(10 * time.Second))
	for i := range 10 {
		msg := fmt.Sprintf("datagram %d", i)
		if _, err := x.WriteTo([]byte(msg), y.LocalAddr()); err != nil {
			return err
		}
		buf := make([]byte, 100)
		n, from, err := y.ReadFrom(buf)
		if err != nil {
			return err
		}
		if string(buf[:n]) != msg || from.String() != x.LocalAddr().String() {
			return fmt.Errorf("got %q from %v, want %q from %v", buf[:n], from, msg, x.LocalAddr())
		}
	}
	return nil
}

// echoKind is what differs between ICMPv4 and ICMPv6 echo: the socket's
// family and protocol and the message types. Both headers put the type in
// byte 0 and the sequence number in bytes 6-7.
type echoKind struct {
	family, proto  int
	request, reply byte
}

var (
	echo4 = echoKind{2 /* AF_INET */, 1 /* IPPROTO_ICMP */, byte(header.ICMPv4Echo), byte(header.ICMPv4EchoReply)}
	echo6 = echoKind{10 /* AF_INET6 */, 58 /* IPPROTO_ICMPV6 */, byte(header.ICMPv6EchoRequest), byte(header.ICMPv6EchoReply)}
)

// ping sends up to three echo requests to a and waits for a reply, through
// the socket API the posix layer uses.
func ping(st *knet.Stack, a netip.Addr, k echoKind) error {
	ep, errno := st.Socket(k.family, 2 /* SOCK_DGRAM */, k.proto)
	if errno != 0 {
		return fmt.Errorf("socket: %v", errno)
	}
	defer ep.Close()
	if err := ep.Connect(full(a, 0)); err != nil {
		return fmt.Errorf("connect: %v", knet.Errno(err))
	}
	we, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
	ep.Queue.EventRegister(&we)
	defer ep.Queue.EventUnregister(&we)
	const hdr = 8 // type, code, checksum, identifier, sequence
	for seq := range 3 {
		req := make([]byte, hdr+8)
		req[0] = k.request
		binary.BigEndian.PutUint16(req[6:], uint16(seq))
		copy(req[hdr:], "runikraf")
		var r bytes.Reader
		r.Reset(req)
		start := time.Now()
		if _, err := ep.Write(&r, tcpip.WriteOptions{}); err != nil {
			return fmt.Errorf("write: %v", knet.Errno(err))
		}
		deadline := time.After(2 * time.Second)
	wait:
		for range 10 {
			var buf bytes.Buffer
			_, err := ep.Read(&buf, tcpip.ReadOptions{})
			if _, ok := err.(*tcpip.ErrWouldBlock); ok {
				select {
				case <-ch:
					continue
				case <-deadline:
					break wait
				}
			}
			if err != nil {
				return fmt.Errorf("read: %v", knet.Errno(err))
			}
			rep := buf.Bytes()
			if len(rep) >= hdr && rep[0] == k.reply && binary.BigEndian.Uint16(rep[6:]) == uint16(seq) {
				fmt.Printf("net: echo reply from %v seq %d in %v\n", a, seq, time.Since(start).Round(time.Microsecond))
				return nil
			}
		}
	}
	return fmt.Errorf("no echo reply from %v", a)
}

// slaac waits for a global IPv6 address from the router's
// advertisement (QEMU's user network: fec0::/64), then pings the router.
func slaac(st *knet.Stack) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, i := range st.Interfaces() {
			for _, a := range i.Addrs {
				ip, _ := netip.AddrFromSlice(a.Address.AsSlice())
				if i.Name == knet.DeviceName && ip.Is6() && !ip.IsLinkLocalUnicast() {
					fmt.Printf("net: ipv6 address %v\n", a)
					return ping(st, netip.MustParseAddr("fec0::2"), echo6)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no global IPv6 address in 10 s")
}

// outbound connects to the host's server and exchanges a line.
func outbound(st *knet.Stack, peer string) error {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, st.Gvisor(), full(ap.Addr(), ap.Port()), ipv4.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("dial %v: %w", ap, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(c, "hello from %v\n", c.LocalAddr()); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	fmt.Printf("net: host said %q\n", line)
	// Then a bulk transfer to the host, which counts it: more frames
	// than the driver has transmit slots.
	data := make([]byte, outboundBulk)
	for i := range data {
		data[i] = byte(i % 251)
	}
	start := time.Now()
	if _, err := c.Write(data); err != nil {
		return fmt.Errorf("bulk write: %w", err)
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	// The host closes once it has counted everything: wait for that, so
	// that all of it has arrived before the kernel powers off.
	if extra, err := io.Copy(io.Discard, c); err != nil || extra != 0 {
		return fmt.Errorf("after the bulk: %d more bytes, %v", extra, err)
	}
	fmt.Printf("net: sent %d bytes to the host in %v\n", len(data), time.Since(start).Round(time.Millisecond))
	return nil
}

// outboundBulk is what outbound sends after the hello line; the host
// test checks the count and the pattern (byte i is i mod 251).
const outboundBulk = 1 << 20

// outboundUDP sends datagrams to the host's UDP echo server until one
// comes back (the network may drop a datagram; three tries).
func outboundUDP(st *knet.Stack, peer string) error {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return err
	}
	remote := full(ap.Addr(), ap.Port())
	c, err := gonet.DialUDP(st.Gvisor(), nil, &remote, ipv4.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("dial %v: %w", ap, err)
	}
	defer c.Close()
	for try := range 3 {
		msg := fmt.Sprintf("datagram %d from the guest", try)
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			continue
		}
		if want := "echo: " + msg; string(buf[:n]) != want {
			return fmt.Errorf("got %q, want %q", buf[:n], want)
		}
		fmt.Printf("net: host echoed %q\n", buf[:n])
		return nil
	}
	return errors.New("no echo in three tries")
}

// inbound serves one connection on port 80. The host sends a line
// "WORD N" and N more bytes (N up to 1 MiB); the server answers with WORD
// reversed and the count it read, then waits for the host to close, so
// that the answer has reached the host before the kernel powers off.
func inbound(st *knet.Stack) error {
	l, err := gonet.ListenTCP(st.Gvisor(), tcpip.FullAddress{Port: 80}, ipv4.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer l.Close()
	fmt.Println("net: listening")
	res := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			res <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil || len(line) > 100 {
			res <- fmt.Errorf("read line %q: %v", line, err)
			return
		}
		var word string
		var want int64
		if _, err := fmt.Sscanf(line, "%s %d", &word, &want); err != nil || want < 0 || want > 1<<20 {
			res <- fmt.Errorf("line %q: want WORD N with N up to 1 MiB", line)
			return
		}
		n, err := io.CopyN(io.Discard, r, want)
		if err != nil {
			res <- fmt.Errorf("read bulk: %d of %d bytes: %w", n, want, err)
			return
		}
		rev := []rune(word)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if _, err := fmt.Fprintf(c, "%s %d\n", string(rev), n); err != nil {
			res <- err
			return
		}
		// The host closes once it has the answer.
		if extra, err := io.Copy(io.Discard, r); err != nil || extra != 0 {
			res <- fmt.Errorf("after the answer: %d more bytes, %v", extra, err)
			return
		}
		res <- nil
	}()
	select {
	case err := <-res:
		return err
	case <-time.After(60 * time.Second):
		return errors.New("no connection in 60 s")
	}
}

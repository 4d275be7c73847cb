package net

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/runikraft/runikraft/kernel/net/nettest"
)

func static(addr string) Config {
	return Config{Mode: ModeStatic, Addr: netip.MustParsePrefix(addr), Hostname: DefaultHostname}
}

func full4(s string, port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{Addr: tcpip.AddrFrom4(netip.MustParseAddr(s).As4()), Port: port}
}

// twoStacks joins stacks 10.1.0.1 and 10.1.0.2 by a wire of depth frames
// and listens on 10.1.0.2:80; it returns both stacks, the first one's
// end of the wire and the listener, all closed when the test ends.
func twoStacks(t *testing.T, depth int) (a, b *Stack, da *nettest.Dev, l net.Listener) {
	t.Helper()
	da, db := nettest.NewWire(depth, false)
	var err error
	if a, err = New(static("10.1.0.1/24"), da); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if b, err = New(static("10.1.0.2/24"), db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if l, err = gonet.ListenTCP(b.Gvisor(), full4("10.1.0.2", 80), ipv4.ProtocolNumber); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return a, b, da, l
}

// Two stacks over a wire that is often full: 1 MiB each way arrives
// intact, so frames held while the device is busy go out, in order.
func TestTwoStacks(t *testing.T) {
	a, b, da, l := twoStacks(t, 4)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		io.Copy(c, c)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, a.Gvisor(), full4("10.1.0.2", 80), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i ^ i>>8)
	}
	go func() {
		c.Write(data)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echoed %d bytes (%v), want %d intact", len(got), err, len(data))
	}
	t.Logf("device busy %d times; %d frames dropped; received ACKs coalesced %d and %d",
		da.Busy(), a.link.dropped.Load(), a.link.rxCoalesced.Load(), b.link.rxCoalesced.Load())
}

// Without a device the stack has loopback only and is ready at once.
func TestLoopbackOnly(t *testing.T) {
	st, err := New(Config{Mode: ModeDHCP}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := st.Ready(context.Background())
	if err != nil || cfg.Addr.IsValid() {
		t.Fatalf("config %+v err %v", cfg, err)
	}
	ifs := st.Interfaces()
	if len(ifs) != 1 || ifs[0].Name != "lo" || !ifs[0].Loopback || len(ifs[0].Addrs) != 2 {
		t.Fatalf("interfaces %+v", ifs)
	}
	ep, errno := st.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer ep.Close()
	if err := ep.Bind(full4("127.0.0.1", 5555)); err != nil {
		t.Fatal(err)
	}
	if err := ep.Listen(1); err != nil {
		t.Fatal(err)
	}
	if _, _, e := ep.Accept(); e != syscall.EAGAIN {
		t.Errorf("accept with nothing pending: %v, want EAGAIN", e)
	}
	ep2, _ := st.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	defer ep2.Close()
	if e := Errno(ep2.Bind(full4("127.0.0.1", 5555))); e != syscall.EADDRINUSE {
		t.Errorf("second bind: %v, want EADDRINUSE", e)
	}
	if e := Errno(ep2.Connect(full4("127.0.0.1", 5556))); e != syscall.EINPROGRESS && e != syscall.ECONNREFUSED {
		t.Errorf("connect to a closed port: %v", e)
	}
	// A connection to the listener: non-blocking connect, then accept
	// once the listener says it is readable.
	ep3, _ := st.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	defer ep3.Close()
	we, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
	ep.Queue.EventRegister(&we)
	defer ep.Queue.EventUnregister(&we)
	if e := Errno(ep3.Connect(full4("127.0.0.1", 5555))); e != syscall.EINPROGRESS && e != 0 {
		t.Fatalf("connect: %v", e)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("listener not readable 10 s after a connect")
	}
	c, peer, e := ep.Accept()
	if e != 0 {
		t.Fatalf("accept: %v", e)
	}
	defer c.Close()
	local, _ := ep3.GetLocalAddress()
	if peer != AddrPort(local) || c.Family != syscall.AF_INET || c.Queue == nil {
		t.Errorf("accepted %+v from %v, connector is %v", c, peer, AddrPort(local))
	}
	for _, tc := range []struct {
		family, typ, proto int
		want               syscall.Errno
	}{
		{syscall.AF_UNIX, syscall.SOCK_STREAM, 0, syscall.EAFNOSUPPORT},
		{syscall.AF_INET, syscall.SOCK_STREAM, 17, syscall.EPROTONOSUPPORT},
		{syscall.AF_INET, syscall.SOCK_RAW, 1, 0},                        // raw ICMP: the application is root
		{syscall.AF_INET6, syscall.SOCK_RAW, 6, 0},                       // raw TCP
		{syscall.AF_INET, syscall.SOCK_RAW, 0, syscall.EPROTONOSUPPORT},  // as Linux
		{syscall.AF_INET, syscall.SOCK_RAW, 47, syscall.EPROTONOSUPPORT}, // GRE: the stack has no such protocol
		{syscall.AF_INET, syscall.SOCK_RAW, 255, 0},                      // IPPROTO_RAW: send only
		{syscall.AF_INET, syscall.SOCK_SEQPACKET, 0, syscall.ESOCKTNOSUPPORT},
		{syscall.AF_INET6, syscall.SOCK_DGRAM, 0, 0},
		{syscall.AF_INET, syscall.SOCK_DGRAM, 1, 0},
	} {
		ep, e := st.Socket(tc.family, tc.typ, tc.proto)
		if e != tc.want {
			t.Errorf("socket(%d, %d, %d): %v, want %v", tc.family, tc.typ, tc.proto, e, tc.want)
		}
		if ep != nil {
			ep.Close()
		}
	}
}

// DHCP through the link endpoint: the client's frames reach the wire,
// the server's replies are diverted to it and the stack gets the lease;
// a 2-second lease is renewed at T1 (1 s) and the address stays.
func TestDHCPOverLink(t *testing.T) {
	da, db := nettest.NewWire(8, false)
	srv := &fakeServer{replies: make(chan []byte, 4), opts: []byte{
		optSubnetMask, 4, 255, 255, 255, 0,
		optRouter, 4, 10, 0, 2, 2,
		optDNS, 4, 10, 0, 2, 3,
		optServerID, 4, 10, 0, 2, 2,
		optLeaseTime, 4, 0, 0, 0, 2,
		optRenewalTime, 4, 0, 0, 0, 1,
	}}
	db.Attach(func(f []byte, _ bool) {
		if !isDHCPReply(f) && len(f) > ethHeaderLen+ipv4HdrLen+udpHdrLen+bootpLen+6 && f[ethHeaderLen+ipv4HdrLen+3] == serverPort {
			srv.send(f)
			select {
			case r := <-srv.replies:
				go db.Transmit(r)
			default:
			}
		}
	}, nil)
	st, err := New(Config{Mode: ModeDHCP, Hostname: "box"}, da)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg, err := st.Ready(ctx)
	if err != nil || cfg.Addr != netip.MustParsePrefix("10.0.2.15/24") || cfg.Gateway != netip.MustParseAddr("10.0.2.2") || len(cfg.DNS) != 1 {
		t.Fatalf("config %+v err %v", cfg, err)
	}
	time.Sleep(3500 * time.Millisecond)
	srv.mu.Lock()
	renews := srv.renews
	srv.mu.Unlock()
	if renews < 2 {
		t.Errorf("%d renewals in 3.5 s of a 2 s lease with T1 1 s, want at least 2", renews)
	}
	if c := st.Config(); c.Addr != cfg.Addr {
		t.Errorf("address after renewals %v, want %v", c.Addr, cfg.Addr)
	}
}

func TestAddressConversion(t *testing.T) {
	for _, s := range []string{"10.0.2.15:80", "[::1]:443", "[::ffff:10.0.0.1]:8", "0.0.0.0:0"} {
		ap := netip.MustParseAddrPort(s)
		if back := AddrPort(FullAddress(ap)); back != ap {
			t.Errorf("%v came back as %v", ap, back)
		}
	}
	if f := FullAddress(netip.AddrPortFrom(netip.Addr{}, 80)); f.Addr.BitLen() != 0 || f.Port != 80 {
		t.Errorf("no address: %+v", f)
	}
}

// A request-response exchange: the server's answers carry the ACKs of
// the requests, so the link holds the empty ACKs back and drops them
// (coalesced), and every answer still arrives, as does an ACK for data
// nothing answers (sent when the hold ends).
func TestAckCoalescing(t *testing.T) {
	a, b, _, l := twoStacks(t, 64)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if string(buf[:n]) == "quiet" {
				continue // no answer: the ACK goes out alone
			}
			if _, err := c.Write(append([]byte("re:"), buf[:n]...)); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, a.Gvisor(), full4("10.1.0.2", 80), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 64)
	for i := 0; i < 50; i++ {
		req := []byte{'q', byte('0' + i%10)}
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		n, err := io.ReadFull(c, buf[:5])
		if err != nil || string(buf[:n]) != "re:"+string(req) {
			t.Fatalf("answer %d: %q, %v", i, buf[:n], err)
		}
	}
	if n := b.link.coalesced.Load(); n == 0 {
		t.Error("no ACK was coalesced into an answer")
	}
	// Data nothing answers is still acknowledged: the sender's
	// unacknowledged count drops to zero within the hold (and well
	// before a retransmission).
	if _, err := c.Write([]byte("quiet")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	b.link.mu.Lock()
	held := len(b.link.held)
	b.link.mu.Unlock()
	if held != 0 {
		t.Error("an ACK is still held 50 ms later")
	}
	t.Logf("%d ACKs coalesced", b.link.coalesced.Load())
}

package net

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var testMAC = [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}

// reply turns a client's frame into a server's reply of type typ, as
// QEMU's user network answers: broadcast, from 10.0.2.2, yiaddr
// 10.0.2.15, with the given options after the message type.
func reply(req []byte, typ byte, opts ...byte) []byte {
	hdrs := ethHeaderLen + ipv4HdrLen + udpHdrLen
	f := append([]byte(nil), req[:hdrs+bootpLen+4]...)
	f = append(f, optMsgType, 1, typ)
	f = append(f, opts...)
	f = append(f, optEnd)
	ip := f[ethHeaderLen:]
	copy(ip[12:16], []byte{10, 0, 2, 2})
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	u := ip[ipv4HdrLen:]
	binary.BigEndian.PutUint16(u[0:], serverPort)
	binary.BigEndian.PutUint16(u[2:], clientPort)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	m := u[udpHdrLen:]
	m[0] = 2
	copy(m[16:20], []byte{10, 0, 2, 15})
	return f
}

var slirpOpts = []byte{
	optSubnetMask, 4, 255, 255, 255, 0,
	optRouter, 4, 10, 0, 2, 2,
	optDNS, 4, 10, 0, 2, 3,
	optServerID, 4, 10, 0, 2, 2,
	optLeaseTime, 4, 0, 1, 0x51, 0x80, // 86400 s
}

func TestDHCPRoundTrip(t *testing.T) {
	req := buildDHCP(testMAC, dhcpDiscover, 0x1234, 0, netip.Addr{}, netip.Addr{}, netip.Addr{}, "box")
	if isDHCPReply(req) {
		t.Fatal("a request is taken for a reply")
	}
	if s := onesSum(req[ethHeaderLen:ethHeaderLen+ipv4HdrLen], 0); s != 0xffff {
		t.Fatalf("IPv4 header checksum does not verify: %#x", s)
	}
	rep := reply(req, dhcpOffer, slirpOpts...)
	if !isDHCPReply(rep) {
		t.Fatal("reply not recognised")
	}
	l, err := parseDHCP(rep, testMAC)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
	if l.msgType != dhcpOffer || l.xid != 0x1234 || l.yiaddr != netip.MustParseAddr("10.0.2.15") || l.mask != 24 ||
		l.router != netip.MustParseAddr("10.0.2.2") || len(l.dns) != 1 || l.server != netip.MustParseAddr("10.0.2.2") || l.duration != 24*time.Hour {
		t.Fatalf("lease %+v", l)
	}
	if _, err := parseDHCP(rep, [6]byte{1}); err == nil {
		t.Error("reply for another MAC accepted")
	}
}

// fakeServer answers a client's frames like QEMU's user network.
type fakeServer struct {
	replies chan []byte
	nak     bool
	opts    []byte // options of offers and acks; nil: slirpOpts
	mu      sync.Mutex
	sent    []byte // message types seen
	renews  int    // requests from a client that has an address
}

func (s *fakeServer) mac() [6]byte { return testMAC }
func (s *fakeServer) send(f []byte) error {
	m := f[ethHeaderLen+ipv4HdrLen+udpHdrLen:]
	typ := m[bootpLen+4+2]
	opts := s.opts
	if opts == nil {
		opts = slirpOpts
	}
	s.mu.Lock()
	s.sent = append(s.sent, typ)
	if typ == dhcpRequest && [4]byte(m[12:16]) != [4]byte{} {
		s.renews++
	}
	s.mu.Unlock()
	switch {
	case typ == dhcpDiscover:
		s.replies <- reply(f, dhcpOffer, opts...)
	case typ == dhcpRequest && s.nak:
		s.replies <- reply(f, dhcpNak)
	case typ == dhcpRequest:
		s.replies <- reply(f, dhcpAck, opts...)
	}
	return nil
}

func TestAcquire(t *testing.T) {
	s := &fakeServer{replies: make(chan []byte, 4)}
	n := uint32(0)
	l, err := acquire(s, s.replies, func() uint32 { n++; return n }, "box")
	if err != nil || l.yiaddr != netip.MustParseAddr("10.0.2.15") || string(s.sent) != string([]byte{dhcpDiscover, dhcpRequest}) {
		t.Fatalf("lease %+v err %v sent %v", l, err, s.sent)
	}
}

func FuzzParseDHCP(f *testing.F) {
	req := buildDHCP(testMAC, dhcpDiscover, 7, 0, netip.Addr{}, netip.Addr{}, netip.Addr{}, "")
	f.Add(reply(req, dhcpOffer, slirpOpts...))
	f.Add(reply(req, dhcpAck, optDNS, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, optDomain, 3, 'a', '.', 'b'))
	f.Add(reply(req, dhcpNak, optSubnetMask, 4, 255, 0, 255, 0))
	f.Fuzz(func(t *testing.T, frame []byte) {
		l, err := parseDHCP(frame, testMAC)
		if err != nil {
			return
		}
		if len(l.dns) > maxDNS {
			t.Fatalf("%d name servers", len(l.dns))
		}
		if l.domain != "" && !validName(l.domain, 253) {
			t.Fatalf("domain %q", l.domain)
		}
		if l.check() == nil && (l.mask < 1 || l.mask > 32 || !l.yiaddr.Is4()) {
			t.Fatalf("checked lease %+v", l)
		}
	})
}

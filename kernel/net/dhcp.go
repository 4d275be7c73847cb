package net

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// A minimal DHCPv4 client (RFC 2131) that speaks raw Ethernet frames on
// the device, below the stack: before it has an address the stack can
// neither send from 0.0.0.0 nor take a datagram for an address it does
// not have. The frames are built and checked here, and the link endpoint
// hands the client the UDP datagrams for port 68 while it runs.

// DHCP message types (option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6
)

// DHCP options the client reads or writes.
const (
	optPad         = 0
	optSubnetMask  = 1
	optRouter      = 3
	optDNS         = 6
	optHostname    = 12
	optDomain      = 15
	optRequestedIP = 50
	optLeaseTime   = 51
	optMsgType     = 53
	optServerID    = 54
	optParamList   = 55
	optRenewalTime = 58
	optEnd         = 255
)

const (
	bootpLen    = 236 // fixed part of a BOOTP/DHCP message
	magicCookie = 0x63825363
	clientPort  = 68
	serverPort  = 67
	ipv4HdrLen  = 20
	udpHdrLen   = 8
	ethTypeIPv4 = 0x0800
	protoUDP    = 17
	// A reply is at most a full Ethernet frame here.
	maxDHCPFrame = 1514
)

// lease is what a server offered or acknowledged.
type lease struct {
	msgType  byte
	xid      uint32
	yiaddr   netip.Addr
	server   netip.Addr // option 54
	mask     int        // prefix length; -1 if the server gave no mask
	router   netip.Addr
	dns      []netip.Addr
	domain   string
	duration time.Duration // 0: infinite or not given
	renew    time.Duration // T1; 0: not given
}

// buildDHCP builds a whole broadcast frame carrying a DHCP message of
// type typ from mac with transaction xid. For a REQUEST, want and server
// are the offered address and the server's identifier (SELECTING), or
// ciaddr is the address held (renewing, with want and server invalid).
func buildDHCP(mac [6]byte, typ byte, xid uint32, secs uint16, want, server, ciaddr netip.Addr, hostname string) []byte {
	var opts []byte
	opts = append(opts, optMsgType, 1, typ)
	if want.IsValid() {
		a := want.As4()
		opts = append(opts, optRequestedIP, 4, a[0], a[1], a[2], a[3])
	}
	if server.IsValid() {
		a := server.As4()
		opts = append(opts, optServerID, 4, a[0], a[1], a[2], a[3])
	}
	if hostname != "" && len(hostname) <= 63 {
		opts = append(opts, optHostname, byte(len(hostname)))
		opts = append(opts, hostname...)
	}
	opts = append(opts, optParamList, 6, optSubnetMask, optRouter, optDNS, optDomain, optLeaseTime, optRenewalTime)
	opts = append(opts, optEnd)

	msgLen := bootpLen + 4 + len(opts)
	udpLen := udpHdrLen + msgLen
	f := make([]byte, ethHeaderLen+ipv4HdrLen+udpLen)
	// Ethernet: to everyone, from us.
	for i := range 6 {
		f[i] = 0xff
	}
	copy(f[6:12], mac[:])
	binary.BigEndian.PutUint16(f[12:], ethTypeIPv4)
	// IPv4: 0.0.0.0 (or ciaddr) to 255.255.255.255.
	ip := f[ethHeaderLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HdrLen+udpLen))
	ip[8] = 64 // TTL
	ip[9] = protoUDP
	if ciaddr.IsValid() {
		a := ciaddr.As4()
		copy(ip[12:16], a[:])
	}
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip[:ipv4HdrLen], 0))
	// UDP, checksum 0 (none: allowed over IPv4).
	u := ip[ipv4HdrLen:]
	binary.BigEndian.PutUint16(u[0:], clientPort)
	binary.BigEndian.PutUint16(u[2:], serverPort)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen))
	// BOOTP.
	m := u[udpHdrLen:]
	m[0], m[1], m[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte address
	binary.BigEndian.PutUint32(m[4:], xid)
	binary.BigEndian.PutUint16(m[8:], secs)
	if !ciaddr.IsValid() {
		// Replies must be broadcast: we cannot take unicast yet.
		binary.BigEndian.PutUint16(m[10:], 0x8000)
	} else {
		a := ciaddr.As4()
		copy(m[12:16], a[:])
	}
	copy(m[28:34], mac[:])
	binary.BigEndian.PutUint32(m[bootpLen:], magicCookie)
	copy(m[bootpLen+4:], opts)
	return f
}

// onesSum is the Internet checksum's one's complement sum of b.
func onesSum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// isDHCPReply says whether frame is an IPv4 UDP datagram to the client
// port: what the link endpoint diverts to the client while it runs.
func isDHCPReply(frame []byte) bool {
	if len(frame) < ethHeaderLen+ipv4HdrLen+udpHdrLen || binary.BigEndian.Uint16(frame[12:]) != ethTypeIPv4 {
		return false
	}
	ip := frame[ethHeaderLen:]
	ihl := int(ip[0]&0xf) * 4
	if ip[0]>>4 != 4 || ihl < ipv4HdrLen || len(ip) < ihl+udpHdrLen || ip[9] != protoUDP {
		return false
	}
	// Fragments are not DHCP replies we can read.
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return false
	}
	return binary.BigEndian.Uint16(ip[ihl+2:]) == clientPort
}

const ethHeaderLen = 14

// parseDHCP reads a server's reply from a whole Ethernet frame, checking
// every length against the frame. It returns an error for anything that
// is not a well-formed DHCP reply to mac.
func parseDHCP(frame []byte, mac [6]byte) (lease, error) {
	if !isDHCPReply(frame) {
		return lease{}, errors.New("not a UDP datagram to port 68")
	}
	ip := frame[ethHeaderLen:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total < ihl+udpHdrLen || total > len(ip) {
		return lease{}, fmt.Errorf("IPv4 total length %d, frame has %d", total, len(ip))
	}
	u := ip[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < udpHdrLen || ulen > len(u) {
		return lease{}, fmt.Errorf("UDP length %d, datagram has %d", ulen, len(u))
	}
	m := u[udpHdrLen:ulen]
	if len(m) < bootpLen+4 {
		return lease{}, fmt.Errorf("%d-byte DHCP message", len(m))
	}
	if m[0] != 2 || m[1] != 1 || m[2] != 6 {
		return lease{}, errors.New("not a BOOTREPLY for Ethernet")
	}
	if [6]byte(m[28:34]) != mac {
		return lease{}, errors.New("reply for another client")
	}
	if binary.BigEndian.Uint32(m[bootpLen:]) != magicCookie {
		return lease{}, errors.New("no DHCP magic cookie")
	}
	l := lease{
		xid:    binary.BigEndian.Uint32(m[4:]),
		yiaddr: netip.AddrFrom4([4]byte(m[16:20])),
		mask:   -1,
	}
	opts := m[bootpLen+4:]
	for i := 0; i < len(opts); {
		code := opts[i]
		if code == optEnd {
			break
		}
		if code == optPad {
			i++
			continue
		}
		if i+1 >= len(opts) || i+2+int(opts[i+1]) > len(opts) {
			return lease{}, fmt.Errorf("option %d runs past the message", code)
		}
		v := opts[i+2 : i+2+int(opts[i+1])]
		i += 2 + len(v)
		switch code {
		case optMsgType:
			if len(v) == 1 {
				l.msgType = v[0]
			}
		case optSubnetMask:
			if len(v) == 4 {
				p, ok := maskBits(binary.BigEndian.Uint32(v))
				if !ok {
					return lease{}, fmt.Errorf("subnet mask %x is not contiguous", v)
				}
				l.mask = p
			}
		case optRouter:
			if len(v) >= 4 {
				l.router = netip.AddrFrom4([4]byte(v[:4]))
			}
		case optDNS:
			for j := 0; j+4 <= len(v) && len(l.dns) < maxDNS; j += 4 {
				l.dns = append(l.dns, netip.AddrFrom4([4]byte(v[j:j+4])))
			}
		case optDomain:
			if validName(string(v), 253) {
				l.domain = string(v)
			}
		case optServerID:
			if len(v) == 4 {
				l.server = netip.AddrFrom4([4]byte(v))
			}
		case optLeaseTime:
			if len(v) == 4 {
				l.duration = seconds(binary.BigEndian.Uint32(v))
			}
		case optRenewalTime:
			if len(v) == 4 {
				l.renew = seconds(binary.BigEndian.Uint32(v))
			}
		}
	}
	if l.msgType == 0 {
		return lease{}, errors.New("no message type")
	}
	return l, nil
}

// seconds converts a lease time; 0xffffffff is infinity (0 here).
func seconds(s uint32) time.Duration {
	if s == 0xffffffff {
		return 0
	}
	return time.Duration(s) * time.Second
}

// maskBits turns a netmask into a prefix length.
func maskBits(m uint32) (int, bool) {
	n := 0
	for m&0x80000000 != 0 {
		m <<= 1
		n++
	}
	return n, m == 0
}

// check says whether an offer or ack is usable: a unicast address,
// a mask, and a router inside the subnet (else the router is dropped).
func (l *lease) check() error {
	a := l.yiaddr
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("unusable address %v", a)
	}
	if l.mask < 0 {
		// RFC 2131 lets a server leave the mask out; assume the
		// classful default would be 1980s: take /24.
		l.mask = 24
	}
	if l.mask == 0 || l.mask > 32 {
		return fmt.Errorf("prefix length %d", l.mask)
	}
	if l.router.IsValid() && !netip.PrefixFrom(a, l.mask).Contains(l.router) {
		l.router = netip.Addr{}
	}
	return nil
}

// dhcpLink is what the client needs of the device.
type dhcpLink interface {
	send(frame []byte) error
	mac() [6]byte
}

// DHCP timing: RFC 2131 §4.1 suggests 4 s doubling to 64 s; a unikernel
// on a local network wants its address quicker, so 1 s doubling to 4 s,
// for at most dhcpRounds rounds of DISCOVER.
const (
	dhcpRounds     = 6
	dhcpFirstWait  = time.Second
	dhcpMaxWait    = 4 * time.Second
	dhcpMaxReplies = 32 // replies looked at per wait, of any kind
)

// acquire runs DISCOVER/OFFER/REQUEST/ACK until a lease is acknowledged
// or the rounds are used up. replies carries the frames isDHCPReply
// picked out; xid gives each round's transaction ID.
func acquire(link dhcpLink, replies <-chan []byte, xid func() uint32, hostname string) (lease, error) {
	wait := dhcpFirstWait
	start := time.Now()
	var lastErr error
	for round := 0; round < dhcpRounds; round++ {
		id := xid()
		secs := uint16(min(time.Since(start)/time.Second, 0xffff))
		if err := link.send(buildDHCP(link.mac(), dhcpDiscover, id, secs, netip.Addr{}, netip.Addr{}, netip.Addr{}, hostname)); err != nil {
			lastErr = err
		} else if offer, err := await(link.mac(), replies, id, dhcpOffer, wait); err != nil {
			lastErr = err
		} else {
			req := buildDHCP(link.mac(), dhcpRequest, id, secs, offer.yiaddr, offer.server, netip.Addr{}, hostname)
			if err := link.send(req); err != nil {
				lastErr = err
			} else if ack, err := await(link.mac(), replies, id, dhcpAck, wait); err != nil {
				lastErr = err
			} else {
				return ack, nil
			}
		}
		wait = min(2*wait, dhcpMaxWait)
	}
	return lease{}, fmt.Errorf("dhcp: no lease after %d rounds: %w", dhcpRounds, lastErr)
}

// await waits up to d for a reply of type want to transaction xid. A NAK
// ends the wait with an error.
func await(mac [6]byte, replies <-chan []byte, xid uint32, want byte, d time.Duration) (lease, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for range dhcpMaxReplies {
		select {
		case f := <-replies:
			l, err := parseDHCP(f, mac)
			if err != nil || l.xid != xid {
				continue
			}
			if l.msgType == dhcpNak {
				return lease{}, errors.New("dhcp: server said NAK")
			}
			if l.msgType != want {
				continue
			}
			if err := l.check(); err != nil {
				return lease{}, fmt.Errorf("dhcp: %w", err)
			}
			return l, nil
		case <-t.C:
			return lease{}, fmt.Errorf("dhcp: no answer of type %d in %v", want, d)
		}
	}
	return lease{}, errors.New("dhcp: too many unrelated replies")
}

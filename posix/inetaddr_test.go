package posix

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// sockaddrInet builds a sockaddr_in (for an IPv4 ap) or sockaddr_in6
// from a netip address, which the test may use: the kernel must not.
func sockaddrInet(ap netip.AddrPort, scope uint32) []byte {
	if a := ap.Addr(); a.Is4() {
		in := linux.SockaddrIn{Family: linux.AF_INET, Addr: a.As4()}
		binary.BigEndian.PutUint16(in.Port[:], ap.Port())
		return append([]byte(nil), linux.AsBytes(&in)...)
	}
	in := linux.SockaddrIn6{Family: linux.AF_INET6, Addr: ap.Addr().As16(), ScopeID: scope}
	binary.BigEndian.PutUint16(in.Port[:], ap.Port())
	return append([]byte(nil), linux.AsBytes(&in)...)
}

func TestParseInet(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::7").As16()
	for _, c := range []struct {
		name   string
		family int
		sa     []byte
		want   InetAddr
		e      Errno
	}{
		{"v4", linux.AF_INET, sockaddrInet(netip.MustParseAddrPort("127.0.0.1:80"), 0), InetAddr4([4]byte{127, 0, 0, 1}, 80), 0},
		{"v4 on v6 is mapped", linux.AF_INET6, sockaddrInet(netip.MustParseAddrPort("10.0.2.2:443"), 0),
			InetAddr{IP: netip.MustParseAddr("::ffff:10.0.2.2").As16(), Family: linux.AF_INET6, Port: 443}, 0},
		{"v4 any", linux.AF_INET, sockaddrInet(netip.MustParseAddrPort("0.0.0.0:0"), 0), InetAddr4([4]byte{}, 0), 0},
		{"v6", linux.AF_INET6, sockaddrInet(netip.MustParseAddrPort("[2001:db8::7]:8080"), 0), InetAddr6(v6, 8080, 0), 0},
		{"v6 scope", linux.AF_INET6, sockaddrInet(netip.MustParseAddrPort("[fe80::1]:9"), 3),
			InetAddr{IP: netip.MustParseAddr("fe80::1").As16(), Family: linux.AF_INET6, Port: 9, ScopeID: 3}, 0},
		{"v6 on v4", linux.AF_INET, sockaddrInet(netip.MustParseAddrPort("[::1]:9"), 0), InetAddr{}, linux.EINVAL},
		{"short v4", linux.AF_INET, sockaddrInet(netip.MustParseAddrPort("127.0.0.1:80"), 0)[:15], InetAddr{}, linux.EINVAL},
		{"short v6", linux.AF_INET6, sockaddrInet(netip.MustParseAddrPort("[::1]:80"), 0)[:23], InetAddr{}, linux.EINVAL},
		{"no family", linux.AF_INET, []byte{linux.AF_INET}, InetAddr{}, linux.EINVAL},
		{"unspec", linux.AF_INET, make([]byte, 16), InetAddr{}, linux.EAFNOSUPPORT},
		{"unix", linux.AF_INET6, sockaddrUn("/x"), InetAddr{}, linux.EAFNOSUPPORT},
	} {
		got, e := parseInet(c.family, c.sa)
		if got != c.want || e != c.e {
			t.Errorf("%s: parseInet = %+v, %v; want %+v, %v", c.name, got, e, c.want, c.e)
		}
	}
}

func TestInetAddrRoundTrip(t *testing.T) {
	// What a program gives back is what it gave, for its socket's family.
	for _, c := range []struct {
		family int
		ap     string
		scope  uint32
	}{
		{linux.AF_INET, "127.0.0.1:80", 0},
		{linux.AF_INET, "0.0.0.0:0", 0},
		{linux.AF_INET6, "[::1]:65535", 0},
		{linux.AF_INET6, "[::ffff:1.2.3.4]:5", 0},
		{linux.AF_INET6, "[fe80::1]:9", 7},
	} {
		sa := sockaddrInet(netip.MustParseAddrPort(c.ap), c.scope)
		a, e := parseInet(c.family, sa)
		if e != 0 {
			t.Fatalf("%s: parseInet: %v", c.ap, e)
		}
		if back := inetAddr(c.family, a); !bytes.Equal(back, sa) {
			t.Errorf("%s: written back as %x, want %x", c.ap, back, sa)
		}
	}
}

func TestInetAddrWrite(t *testing.T) {
	for _, c := range []struct {
		name   string
		family int
		a      InetAddr
		want   []byte
	}{
		// No address (unbound): the family's "any", with the port.
		{"none v4", linux.AF_INET, InetAddr{Port: 5}, sockaddrInet(netip.MustParseAddrPort("0.0.0.0:5"), 0)},
		{"none v6", linux.AF_INET6, InetAddr{Port: 5}, sockaddrInet(netip.MustParseAddrPort("[::]:5"), 0)},
		// The stack's IPv4 address on an IPv6 socket: ::ffff:a.b.c.d.
		{"v4 on v6", linux.AF_INET6, InetAddr4([4]byte{10, 0, 2, 15}, 22), sockaddrInet(netip.MustParseAddrPort("[::ffff:10.0.2.15]:22"), 0)},
		// A mapped address on an IPv4 socket is its IPv4 address; any
		// other IPv6 one has no IPv4 form.
		{"mapped on v4", linux.AF_INET, InetAddr{IP: netip.MustParseAddr("::ffff:1.2.3.4").As16(), Family: linux.AF_INET6, Port: 1}, sockaddrInet(netip.MustParseAddrPort("1.2.3.4:1"), 0)},
		{"v6 on v4", linux.AF_INET, InetAddr6(netip.MustParseAddr("::1").As16(), 2, 0), sockaddrInet(netip.MustParseAddrPort("0.0.0.0:2"), 0)},
	} {
		if got := inetAddr(c.family, c.a); !bytes.Equal(got, c.want) {
			t.Errorf("%s: %x, want %x", c.name, got, c.want)
		}
	}
}

// rtattrs splits netlink attributes into type → value.
func rtattrs(t *testing.T, b []byte) map[uint16][]byte {
	m := map[uint16][]byte{}
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint16(b))
		if n < 4 || n > len(b) {
			t.Fatalf("bad attribute length %d in %x", n, b)
		}
		m[binary.LittleEndian.Uint16(b[2:])] = b[4:n]
		b = b[min((n+3)&^3, len(b)):]
	}
	return m
}

func TestAddrBody(t *testing.T) {
	eth := NetInterface{Index: 2, Name: "eth0"}
	for _, c := range []struct {
		name   string
		i      NetInterface
		p      netip.Prefix
		family uint8
		scope  uint8
	}{
		{"v4", eth, netip.MustParsePrefix("10.0.2.15/24"), linux.AF_INET, 0},
		{"v6 global", eth, netip.MustParsePrefix("2001:db8::15/64"), linux.AF_INET6, 0},
		{"v6 link", eth, netip.MustParsePrefix("fe80::5054:ff:fe12:3456/64"), linux.AF_INET6, linux.RT_SCOPE_LINK},
		{"loopback", NetInterface{Index: 1, Name: "lo", Loopback: true}, netip.MustParsePrefix("::1/128"), linux.AF_INET6, linux.RT_SCOPE_HOST},
	} {
		a := c.p.Addr()
		ip := InetAddr6(a.As16(), 0, 0)
		if a.Is4() {
			ip = InetAddr4(a.As4(), 0)
		}
		b := addrBody(c.i, InetPrefix{Addr: ip, Bits: uint8(c.p.Bits())})
		var m linux.IfAddrmsg
		n := copy(linux.AsBytes(&m), b)
		if m.Family != c.family || int(m.Prefixlen) != c.p.Bits() || m.Scope != c.scope || m.Index != uint32(c.i.Index) {
			t.Errorf("%s: ifaddrmsg %+v", c.name, m)
		}
		attrs := rtattrs(t, b[n:])
		if got := attrs[linux.IFA_ADDRESS]; !bytes.Equal(got, a.AsSlice()) {
			t.Errorf("%s: IFA_ADDRESS %x, want %x", c.name, got, a.AsSlice())
		}
		if _, ok := attrs[linux.IFA_LOCAL]; ok != a.Is4() {
			t.Errorf("%s: IFA_LOCAL present %v", c.name, ok)
		}
	}
}

package netposix

import (
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	knet "github.com/runikraft/runikraft/kernel/net"
	"github.com/runikraft/runikraft/posix"
)

// in4 and in6 are posix addresses as parseInet makes them from a
// sockaddr_in on a socket of family, and from a sockaddr_in6.
func in4(family int, s string, port uint16) posix.InetAddr {
	a := posix.InetAddr4(netip.MustParseAddr(s).As4(), port)
	if family == linux.AF_INET6 {
		a.Family = linux.AF_INET6
	}
	return a
}

func in6(s string, port uint16) posix.InetAddr {
	return posix.InetAddr6(netip.MustParseAddr(s).As16(), port, 0)
}

func TestFull(t *testing.T) {
	v4 := func(s string) tcpip.Address { return tcpip.AddrFrom4(netip.MustParseAddr(s).As4()) }
	v6 := func(s string) tcpip.Address { return tcpip.AddrFrom16(netip.MustParseAddr(s).As16()) }
	for _, c := range []struct {
		name   string
		family int
		a      posix.InetAddr
		want   tcpip.FullAddress
	}{
		{"v4", linux.AF_INET, in4(linux.AF_INET, "127.0.0.1", 80), tcpip.FullAddress{Addr: v4("127.0.0.1"), Port: 80}},
		{"v4 any", linux.AF_INET, in4(linux.AF_INET, "0.0.0.0", 80), tcpip.FullAddress{Port: 80}},
		{"mapped on v4 is v4", linux.AF_INET, in6("::ffff:10.0.2.2", 1), tcpip.FullAddress{Addr: v4("10.0.2.2"), Port: 1}},
		{"v6 on v4 stays v6", linux.AF_INET, in6("::1", 1), tcpip.FullAddress{Addr: v6("::1"), Port: 1}},
		{"mapped on v6 stays v6", linux.AF_INET6, in4(linux.AF_INET6, "10.0.2.2", 2), tcpip.FullAddress{Addr: v6("::ffff:10.0.2.2"), Port: 2}},
		{"mapped any on v6", linux.AF_INET6, in4(linux.AF_INET6, "0.0.0.0", 2), tcpip.FullAddress{Addr: v6("::ffff:0.0.0.0"), Port: 2}},
		{"v6 any", linux.AF_INET6, in6("::", 3), tcpip.FullAddress{Port: 3}},
		{"v6", linux.AF_INET6, in6("2001:db8::1", 4), tcpip.FullAddress{Addr: v6("2001:db8::1"), Port: 4}},
		{"none", linux.AF_INET6, posix.InetAddr{Port: 5}, tcpip.FullAddress{Port: 5}},
	} {
		e := &endpoint{ep: &knet.Endpoint{Family: c.family}}
		if got := e.full(c.a); got != c.want {
			t.Errorf("%s: full = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestInetAddrFromStack(t *testing.T) {
	for _, c := range []struct {
		f    tcpip.FullAddress
		want posix.InetAddr
	}{
		{tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{10, 0, 2, 15}), Port: 22}, in4(linux.AF_INET, "10.0.2.15", 22)},
		{tcpip.FullAddress{Addr: tcpip.AddrFrom16(netip.MustParseAddr("fe80::1").As16()), Port: 7}, in6("fe80::1", 7)},
		{tcpip.FullAddress{Port: 9}, posix.InetAddr{Port: 9}},
	} {
		if got := inetAddr(c.f); got != c.want {
			t.Errorf("inetAddr(%+v) = %+v, want %+v", c.f, got, c.want)
		}
	}
}

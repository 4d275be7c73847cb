package posix

import "github.com/runikraft/runikraft/kernel/abi/linux"

// The posix layer's own IP address types. They are plain values instead
// of net/netip's because netip pulls in package unique and the weak
// pointer machinery (tens of kilobytes and work at every boot), and
// every kernel links posix, even one without networking.

// InetAddr is an IPv4 or IPv6 socket address: what a sockaddr_in or
// sockaddr_in6 holds, or no address at all (the zero value).
type InetAddr struct {
	// IP is the address in its 16-byte form: an IPv4 address as
	// ::ffff:a.b.c.d.
	IP [16]byte
	// Family is linux.AF_INET for an IPv4 address, linux.AF_INET6 for
	// an IPv6 one (an IPv4-mapped one too), 0 for no address (an
	// unbound endpoint; no destination for Write).
	Family uint16
	Port   uint16
	// ScopeID is an IPv6 address's sin6_scope_id, 0 for none.
	ScopeID uint32
}

// v4InV6Prefix is the first 12 bytes of an IPv4-mapped IPv6 address.
var v4InV6Prefix = [12]byte{10: 0xff, 11: 0xff}

// InetAddr4 is the IPv4 address ip with port.
func InetAddr4(ip [4]byte, port uint16) InetAddr {
	a := InetAddr{Family: linux.AF_INET, Port: port}
	copy(a.IP[:], v4InV6Prefix[:])
	copy(a.IP[12:], ip[:])
	return a
}

// InetAddr6 is the IPv6 address ip with port and scope id.
func InetAddr6(ip [16]byte, port uint16, scope uint32) InetAddr {
	return InetAddr{IP: ip, Family: linux.AF_INET6, Port: port, ScopeID: scope}
}

// Valid says whether a holds an address.
func (a InetAddr) Valid() bool { return a.Family != 0 }

// Is4 says whether a is an IPv4 address (not an IPv4-mapped IPv6 one).
func (a InetAddr) Is4() bool { return a.Family == linux.AF_INET }

// Unmap is the IPv4 address of a, if a is IPv4 or IPv4-mapped IPv6.
func (a InetAddr) Unmap() ([4]byte, bool) {
	if a.Family == 0 || [12]byte(a.IP[:12]) != v4InV6Prefix {
		return [4]byte{}, false
	}
	return [4]byte(a.IP[12:]), true
}

// InetPrefix is an interface address with its prefix length (netlink's
// RTM_NEWADDR). Its Addr's port and scope id are unused.
type InetPrefix struct {
	Addr InetAddr
	Bits uint8
}

// isLinkLocal says whether a is a link-local unicast address
// (169.254.0.0/16, fe80::/10).
func (a InetAddr) isLinkLocal() bool {
	if v4, ok := a.Unmap(); ok {
		return v4[0] == 169 && v4[1] == 254
	}
	return a.Family == linux.AF_INET6 && a.IP[0] == 0xfe && a.IP[1]&0xc0 == 0x80
}

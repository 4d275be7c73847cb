package net

import (
	"net/netip"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Endpoint is one socket's transport endpoint: gVisor's tcpip.Endpoint
// (Bind, Listen, Accept, Connect, Read, Write, Shutdown, socket options
// through SocketOptions, GetSockOpt and SetSockOpt) and the queue it
// notifies on readiness (waiter.ReadableEvents, WritableEvents,
// EventHUp, EventErr, EventRdHUp). Register a waiter.Entry on Queue
// for poll/epoll/blocking calls; Readiness(mask) says what is ready now.
type Endpoint struct {
	tcpip.Endpoint
	Queue *waiter.Queue

	// What the socket was made as (Linux's AF_*, SOCK_* and IPPROTO_*
	// numbers), for SO_DOMAIN, SO_TYPE, SO_PROTOCOL.
	Family, Type, Protocol int
}

// Linux protocol numbers the socket call takes.
const (
	ipprotoICMP   = 1
	ipprotoTCP    = 6
	ipprotoUDP    = 17
	ipprotoICMPv6 = 58
)

// Socket makes an endpoint as socket(2) would: family AF_INET or
// AF_INET6; type SOCK_STREAM (TCP), SOCK_DGRAM (UDP, or ICMP echo
// "ping" sockets with protocol IPPROTO_ICMP/IPPROTO_ICMPV6); protocol 0
// for the type's default. typ carries no flags (the caller strips
// SOCK_NONBLOCK and SOCK_CLOEXEC); SOCK_RAW with an IP protocol. The
// errors are what Linux returns.
func (st *Stack) Socket(family, typ, protocol int) (*Endpoint, syscall.Errno) {
	var netProto tcpip.NetworkProtocolNumber
	switch family {
	case syscall.AF_INET:
		netProto = ipv4.ProtocolNumber
	case syscall.AF_INET6:
		netProto = ipv6.ProtocolNumber
	default:
		return nil, syscall.EAFNOSUPPORT
	}
	var trans tcpip.TransportProtocolNumber
	switch {
	case typ == syscall.SOCK_STREAM && (protocol == 0 || protocol == ipprotoTCP):
		trans, protocol = tcp.ProtocolNumber, ipprotoTCP
	case typ == syscall.SOCK_DGRAM && (protocol == 0 || protocol == ipprotoUDP):
		trans, protocol = udp.ProtocolNumber, ipprotoUDP
	case typ == syscall.SOCK_DGRAM && family == syscall.AF_INET && protocol == ipprotoICMP:
		trans = icmp.ProtocolNumber4
	case typ == syscall.SOCK_DGRAM && family == syscall.AF_INET6 && protocol == ipprotoICMPv6:
		trans = icmp.ProtocolNumber6
	case typ == syscall.SOCK_STREAM || typ == syscall.SOCK_DGRAM:
		return nil, syscall.EPROTONOSUPPORT
	case typ == syscall.SOCK_RAW:
		return st.rawSocket(family, netProto, protocol)
	default:
		// SOCK_SEQPACKET has no IP protocol.
		return nil, syscall.ESOCKTNOSUPPORT
	}
	q := new(waiter.Queue)
	ep, err := st.s.NewEndpoint(trans, netProto, q)
	if err != nil {
		return nil, Errno(err)
	}
	return &Endpoint{Endpoint: ep, Queue: q, Family: family, Type: typ, Protocol: protocol}, 0
}

// ipprotoRaw is IPPROTO_RAW: a send-only raw socket whose application
// writes the IP header itself.
const ipprotoRaw = 255

// rawSocket makes a SOCK_RAW endpoint for an IP protocol the stack
// knows (ICMP, TCP, UDP; EPROTONOSUPPORT for the others, and for 0 as
// Linux), or a header-including send-only one for IPPROTO_RAW. IPv4 raw
// sockets read whole packets with their IP header, as on Linux.
func (st *Stack) rawSocket(family int, netProto tcpip.NetworkProtocolNumber, protocol int) (*Endpoint, syscall.Errno) {
	if protocol <= 0 || protocol > ipprotoRaw {
		return nil, syscall.EPROTONOSUPPORT
	}
	q := new(waiter.Queue)
	ep, err := st.s.NewRawEndpoint(tcpip.TransportProtocolNumber(protocol), netProto, q, protocol != ipprotoRaw)
	if err != nil {
		return nil, Errno(err)
	}
	return &Endpoint{Endpoint: ep, Queue: q, Family: family, Type: syscall.SOCK_RAW, Protocol: protocol}, 0
}

// Accept takes a pending connection off a listening endpoint, as an
// Endpoint of the same family and type, with the peer's address. It
// returns EAGAIN when none is pending (wait for ReadableEvents on
// Queue).
func (e *Endpoint) Accept() (*Endpoint, netip.AddrPort, syscall.Errno) {
	c, peer, err := e.AcceptFull()
	if err != 0 {
		return nil, netip.AddrPort{}, err
	}
	return c, AddrPort(peer), 0
}

// AcceptFull is Accept with the peer's address as the stack has it (the
// posix adapter converts that to its own type, without netip).
func (e *Endpoint) AcceptFull() (*Endpoint, tcpip.FullAddress, syscall.Errno) {
	var peer tcpip.FullAddress
	ep, q, err := e.Endpoint.Accept(&peer)
	if err != nil {
		return nil, tcpip.FullAddress{}, Errno(err)
	}
	return &Endpoint{Endpoint: ep, Queue: q, Family: e.Family, Type: e.Type, Protocol: e.Protocol}, peer, 0
}

// Errno is the Linux error number for a netstack error, as Linux's own
// socket calls would return it.
func Errno(err tcpip.Error) syscall.Errno {
	switch err.(type) {
	case nil:
		return 0
	case *tcpip.ErrWouldBlock:
		return syscall.EAGAIN
	case *tcpip.ErrConnectStarted:
		return syscall.EINPROGRESS
	case *tcpip.ErrAlreadyConnecting:
		return syscall.EALREADY
	case *tcpip.ErrAlreadyConnected:
		return syscall.EISCONN
	case *tcpip.ErrNotConnected:
		return syscall.ENOTCONN
	case *tcpip.ErrConnectionRefused:
		return syscall.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return syscall.ECONNRESET
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return syscall.ECONNABORTED
	case *tcpip.ErrClosedForSend:
		return syscall.EPIPE
	case *tcpip.ErrClosedForReceive:
		return 0 // end of file: a read returns 0 bytes
	case *tcpip.ErrTimeout:
		return syscall.ETIMEDOUT
	case *tcpip.ErrPortInUse, *tcpip.ErrDuplicateAddress:
		return syscall.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return syscall.EADDRNOTAVAIL
	case *tcpip.ErrNoPortAvailable:
		return syscall.EAGAIN // Linux: no ephemeral port left
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return syscall.ENETUNREACH
	case *tcpip.ErrHostUnreachable:
		return syscall.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return syscall.EHOSTDOWN
	case *tcpip.ErrDestinationRequired:
		return syscall.EDESTADDRREQ
	case *tcpip.ErrMessageTooLong:
		return syscall.EMSGSIZE
	case *tcpip.ErrNoBufferSpace:
		return syscall.ENOBUFS
	case *tcpip.ErrBroadcastDisabled, *tcpip.ErrNotPermitted:
		return syscall.EACCES
	case *tcpip.ErrAddressFamilyNotSupported:
		return syscall.EAFNOSUPPORT
	case *tcpip.ErrUnknownProtocol:
		return syscall.EPROTONOSUPPORT
	case *tcpip.ErrUnknownProtocolOption:
		return syscall.ENOPROTOOPT
	case *tcpip.ErrNotSupported, *tcpip.ErrQueueSizeNotSupported:
		return syscall.EOPNOTSUPP
	case *tcpip.ErrBadAddress, *tcpip.ErrBadBuffer:
		return syscall.EFAULT
	case *tcpip.ErrNoSuchFile:
		return syscall.ENOENT
	case *tcpip.ErrUnknownDevice, *tcpip.ErrUnknownNICID, *tcpip.ErrInvalidNICID:
		return syscall.ENODEV
	case *tcpip.ErrEndpointBusy:
		return syscall.EBUSY
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState, *tcpip.ErrInvalidOptionValue,
		*tcpip.ErrInvalidPortRange, *tcpip.ErrMalformedHeader, *tcpip.ErrMissingRequiredFields,
		*tcpip.ErrMulticastInputCannotBeOutput, *tcpip.ErrDuplicateNICID:
		return syscall.EINVAL
	}
	return syscall.EINVAL
}

// Interface describes one NIC for netlink and getifaddrs.
type Interface struct {
	Index    int
	Name     string
	MAC      []byte // empty for loopback
	MTU      uint32
	Up       bool
	Loopback bool
	Addrs    []tcpip.AddressWithPrefix
}

// Interfaces lists the NICs in index order.
func (st *Stack) Interfaces() []Interface {
	info := st.s.NICInfo()
	var out []Interface
	for _, id := range []tcpip.NICID{LoopbackNIC, DeviceNIC} {
		n, ok := info[id]
		if !ok {
			continue
		}
		i := Interface{
			Index: int(id), Name: n.Name, MTU: n.MTU,
			Up: n.Flags.Up, Loopback: n.Flags.Loopback,
		}
		if len(n.LinkAddress) > 0 {
			i.MAC = []byte(n.LinkAddress)
		}
		for _, a := range n.ProtocolAddresses {
			i.Addrs = append(i.Addrs, a.AddressWithPrefix)
		}
		out = append(out, i)
	}
	return out
}

// FullAddress converts an address and port for an Endpoint's Bind,
// Connect and Write; an IPv4-mapped IPv6 address stays IPv6, as a dual
// stack AF_INET6 socket wants it.
func FullAddress(ap netip.AddrPort) tcpip.FullAddress {
	a := ap.Addr()
	if !a.IsValid() {
		return tcpip.FullAddress{Port: ap.Port()}
	}
	if a.Is4() {
		return tcpip.FullAddress{Addr: tcpip.AddrFrom4(a.As4()), Port: ap.Port()}
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFrom16(a.As16()), Port: ap.Port()}
}

// AddrPort converts an Endpoint's address back (an unspecified address
// of either family is the zero Addr).
func AddrPort(f tcpip.FullAddress) netip.AddrPort {
	a, _ := netip.AddrFromSlice(f.Addr.AsSlice())
	return netip.AddrPortFrom(a, f.Port)
}

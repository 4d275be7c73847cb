package net

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// NIC numbers: the loopback interface is always 1, the device 2.
const (
	LoopbackNIC tcpip.NICID = 1
	DeviceNIC   tcpip.NICID = 2
)

// Interface names, as Linux calls them.
const (
	LoopbackName = "lo"
	DeviceName   = "eth0"
)

// Stack is the kernel's TCP/IP stack: gVisor's netstack with a loopback
// NIC and, given a device, an Ethernet NIC configured as Config says.
type Stack struct {
	s    *stack.Stack
	link *linkEndpoint // nil without a device

	mu     sync.Mutex
	cfg    Config        // as configured so far (DHCP fills it in)
	ready  chan struct{} // closed once the device's IPv4 address is set (or never will be)
	err    error         // why configuration failed, once ready is closed
	closed bool
	dhcp   chan []byte // replies diverted to the DHCP client
	xidGen func() uint32
}

// New makes a stack with the loopback NIC and, if dev is not nil, an
// Ethernet NIC over dev configured by cfg: a static address at once,
// DHCP in the background (see Ready). random seeds DHCP transaction IDs
// and the stack's own choices (ports, sequence numbers use crypto/rand
// inside gVisor).
func New(cfg Config, dev Device) (*Stack, error) {
	st := &Stack{cfg: cfg, ready: make(chan struct{})}
	ns := &ndpDispatcher{st: st}
	ndp := ipv6.DefaultNDPConfigurations() // router solicitations on
	ndp.HandleRAs = ipv6.HandlingRAsEnabledWhenForwardingDisabled
	ndp.DiscoverDefaultRouters = true
	ndp.DiscoverOnLinkPrefixes = true
	ndp.AutoGenGlobalAddresses = true
	// A server's address should be the one derived from its MAC, not a
	// privacy address that changes (Linux's default too).
	ndp.AutoGenTempGlobalAddresses = false
	st.s = stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{
			ipv4.NewProtocol,
			ipv6.NewProtocolWithOptions(ipv6.Options{
				AutoGenLinkLocal: true,
				NDPDisp:          ns,
				NDPConfigs:       ndp,
			}),
			arp.NewProtocol,
		},
		TransportProtocols: []stack.TransportProtocolFactory{
			tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6,
		},
		// Raw sockets (SOCK_RAW): the application is the only one and
		// runs as root, as Linux would let it.
		RawFactory:  raw.EndpointFactory{},
		HandleLocal: true,
		Clock:       newClock(), // cheaper monotonic readings (clock.go)
	})
	if err := st.tune(); err != nil {
		return nil, err
	}
	if err := st.addLoopback(); err != nil {
		return nil, err
	}
	if dev == nil || cfg.Mode == ModeNone {
		st.cfg.Addr, st.cfg.Gateway = netip.Prefix{}, netip.Addr{}
		st.finish(nil)
		return st, nil
	}
	st.link = newLinkEndpoint(dev)
	if err := st.s.CreateNICWithOptions(DeviceNIC, st.link, stack.NICOptions{Name: DeviceName, QDisc: linkQDisc{st.link}}); err != nil {
		return nil, fmt.Errorf("net: create %s: %s", DeviceName, err)
	}
	if cfg.Addr6.IsValid() {
		if err := st.addAddr(DeviceNIC, cfg.Addr6); err != nil {
			return nil, err
		}
		st.s.AddRoute(tcpip.Route{Destination: subnet(cfg.Addr6.Masked()), NIC: DeviceNIC})
	}
	if cfg.Gateway6.IsValid() {
		st.s.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet, Gateway: addr(cfg.Gateway6), NIC: DeviceNIC})
	}
	switch cfg.Mode {
	case ModeStatic:
		if err := st.setIPv4(cfg.Addr, cfg.Gateway); err != nil {
			return nil, err
		}
		st.finish(nil)
	case ModeDHCP:
		st.dhcp = make(chan []byte, 8)
		divert := func(frame []byte) bool {
			if !isDHCPReply(frame) {
				return false
			}
			select {
			case st.dhcp <- append([]byte(nil), frame...):
			default: // the client is behind: a retry will come
			}
			return true
		}
		st.link.divert.Store(&divert)
		go st.runDHCP()
	}
	return st, nil
}

// tune sets the TCP options a server wants: SACK, receive buffer
// moderation (window scaling is always on in gVisor).
func (st *Stack) tune() error {
	sack := tcpip.TCPSACKEnabled(true)
	if err := st.s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fmt.Errorf("net: SACK: %s", err)
	}
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	if err := st.s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod); err != nil {
		return fmt.Errorf("net: receive buffer moderation: %s", err)
	}
	return nil
}

func (st *Stack) addLoopback() error {
	if err := st.s.CreateNICWithOptions(LoopbackNIC, loopback.New(), stack.NICOptions{Name: LoopbackName}); err != nil {
		return fmt.Errorf("net: create %s: %s", LoopbackName, err)
	}
	for _, p := range []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")} {
		if err := st.addAddr(LoopbackNIC, p); err != nil {
			return err
		}
		st.s.AddRoute(tcpip.Route{Destination: subnet(p.Masked()), NIC: LoopbackNIC})
	}
	return nil
}

func (st *Stack) addAddr(nic tcpip.NICID, p netip.Prefix) error {
	proto := ipv4.ProtocolNumber
	if p.Addr().Is6() {
		proto = ipv6.ProtocolNumber
	}
	pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr(p.Addr()), PrefixLen: p.Bits()}}
	if err := st.s.AddProtocolAddress(nic, pa, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("net: add %v to NIC %d: %s", p, nic, err)
	}
	return nil
}

// setIPv4 gives the device its IPv4 address, the subnet route and the
// default route (first, so that the more specific routes come first).
func (st *Stack) setIPv4(p netip.Prefix, gw netip.Addr) error {
	if err := st.addAddr(DeviceNIC, p); err != nil {
		return err
	}
	st.s.AddRoute(tcpip.Route{Destination: subnet(p.Masked()), NIC: DeviceNIC})
	if gw.IsValid() {
		st.s.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: addr(gw), NIC: DeviceNIC})
	}
	return nil
}

// clearIPv4 undoes setIPv4 (a lease that ran out).
func (st *Stack) clearIPv4(p netip.Prefix) {
	st.s.RemoveAddress(DeviceNIC, addr(p.Addr()))
	st.s.RemoveRoutes(func(r tcpip.Route) bool {
		return r.NIC == DeviceNIC && r.Destination.ID().BitLen() == header.IPv4AddressSizeBits
	})
}

func (st *Stack) finish(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	select {
	case <-st.ready:
		return
	default:
	}
	st.err = err
	close(st.ready)
}

// runDHCP gets a lease, configures the device with it and renews it,
// until the stack closes. Each phase is bounded (acquire's rounds, one
// renewal try per half of what is left of the lease).
func (st *Stack) runDHCP() {
	hostname := st.Config().Hostname
	for {
		l, err := acquire(st.link, st.dhcp, st.xid, hostname)
		if err != nil {
			st.finish(err)
			return
		}
		p := netip.PrefixFrom(l.yiaddr, l.mask)
		st.mu.Lock()
		if st.closed {
			st.mu.Unlock()
			return
		}
		st.cfg.Addr, st.cfg.Gateway = p, l.router
		if len(st.cfg.DNS) == 0 {
			st.cfg.DNS = l.dns
		}
		if st.cfg.Domain == "" {
			st.cfg.Domain = l.domain
		}
		st.mu.Unlock()
		if err := st.setIPv4(p, l.router); err != nil {
			st.finish(err)
			return
		}
		st.finish(nil)
		if l.duration == 0 {
			return // infinite
		}
		if !st.keep(l, hostname) {
			st.clearIPv4(p)
			st.mu.Lock()
			st.cfg.Addr, st.cfg.Gateway = netip.Prefix{}, netip.Addr{}
			st.mu.Unlock()
		}
		if st.isClosed() {
			return
		}
	}
}

// keep renews lease l until a renewal fails to come before it ends;
// it returns false when the lease has run out.
func (st *Stack) keep(l lease, hostname string) bool {
	start := time.Now()
	t1 := l.renew
	if t1 <= 0 || t1 >= l.duration {
		t1 = l.duration / 2
	}
	for wait := t1; ; {
		time.Sleep(wait)
		if st.isClosed() {
			return true
		}
		id := st.xid()
		req := buildDHCP(st.link.mac(), dhcpRequest, id, 0, netip.Addr{}, netip.Addr{}, l.yiaddr, hostname)
		if err := st.link.send(req); err == nil {
			if ack, err := await(st.link.mac(), st.dhcp, id, dhcpAck, dhcpMaxWait); err == nil && ack.yiaddr == l.yiaddr && ack.duration > 0 {
				l, start = ack, time.Now()
				wait = ack.renew
				if wait <= 0 || wait >= ack.duration {
					wait = ack.duration / 2
				}
				continue
			}
		}
		left := l.duration - time.Since(start)
		if left < 2*dhcpMaxWait {
			return false
		}
		wait = left / 2
	}
}

func (st *Stack) xid() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (st *Stack) isClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.closed
}

// Ready waits until the device has its IPv4 address (at once for a
// static one, after the DHCP exchange otherwise) or ctx ends. It
// returns the configuration then, or why there is none. Without a
// device, or with "none", it returns at once with no address.
func (st *Stack) Ready(ctx context.Context) (Config, error) {
	select {
	case <-st.ready:
	case <-ctx.Done():
		return st.Config(), fmt.Errorf("net: waiting for an address: %w", ctx.Err())
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.cfg, st.err
}

// Config is the configuration so far: what was asked for, with what
// DHCP supplied.
func (st *Stack) Config() Config {
	st.mu.Lock()
	defer st.mu.Unlock()
	c := st.cfg
	c.DNS = append([]netip.Addr(nil), c.DNS...)
	return c
}

// ResolvConf and Hosts are the texts of /etc/resolv.conf and /etc/hosts
// for the configuration so far (call Ready first to have DHCP's).
func (st *Stack) ResolvConf() string { return st.Config().ResolvConf() }
func (st *Stack) Hosts() string      { return st.Config().Hosts() }

// Gvisor is the underlying netstack, for what this package does not
// wrap (socket options, statistics).
func (st *Stack) Gvisor() *stack.Stack { return st.s }

// Close tears the stack down: endpoints are closed, the device is
// left without a receiver.
func (st *Stack) Close() {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	st.mu.Unlock()
	if st.link != nil {
		st.link.divert.Store(nil)
	}
	st.s.Close()
	st.s.Wait()
	st.finish(errors.New("net: stack closed"))
}

// addr converts a netip address for gVisor.
func addr(a netip.Addr) tcpip.Address {
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

// subnet converts a masked prefix for gVisor's route table.
func subnet(p netip.Prefix) tcpip.Subnet {
	s, err := tcpip.NewSubnet(addr(p.Addr()), tcpip.MaskFromBytes(prefixMask(p)))
	if err != nil {
		panic(fmt.Sprintf("net: subnet %v: %v", p, err)) // p is masked: cannot happen
	}
	return s
}

func prefixMask(p netip.Prefix) []byte {
	m := make([]byte, p.Addr().BitLen()/8)
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// ndpDispatcher installs the routes IPv6 router advertisements announce
// (gVisor discovers them and leaves the route table to its user).
type ndpDispatcher struct{ st *Stack }

func (n *ndpDispatcher) OnDuplicateAddressDetectionResult(tcpip.NICID, tcpip.Address, stack.DADResult) {
}

func (n *ndpDispatcher) OnOffLinkRouteUpdated(nic tcpip.NICID, dest tcpip.Subnet, router tcpip.Address, _ header.NDPRoutePreference) {
	n.st.s.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == nic && r.Destination == dest && r.Gateway == router })
	n.st.s.AddRoute(tcpip.Route{Destination: dest, Gateway: router, NIC: nic})
}

func (n *ndpDispatcher) OnOffLinkRouteInvalidated(nic tcpip.NICID, dest tcpip.Subnet, router tcpip.Address) {
	n.st.s.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == nic && r.Destination == dest && r.Gateway == router })
}

func (n *ndpDispatcher) OnOnLinkPrefixDiscovered(nic tcpip.NICID, prefix tcpip.Subnet) {
	// Before the default route, which AddRoute would leave ahead of it.
	n.st.s.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == nic && r.Destination == prefix && r.Gateway.BitLen() == 0 })
	table := append([]tcpip.Route{{Destination: prefix, NIC: nic}}, n.st.s.GetRouteTable()...)
	n.st.s.SetRouteTable(table)
}

func (n *ndpDispatcher) OnOnLinkPrefixInvalidated(nic tcpip.NICID, prefix tcpip.Subnet) {
	n.st.s.RemoveRoutes(func(r tcpip.Route) bool { return r.NIC == nic && r.Destination == prefix && r.Gateway.BitLen() == 0 })
}

func (n *ndpDispatcher) OnAutoGenAddress(tcpip.NICID, tcpip.AddressWithPrefix) stack.AddressDispatcher {
	return nil
}
func (n *ndpDispatcher) OnAutoGenAddressDeprecated(tcpip.NICID, tcpip.AddressWithPrefix)  {}
func (n *ndpDispatcher) OnAutoGenAddressInvalidated(tcpip.NICID, tcpip.AddressWithPrefix) {}
func (n *ndpDispatcher) OnRecursiveDNSServerOption(tcpip.NICID, []tcpip.Address, time.Duration) {
}
func (n *ndpDispatcher) OnDNSSearchListOption(tcpip.NICID, []string, time.Duration)           {}
func (n *ndpDispatcher) OnDHCPv6Configuration(tcpip.NICID, ipv6.DHCPv6ConfigurationFromNDPRA) {}

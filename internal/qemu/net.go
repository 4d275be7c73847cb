package qemu

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// UserNet gives the guest a virtio-net device on QEMU's user-mode
// network (slirp): the guest is 10.0.2.15/24 behind a NAT whose gateway
// 10.0.2.2 is also the host's loopback, with a DNS proxy at 10.0.2.3
// and a DHCP server handing out exactly that. Forwards publish guest
// ports on the host.
type UserNet struct {
	Forwards []Forward
}

// Forward is one published port: connections (or datagrams) to
// HostAddr:HostPort on the host go to GuestPort in the guest.
type Forward struct {
	UDP       bool
	HostAddr  string // an IP address; empty: every address
	HostPort  int
	GuestPort int
}

// String is the forward in ParseForward's syntax.
func (f Forward) String() string {
	s := strconv.Itoa(f.HostPort) + ":" + strconv.Itoa(f.GuestPort)
	if f.HostAddr != "" {
		s = f.HostAddr + ":" + s
		if strings.Contains(f.HostAddr, ":") {
			s = "[" + f.HostAddr + "]:" + strconv.Itoa(f.HostPort) + ":" + strconv.Itoa(f.GuestPort)
		}
	}
	if f.UDP {
		s += "/udp"
	}
	return s
}

// ParseForward reads a port publication as docker's -p takes it:
// [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp] (an IPv6 HOSTIP in brackets).
func ParseForward(s string) (Forward, error) {
	var f Forward
	rest := s
	if r, proto, ok := strings.Cut(rest, "/"); ok {
		switch proto {
		case "tcp":
		case "udp":
			f.UDP = true
		default:
			return Forward{}, fmt.Errorf("port %q: protocol %q is not tcp or udp", s, proto)
		}
		rest = r
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Forward{}, fmt.Errorf("port %q: want [HOSTIP:]HOSTPORT:GUESTPORT", s)
	}
	hostPart, guest := rest[:i], rest[i+1:]
	host := hostPart
	if j := strings.LastIndexByte(hostPart, ':'); j >= 0 {
		addr := strings.TrimSuffix(strings.TrimPrefix(hostPart[:j], "["), "]")
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return Forward{}, fmt.Errorf("port %q: host address %q: %v", s, addr, err)
		}
		f.HostAddr, host = a.String(), hostPart[j+1:]
	}
	var err error
	if f.HostPort, err = port(host); err != nil {
		return Forward{}, fmt.Errorf("port %q: host port: %v", s, err)
	}
	if f.GuestPort, err = port(guest); err != nil {
		return Forward{}, fmt.Errorf("port %q: guest port: %v", s, err)
	}
	return f, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return n, nil
}

// args are QEMU's arguments for the network: a user-mode netdev with
// the forwards and a virtio-net-device on the virt machine's
// virtio-mmio bus.
func (n *UserNet) args() []string {
	nd := "user,id=net0"
	for _, f := range n.Forwards {
		proto := "tcp"
		if f.UDP {
			proto = "udp"
		}
		// QEMU's syntax: hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport.
		nd += fmt.Sprintf(",hostfwd=%s:%s:%d-:%d", proto, f.HostAddr, f.HostPort, f.GuestPort)
	}
	return []string{"-netdev", nd, "-device", "virtio-net-device,netdev=net0"}
}

// TapNet gives the guest a virtio-net device on a tap interface of the
// host (for guests on a bridge): QEMU opens it and runs no scripts, so
// the interface must exist, be up and be usable by the caller (root, or
// `ip tuntap add dev NAME mode tap user USER`).
type TapNet struct {
	Ifname string
}

// ValidTapName reports whether name can be a Linux interface name that
// goes into QEMU's option string safely: 1-15 characters of letters,
// digits, '-', '_' and '.' (a comma would add QEMU options).
func ValidTapName(name string) bool {
	if len(name) == 0 || len(name) > 15 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// args are QEMU's arguments for the tap network.
func (n *TapNet) args() []string {
	return []string{"-netdev", "tap,id=net0,ifname=" + n.Ifname + ",script=no,downscript=no",
		"-device", "virtio-net-device,netdev=net0"}
}

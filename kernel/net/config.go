package net

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// BootKey is the kernel command-line parameter that configures the
// network, e.g.
//
//	runikraft.net=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3
//	runikraft.net=dhcp
//	runikraft.net=none
//
// See ParseConfig.
const BootKey = "runikraft.net"

// Mode says how the device's IPv4 address is found.
type Mode int

const (
	ModeDHCP   Mode = iota // ask a DHCP server (the default with a device)
	ModeStatic             // Config.Addr, Gateway, DNS as given
	ModeNone               // loopback only; the device is left alone
)

func (m Mode) String() string {
	switch m {
	case ModeDHCP:
		return "dhcp"
	case ModeStatic:
		return "static"
	case ModeNone:
		return "none"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Config is the network configuration of the kernel: the device's
// addresses (the loopback NIC always has 127.0.0.1/8 and ::1).
type Config struct {
	Mode     Mode
	Addr     netip.Prefix // IPv4 address and prefix (ModeStatic)
	Gateway  netip.Addr   // IPv4 default route; invalid: none
	Addr6    netip.Prefix // optional static IPv6 address; SLAAC runs anyway
	Gateway6 netip.Addr   // optional IPv6 default route
	DNS      []netip.Addr // name servers, in order
	Domain   string       // search domain; empty: none
	Hostname string       // this machine's name in /etc/hosts
}

// DefaultHostname is the name /etc/hosts gives the machine unless the
// configuration names it.
const DefaultHostname = "runikraft"

// Limits on what the command line may ask for.
const (
	maxDNS     = 3  // as many as resolv.conf readers (musl, glibc) use
	maxNameLen = 63 // one DNS label for a host name; a domain may be 253
)

// ParseConfig reads the runikraft.net parameter of a kernel command
// line. Without one the configuration is DHCP (with a device present).
// The value is "none", "dhcp", or an IPv4 address with its prefix length
// followed by comma-separated options:
//
//	gw=ADDR      IPv4 default gateway
//	dns=ADDR     a name server (repeatable, up to 3; IPv4 or IPv6)
//	ip6=ADDR/N   a static IPv6 address
//	gw6=ADDR     IPv6 default gateway
//	domain=NAME  search domain for resolv.conf
//	host=NAME    this machine's name in /etc/hosts
//
// "dhcp" may be followed by the same options except gw and ip6: given
// name servers and names are used instead of the server's.
// If the parameter appears twice the last wins, as on Linux.
func ParseConfig(cmdline string) (Config, error) {
	val, ok := "", false
	for _, tok := range strings.Fields(cmdline) {
		if v, found := strings.CutPrefix(tok, BootKey+"="); found {
			val, ok = v, true
		}
	}
	if !ok {
		return Config{Mode: ModeDHCP, Hostname: DefaultHostname}, nil
	}
	c, err := parseValue(val)
	if err != nil {
		return Config{}, fmt.Errorf("%s=%s: %w", BootKey, val, err)
	}
	return c, nil
}

func parseValue(val string) (Config, error) {
	c := Config{Hostname: DefaultHostname}
	parts := strings.Split(val, ",")
	switch first := parts[0]; first {
	case "none":
		if len(parts) > 1 {
			return Config{}, errors.New("none takes no options")
		}
		c.Mode = ModeNone
		return c, nil
	case "dhcp":
		c.Mode = ModeDHCP
	default:
		p, err := netip.ParsePrefix(first)
		if err != nil || !p.Addr().Is4() {
			return Config{}, fmt.Errorf("%q is not none, dhcp or an IPv4 address/prefix such as 10.0.2.15/24", first)
		}
		if p.Bits() == 0 || p.Addr() == p.Masked().Addr() && p.Bits() < 31 {
			return Config{}, fmt.Errorf("%v is not a host address", p)
		}
		c.Mode, c.Addr = ModeStatic, p
	}
	for _, opt := range parts[1:] {
		k, v, ok := strings.Cut(opt, "=")
		if !ok || v == "" {
			return Config{}, fmt.Errorf("option %q: want key=value", opt)
		}
		var err error
		switch k {
		case "gw":
			c.Gateway, err = parseAddr(v, true, c.Mode == ModeStatic)
			if err == nil && !c.Addr.Contains(c.Gateway) {
				err = fmt.Errorf("gateway %v is outside %v", c.Gateway, c.Addr.Masked())
			}
		case "gw6":
			c.Gateway6, err = parseAddr(v, false, c.Mode == ModeStatic)
		case "dns":
			var a netip.Addr
			if a, err = netip.ParseAddr(v); err == nil {
				if len(c.DNS) == maxDNS {
					err = fmt.Errorf("more than %d name servers", maxDNS)
				}
				c.DNS = append(c.DNS, a.Unmap())
			}
		case "ip6":
			if c.Mode != ModeStatic {
				err = errors.New("only with a static address")
				break
			}
			c.Addr6, err = netip.ParsePrefix(v)
			if err == nil && (!c.Addr6.Addr().Is6() || c.Addr6.Addr().Is4In6()) {
				err = errors.New("not an IPv6 address/prefix")
			}
		case "domain":
			if !validName(v, 253) {
				err = errors.New("not a domain name")
			}
			c.Domain = v
		case "host":
			if !validName(v, maxNameLen) || strings.Contains(v, ".") {
				err = errors.New("not a host name (letters, digits, '-')")
			}
			c.Hostname = v
		default:
			err = errors.New("unknown option (gw, gw6, dns, ip6, domain, host)")
		}
		if err != nil {
			return Config{}, fmt.Errorf("option %s: %w", opt, err)
		}
	}
	return c, nil
}

// parseAddr parses a gateway: IPv4 (v4) or IPv6, and only where allowed.
func parseAddr(s string, v4, allowed bool) (netip.Addr, error) {
	if !allowed {
		return netip.Addr{}, errors.New("only with a static address")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Is4() != v4 || a.Is4In6() {
		return netip.Addr{}, fmt.Errorf("%v is not an IPv%d address", a, map[bool]int{true: 4, false: 6}[v4])
	}
	return a, nil
}

// validName accepts DNS names: dot-separated labels of letters, digits
// and hyphens, not starting or ending with a hyphen. It keeps what the
// command line or a DHCP server says from breaking the generated files.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ResolvConf is the text of /etc/resolv.conf for c.
func (c Config) ResolvConf() string {
	var b strings.Builder
	b.WriteString("# Generated by the Runikraft kernel from its network configuration (" + c.Mode.String() + ").\n")
	for _, a := range c.DNS {
		b.WriteString("nameserver " + a.String() + "\n")
	}
	if c.Domain != "" {
		b.WriteString("search " + c.Domain + "\n")
	}
	return b.String()
}

// Hosts is the text of /etc/hosts for c: the loopback names, and the
// machine's name on its address (on 127.0.1.1 without one, as Debian
// does, so that the name always resolves).
func (c Config) Hosts() string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	name := c.Hostname
	if name == "" {
		name = DefaultHostname
	}
	if c.Domain != "" {
		name = name + "." + c.Domain + " " + name
	}
	if c.Addr.IsValid() {
		b.WriteString(c.Addr.Addr().String() + "\t" + name + "\n")
	} else {
		b.WriteString("127.0.1.1\t" + name + "\n")
	}
	if c.Addr6.IsValid() {
		b.WriteString(c.Addr6.Addr().String() + "\t" + name + "\n")
	}
	return b.String()
}

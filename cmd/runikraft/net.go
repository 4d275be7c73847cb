package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/qemu"
	"github.com/runikraft/runikraft/internal/toolchain"
)

// The guest's network, docker-style: -p publishes ports through QEMU's
// user networking; --net picks the mode.
const (
	netAuto     = "auto"     // user with -p; loopback for programs that use sockets; else none
	netNone     = "none"     // no TCP/IP stack (AF_UNIX still works)
	netLoopback = "loopback" // the stack with 127.0.0.1 and ::1 only
	netUser     = "user"     // QEMU user networking: 10.0.2.15, gateway and host 10.0.2.2, DNS 10.0.2.3
	netTap      = "tap"      // tap:IFNAME[,ADDR/PREFIX[,gw=ADDR][,dns=ADDR]...]: a host tap interface, DHCP or static
)

// userNetArgs is the static configuration matching QEMU's user network,
// so the guest needs no DHCP exchange.
const userNetArgs = "runikraft.net=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3"

var netFlags = []cli.Flag{
	&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish guest port `[HOSTIP:]HOSTPORT:GUESTPORT[/udp]` on the host (repeatable; implies --net user)"},
	&cli.StringFlag{Name: "net", Value: netAuto, Usage: "network: auto (user when a port is published, loopback when the program uses sockets, else none), none, loopback, user (outbound access through the host; the host is 10.0.2.2), tap:IFNAME (a host tap interface, DHCP) or tap:IFNAME,ADDR/PREFIX[,gw=ADDR][,dns=ADDR] (static)"},
}

// guestNet is what the network decision changes in a run.
type guestNet struct {
	mode     string
	forwards []qemu.Forward
	tap      string // the host interface, with --net tap
	tapConf  string // runikraft.net's value with --net tap: "dhcp" or the static configuration
	dryRun   bool   // --dry-run: the tap is not opened to check it
}

// network reads --net and -p for an application at app (empty for a
// machine image, a baked one or one given --kernel: their kernel is
// chosen already).
func network(c *cli.Context, app string) (guestNet, error) {
	var g guestNet
	for _, p := range c.StringSlice("publish") {
		f, err := qemu.ParseForward(p)
		if err != nil {
			return g, fmt.Errorf("-p: %w", err)
		}
		g.forwards = append(g.forwards, f)
	}
	g.mode = c.String("net")
	g.dryRun = c.Bool("dry-run")
	switch g.mode {
	case netAuto:
		switch {
		case len(g.forwards) > 0:
			g.mode = netUser
		case app == "":
			g.mode = netNone
		default:
			uses, err := toolchain.UsesSockets(app)
			if err != nil {
				return g, fmt.Errorf("%s: %w", app, err)
			}
			g.mode = netNone
			if uses {
				g.mode = netLoopback
			}
		}
	case netNone, netLoopback:
		if len(g.forwards) > 0 {
			return g, fmt.Errorf("-p publishes ports through user networking, not --net %s", g.mode)
		}
	case netUser:
	case "tap":
		return g, fmt.Errorf("--net tap: name the host interface, tap:IFNAME")
	case "bridge":
		return g, fmt.Errorf("--net bridge is not supported: put a tap on the bridge and use --net tap:IFNAME")
	default:
		if rest, ok := strings.CutPrefix(g.mode, "tap:"); ok {
			if len(g.forwards) > 0 {
				return g, fmt.Errorf("-p publishes ports through user networking; with --net tap the guest's own address is reachable")
			}
			var err error
			if g.tap, g.tapConf, err = parseTap(rest); err != nil {
				return g, fmt.Errorf("--net %s: %w", g.mode, err)
			}
			g.mode = netTap
			return g, nil
		}
		return g, fmt.Errorf("--net %q: want auto, none, loopback, user or tap:IFNAME", g.mode)
	}
	return g, nil
}

// parseTap reads --net tap's IFNAME[,ADDR/PREFIX[,KEY=VALUE]...]: the
// interface, and the guest's configuration as the kernel's runikraft.net
// takes it ("dhcp" without an address). Everything goes into QEMU's
// options or the kernel command line, so only the known keys and plain
// addresses and names pass.
func parseTap(s string) (ifname, conf string, err error) {
	parts := strings.Split(s, ",")
	ifname = parts[0]
	if !qemu.ValidTapName(ifname) {
		return "", "", fmt.Errorf("%q is not an interface name (1-15 letters, digits, '-', '_', '.')", ifname)
	}
	if len(parts) == 1 {
		return ifname, "dhcp", nil
	}
	if _, err := netip.ParsePrefix(parts[1]); err != nil {
		return "", "", fmt.Errorf("the guest's address: want ADDR/PREFIX: %w", err)
	}
	for _, kv := range parts[2:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "gw", "dns", "gw6":
			if _, err := netip.ParseAddr(v); err != nil {
				return "", "", fmt.Errorf("%s: %w", k, err)
			}
		case "ip6":
			if _, err := netip.ParsePrefix(v); err != nil {
				return "", "", fmt.Errorf("%s: %w", k, err)
			}
		case "domain", "host":
			if v == "" || strings.ContainsFunc(v, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.')
			}) {
				return "", "", fmt.Errorf("%s: %q is not a host or domain name", k, v)
			}
		default:
			return "", "", fmt.Errorf("%q: want gw=, dns=, domain=, host=, ip6= or gw6=", kv)
		}
	}
	return ifname, strings.Join(parts[1:], ","), nil
}

// apply sets the kernel (the one with the TCP/IP stack, when runikraft
// picks the kernel for an application that needs it), the kernel command
// line and the QEMU device.
func (g guestNet) apply(cfg *qemu.Config, picksKernel bool) error {
	if g.mode == netNone {
		return nil
	}
	if picksKernel {
		k, err := toolchain.DefaultHost().NetKernel()
		if err != nil {
			return err
		}
		cfg.Kernel = k
	}
	switch g.mode {
	case netLoopback:
		cfg.Append += " runikraft.net=none"
	case netUser:
		cfg.Append += " " + userNetArgs
		cfg.Net = &qemu.UserNet{Forwards: g.forwards}
	case netTap:
		if !g.dryRun {
			if err := qemu.CheckTap(g.tap); err != nil {
				return err
			}
		}
		cfg.Append += " runikraft.net=" + g.tapConf
		cfg.Tap = &qemu.TapNet{Ifname: g.tap}
	}
	return nil
}

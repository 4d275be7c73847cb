package main

import (
	"fmt"

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
)

// userNetArgs is the static configuration matching QEMU's user network,
// so the guest needs no DHCP exchange.
const userNetArgs = "runikraft.net=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3"

var netFlags = []cli.Flag{
	&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish guest port `[HOSTIP:]HOSTPORT:GUESTPORT[/udp]` on the host (repeatable; implies --net user)"},
	&cli.StringFlag{Name: "net", Value: netAuto, Usage: "network: auto (user when a port is published, loopback when the program uses sockets, else none), none, loopback, user (outbound access through the host; the host is 10.0.2.2)"},
}

// guestNet is what the network decision changes in a run.
type guestNet struct {
	mode     string
	forwards []qemu.Forward
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
	case "tap", "bridge":
		return g, fmt.Errorf("--net %s is not supported yet: use --net user with -p to reach the guest", g.mode)
	default:
		return g, fmt.Errorf("--net %q: want auto, none, loopback or user", g.mode)
	}
	return g, nil
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
	}
	return nil
}

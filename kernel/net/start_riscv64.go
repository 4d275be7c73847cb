//go:build riscv64

package net

import (
	"errors"
	"fmt"
	"sync"

	vnet "github.com/runikraft/runikraft/kernel/drivers/virtio/net"
	"github.com/runikraft/runikraft/kernel/hart"
)

// kernelStack is the one stack of the running kernel.
var kernelStack = sync.OnceValues(func() (*Stack, error) {
	cfg, err := ParseConfig(hart.Bootargs())
	if err != nil {
		return nil, fmt.Errorf("net: kernel command line: %w", err)
	}
	var dev Device
	if cfg.Mode != ModeNone {
		d, err := vnet.Open()
		switch {
		case errors.Is(err, vnet.ErrNoDevice):
			// Loopback only.
		case err != nil:
			return nil, err
		default:
			dev = d
		}
	}
	return New(cfg, dev)
})

// Start brings the kernel's network up, once: the loopback NIC, and
// the first virtio-net device configured by runikraft.net on the kernel
// command line (DHCP by default). Later calls return the same Stack.
// The address may come later (DHCP): see Stack.Ready.
func Start() (*Stack, error) { return kernelStack() }

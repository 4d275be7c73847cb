//go:build riscv64 && runikraft_net

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	knet "github.com/runikraft/runikraft/kernel/net"
	"github.com/runikraft/runikraft/kernel/net/netposix"
	"github.com/runikraft/runikraft/posix"
)

// netStack brings up the TCP/IP stack of a kernel built with networking
// (build tag runikraft_net: bin/runikraft-kernel-net.img). A DHCP
// address gets a bounded wait, so /etc/resolv.conf has its name
// servers; loopback works whatever happens.
func netStack(logw io.Writer) posix.NetStack {
	st, err := knet.Start()
	if err != nil {
		fmt.Fprintf(logw, "runikraft: network: %v (sockets: loopback only)\n", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := st.Ready(ctx); err != nil {
		fmt.Fprintf(logw, "runikraft: network: %v\n", err)
	}
	return netposix.Stack{S: st}
}

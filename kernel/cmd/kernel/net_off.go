//go:build riscv64 && !runikraft_net

package main

import (
	"io"

	"github.com/runikraft/runikraft/posix"
)

// netStack is nil in the stock kernel: it links no TCP/IP stack, and
// AF_INET sockets are EAFNOSUPPORT (AF_UNIX works). runikraft run picks
// the kernel built with networking for applications that use sockets.
func netStack(io.Writer) posix.NetStack { return nil }

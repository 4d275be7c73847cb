//go:build riscv64

// Command withnet is base plus the network stack brought up: the
// difference in size between the two is what linking kernel/net (gVisor's
// tcpip and the virtio-net driver) costs an image.
package main

import (
	"fmt"
	"os"

	_ "github.com/runikraft/runikraft/kernel"
	knet "github.com/runikraft/runikraft/kernel/net"
)

func main() {
	if _, err := knet.Start(); err != nil {
		fmt.Println("withnet:", err)
		os.Exit(1)
	}
	fmt.Println("withnet: up")
	os.Exit(0)
}

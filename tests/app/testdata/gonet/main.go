// Command gonet is the network half of the app tests' Go programs (kept
// apart from goapp so that goapp, which uses no sockets, runs on the
// stock kernel): argv[1] picks what it does, and it prints what the test
// checks.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: gonet MODE")
		os.Exit(64)
	}
	var err error
	switch os.Args[1] {
	case "tcp":
		err = tcpLoopback()
	case "serve":
		if len(os.Args) < 3 {
			fmt.Println("usage: gonet serve PORT")
			os.Exit(64)
		}
		err = serveHTTP(os.Args[2])
	case "storm":
		if len(os.Args) < 3 {
			fmt.Println("usage: gonet storm PORT")
			os.Exit(64)
		}
		err = storm(os.Args[2])
	case "unixsock":
		err = unixSockets()
	case "ifaces":
		err = interfaces()
	default:
		fmt.Println("unknown mode", os.Args[1])
		os.Exit(64)
	}
	if err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
}

// interfaces prints the interfaces and addresses net.Interfaces reads
// over netlink.
func interfaces() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		addrs, err := i.Addrs()
		if err != nil {
			return err
		}
		fmt.Println(i.Name, i.Flags&net.FlagLoopback != 0, addrs)
	}
	return nil
}

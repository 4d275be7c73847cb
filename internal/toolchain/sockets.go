package toolchain

import (
	"bytes"
	"debug/elf"
	"os"

	"github.com/runikraft/runikraft/internal/elfsym"
)

// UsesSockets says whether the program at path may open internet
// sockets, so that it needs the kernel built with the TCP/IP stack: its
// symbol table names Go's net or syscall socket code, or the C library
// calls that make a socket talk (connect, listen, accept, or bind with
// recvfrom). socket() alone is no sign: static glibc links it (and bind
// and sendto) into programs that never open one. A program without
// symbols may do anything, so it is taken to use sockets.
func UsesSockets(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var talks, bind, recvfrom, any bool
	readable := elfsym.Names(f, func(n []byte) bool {
		any = true
		switch string(n) { // no allocation: the compiler compares in place
		case "connect", "__connect", "listen", "accept", "accept4", "syscall.Socket", "syscall.socket":
			talks = true
		case "bind":
			bind = true
		case "recvfrom", "__recvfrom":
			recvfrom = true
		default:
			talks = bytes.HasPrefix(n, netFD)
		}
		return !talks
	})
	if !readable || !any {
		return true, nil // stripped
	}
	return talks || bind && recvfrom, nil
}

var netFD = []byte("net.(*netFD).")

// ReadsZoneinfo says whether the program at path may read the time-zone
// database: it names a zoneinfo directory, as musl's and glibc's
// time-zone code and Go's time package do ("/usr/share/zoneinfo/").
// One that does not gets the kernel without the database.
func ReadsZoneinfo(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return bytes.Contains(b, []byte("zoneinfo")), nil
}

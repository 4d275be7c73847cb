package toolchain

import (
	"bytes"
	"debug/elf"
	"os"
	"strings"
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
	syms, err := f.Symbols()
	if err != nil || len(syms) == 0 {
		return true, nil // stripped
	}
	var bind, recvfrom bool
	for _, s := range syms {
		switch n := s.Name; {
		case n == "connect", n == "__connect", n == "listen", n == "accept", n == "accept4",
			n == "syscall.Socket", n == "syscall.socket", strings.HasPrefix(n, "net.(*netFD)."):
			return true, nil
		case n == "bind":
			bind = true
		case n == "recvfrom", n == "__recvfrom":
			recvfrom = true
		}
	}
	return bind && recvfrom, nil
}

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

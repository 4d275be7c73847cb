package toolchain

import (
	"debug/elf"
	"strings"
)

// UsesSockets says whether the program at path may open internet
// sockets, so that it needs the kernel built with the TCP/IP stack: its
// symbol table names the C library's socket function or Go's net or
// syscall socket code. A program without symbols may do anything, so it
// is taken to use sockets.
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
	for _, s := range syms {
		switch n := s.Name; {
		case n == "socket", n == "__socket", n == "syscall.Socket", n == "syscall.socket",
			strings.HasPrefix(n, "net.(*netFD)."):
			return true, nil
		}
	}
	return false, nil
}

// Command streamapp is a riscv64 Linux program for the console tests of
// runikraft run: argv[1] picks what it does with its standard streams.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "hash": // all of stdin, then its digest; something on stderr; exit 3
		h := sha256.New()
		n, err := io.Copy(h, os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "read stdin:", err)
			os.Exit(1)
		}
		fmt.Printf("sha256=%x len=%d\n", h.Sum(nil), n)
		os.Stderr.WriteString("to-stderr\n")
		os.Exit(3)
	case "flood": // 100 KB on stdout without touching stdin
		line := strings.Repeat("x", 99) + "\n"
		os.Stdout.WriteString(strings.Repeat(line, 1000))
	case "nosys": // a system call no kernel has: the kernel logs it
		_, _, e := syscall.RawSyscall(4000, 0, 0, 0)
		fmt.Println("errno", int(e))
	default:
		fmt.Fprintln(os.Stderr, "usage: streamapp hash|flood|nosys")
		os.Exit(64)
	}
}

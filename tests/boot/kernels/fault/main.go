//go:build riscv64

// Command fault is a kernel image that writes through a wild pointer: the
// hart layer must report the trap with registers and symbols and power off
// with a non-zero status instead of hanging.
package main

import (
	"fmt"
	"unsafe"

	_ "github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	fmt.Println("about to fault")
	poke(0x10_0000_0000) // below the kernel's mmap region: never mapped
}

//go:noinline
func poke(addr uintptr) {
	*(*uint64)(unsafe.Add(nil, addr)) = 1
}

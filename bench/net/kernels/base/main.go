//go:build riscv64

// Command base is the image-size baseline of bench/net: the kernel
// package (hart layer, virtio drivers) and a program that prints.
package main

import (
	"fmt"
	"os"

	_ "github.com/runikraft/runikraft/kernel"
)

func main() {
	fmt.Println("base: up")
	os.Exit(0)
}

//go:build riscv64

// Command exit3 is the smallest kernel image: it prints and exits with status 3.
package main

import (
	"fmt"
	"os"

	_ "github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	fmt.Println("hello from the runikraft kernel")
	os.Exit(3)
}

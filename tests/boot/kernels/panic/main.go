//go:build riscv64

// Command panic is a kernel image whose main goroutine panics: the Go
// runtime must print its traceback and the machine must exit non-zero.
package main

import (
	"fmt"

	_ "github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	fmt.Println("about to panic")
	explode(42)
}

//go:noinline
func explode(n int) { panic(fmt.Sprintf("selftest panic %d", n)) }

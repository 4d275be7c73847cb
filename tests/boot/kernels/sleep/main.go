//go:build riscv64

// Command sleep is a kernel image that sleeps for the time given in the
// device tree's bootargs (default 2s): the benchmark measures QEMU's CPU
// use while the kernel idles.
package main

import (
	"fmt"
	"time"

	"github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	d, err := time.ParseDuration(hart.Bootargs())
	if err != nil {
		d = 2 * time.Second
	}
	fmt.Println("sleeping", d)
	time.Sleep(d)
	fmt.Println("awake")
}

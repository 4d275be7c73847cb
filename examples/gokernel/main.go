//go:build riscv64

// Command gokernel is a Go program that is itself the kernel: importing the
// hart layer makes it bootable (runikraft build-kernel ./examples/gokernel).
package main

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"time"

	"github.com/runikraft/runikraft/kernel/hart"
)

func main() {
	m := hart.Machine()
	var ram uint64
	for i := 0; i < m.NMem; i++ {
		ram += m.Mem[i].Size
	}
	key := make([]byte, 8)
	rand.Read(key)
	fmt.Printf("Hello from Runikraft: a Go kernel on %s/%s, %d MiB RAM, %d virtio slots\n",
		runtime.GOOS, runtime.GOARCH, ram>>20, m.NVirtio)
	fmt.Printf("time %s, random %x, entropy seeded: %v\n", time.Now().UTC().Format(time.RFC3339), key, hart.Seeded())
}

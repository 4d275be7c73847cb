//go:build riscv64

// Command goruntime is the smallest kernel the stock Go runtime allows: the
// hart layer's boot (the same entry, page tables and system-call glue as
// every Runikraft kernel) and the runtime's start, then a main that prints
// one line through the runtime's own println (write(2) to the hart layer's
// console) and returns, which exits 0 and powers off. No kernel package
// beyond the hart layer and what it imports runs. bench/boot boots it next
// to the bare OpenSBI payload: the distance between the two is the least
// any kernel on the stock runtime pays under TCG.
package main

import _ "github.com/runikraft/runikraft/kernel/hart"

// Marker is what bench/boot waits for.
const Marker = "go runtime up"

func main() {
	println(Marker)
}

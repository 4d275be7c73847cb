// Command linkcheck is built, never run, by TestNosplitStack for
// linux/riscv64: the nosplit stack limit is enforced by the linker, not the
// compiler, so only a linked binary proves that Parse fits, and
// -ldflags=-debugnosplit makes the linker print the call graph that the test
// measures. boot stands in for the kernel's pre-runtime entry.
package main

import "github.com/runikraft/runikraft/kernel/fdt"

var (
	machine fdt.Machine
	blob    uintptr
	buf     []byte
)

//go:nosplit
func boot() int {
	e := fdt.Parse(blob, &machine)
	e += fdt.ParseBytes(buf, &machine)
	return e + len(fdt.ErrorString(e))
}

func main() {
	println(boot())
}

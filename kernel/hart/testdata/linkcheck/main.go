// Command linkcheck is built, never run, by TestTrapContext for
// linux/riscv64: importing the hart layer links its boot entry and trap
// vector, and -ldflags=-debugnosplit makes the linker print the call graph
// from them that the test checks.
package main

import _ "github.com/runikraft/runikraft/kernel/hart"

func main() {}

// Package bits is Runikraft's own text for one file of gVisor's package
// gvisor.dev/gvisor/pkg/bits: uint64_arch_generic.go, the version built
// for every architecture but amd64 and arm64 (riscv64 included), which
// scans for a bit one position at a time: up to 64 rounds, and
// buffer.getChunkPool asks for the top bit of every packet buffer's size.
// internal/kbuild puts this file in that one's place, under the same
// build constraint, with go build's -overlay in every kernel build that
// sees gVisor. The same three functions, same results (64 for x == 0),
// written with math/bits, which the compiler makes a few instructions or
// a table look-up.
//
// Nothing imports this directory: it is a package of its own only so that
// its test runs against the very text the kernels get.
package bits

import mathbits "math/bits"

// TrailingZeros64 returns how many zero bits lie below the lowest 1 bit
// of x, which is that bit's index; 64 for x == 0.
func TrailingZeros64(x uint64) int {
	return mathbits.TrailingZeros64(x) // 64 for 0, as here
}

// MostSignificantOne64 returns the index of the highest 1 bit of x; 64
// for x == 0.
func MostSignificantOne64(x uint64) int {
	if x == 0 {
		return 64
	}
	return mathbits.Len64(x) - 1
}

// ForEachSetBit64 calls f with the index of each 1 bit of x, lowest
// first.
func ForEachSetBit64(x uint64, f func(i int)) {
	for x != 0 {
		f(mathbits.TrailingZeros64(x))
		x &= x - 1 // clear the bit just reported
	}
}

//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/mm"
	"github.com/runikraft/runikraft/kernel/reg"
)

// The kernel's random number generator: ChaCha20 keyed from the device
// tree's rng-seed at boot and reseeded from virtio-rng by the driver
// (Reseed). After every request the key is replaced by fresh output, so
// earlier output cannot be recomputed from a later state. Trap context.

var (
	rngKey     [8]uint32
	rngCounter uint64
	rngSeeded  bool // false: only timer jitter went in (logged at boot)
	rngBlock   [16]uint32
)

//go:nosplit
func rotl(v uint32, n uint) uint32 { return v<<n | v>>(32-n) }

//go:nosplit
func quarter(s *[16]uint32, a, b, c, d int) {
	s[a&15] += s[b&15]
	s[d&15] = rotl(s[d&15]^s[a&15], 16)
	s[c&15] += s[d&15]
	s[b&15] = rotl(s[b&15]^s[c&15], 12)
	s[a&15] += s[b&15]
	s[d&15] = rotl(s[d&15]^s[a&15], 8)
	s[c&15] += s[d&15]
	s[b&15] = rotl(s[b&15]^s[c&15], 7)
}

// chachaBlock computes one ChaCha20 block (RFC 8439) of rngKey at
// rngCounter into rngBlock.
//
//go:nosplit
func chachaBlock() {
	s := &rngBlock
	s[0], s[1], s[2], s[3] = 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574
	for i := 0; i < 8; i++ {
		s[4+i] = rngKey[i]
	}
	s[12], s[13] = uint32(rngCounter), uint32(rngCounter>>32)
	s[14], s[15] = 0, 0
	rngCounter++
	for r := 0; r < 10; r++ {
		quarter(s, 0, 4, 8, 12)
		quarter(s, 1, 5, 9, 13)
		quarter(s, 2, 6, 10, 14)
		quarter(s, 3, 7, 11, 15)
		quarter(s, 0, 5, 10, 15)
		quarter(s, 1, 6, 11, 12)
		quarter(s, 2, 7, 8, 13)
		quarter(s, 3, 4, 9, 14)
	}
	// Feed-forward of the input words that are secret or vary.
	for i := 0; i < 8; i++ {
		s[4+i] += rngKey[i]
	}
	s[12] += uint32(rngCounter - 1)
	s[13] += uint32((rngCounter - 1) >> 32)
}

// rekey replaces the key with fresh output (fast key erasure).
//
//go:nosplit
func rekey() {
	chachaBlock()
	for i := 0; i < 8; i++ {
		rngKey[i] = rngBlock[i]
	}
	for i := range rngBlock {
		rngBlock[i] = 0
	}
}

// randomFill writes n random bytes at kernel address p (mapped).
//
//go:nosplit
func randomFill(p, n uintptr) {
	for off := uintptr(0); off < n; {
		chachaBlock()
		for i := 0; i < 64 && off < n; i, off = i+1, off+1 {
			*(*byte)(ptr(p + off)) = byte(rngBlock[(i/4)&15] >> (8 * uint(i%4)))
		}
	}
	rekey()
}

//go:nosplit
func mix(p, n uintptr) {
	for off := uintptr(0); off < n; off++ {
		b := *(*byte)(ptr(p + off))
		rngKey[(off/4)%8] ^= uint32(b) << (8 * (off % 4))
		if off%32 == 31 {
			rekey()
		}
	}
	rekey()
}

//go:nosplit
func initEntropy() {
	if machine.RNGSeed.Size >= 16 {
		mix(uintptr(machine.RNGSeed.Base), uintptr(machine.RNGSeed.Size))
		rngSeeded = true
	}
	// Timer jitter is weak on its own but costs nothing to add.
	for i := 0; i < 8; i++ {
		rngKey[i] ^= uint32(reg.ReadTime())
	}
	rekey()
	if !rngSeeded {
		puts("runikraft: warning: no rng-seed in the device tree; entropy is weak until virtio-rng reseeds\n")
	}
}

//go:nosplit
func getrandom(p, n uintptr) int64 {
	if n > 1<<25 {
		n = 1 << 25 // like Linux, large requests may return short
	}
	if !backed(p, n, true) {
		return -int64(linux.EFAULT)
	}
	randomFill(p, n)
	return int64(n)
}

//go:nosplit
func reseed(p, n uintptr) int64 {
	if n == 0 || n > mm.PageSize || !backed(p, n, false) {
		return -int64(linux.EINVAL)
	}
	mix(p, n)
	rngSeeded = true
	return 0
}

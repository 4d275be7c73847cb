package bits

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// refTZ, refMSO and refSet state the contract by definition: look at
// every bit position.
func refTZ(x uint64) int {
	for i := 0; i < 64; i++ {
		if x&(1<<i) != 0 {
			return i
		}
	}
	return 64
}

func refMSO(x uint64) int {
	for i := 63; i >= 0; i-- {
		if x&(1<<i) != 0 {
			return i
		}
	}
	return 64
}

func refSet(x uint64) []int {
	var s []int
	for i := 0; i < 64; i++ {
		if x&(1<<i) != 0 {
			s = append(s, i)
		}
	}
	return s
}

// values: zero, all ones, every one- and two-bit value, every low and
// high mask, and random values of every density.
func values() []uint64 {
	v := []uint64{0, ^uint64(0)}
	for i := 0; i < 64; i++ {
		v = append(v, 1<<i, ^uint64(0)<<i, ^uint64(0)>>i, ^(uint64(1) << i))
		for j := i + 1; j < 64; j++ {
			v = append(v, 1<<i|1<<j)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		x := r.Uint64()
		switch i % 4 {
		case 1:
			x &= r.Uint64() & r.Uint64() // sparse
		case 2:
			x >>= r.UintN(64) // top bit anywhere
		case 3:
			x <<= r.UintN(64) // bottom bit anywhere
		}
		v = append(v, x)
	}
	return v
}

func TestAgainstDefinition(t *testing.T) {
	for _, x := range values() {
		if got, want := TrailingZeros64(x), refTZ(x); got != want {
			t.Fatalf("TrailingZeros64(%#x) = %d, want %d", x, got, want)
		}
		if got, want := MostSignificantOne64(x), refMSO(x); got != want {
			t.Fatalf("MostSignificantOne64(%#x) = %d, want %d", x, got, want)
		}
		var got []int
		ForEachSetBit64(x, func(i int) { got = append(got, i) })
		if want := refSet(x); !slices.Equal(got, want) {
			t.Fatalf("ForEachSetBit64(%#x) called with %v, want %v", x, got, want)
		}
	}
}

func TestZero(t *testing.T) {
	if TrailingZeros64(0) != 64 || MostSignificantOne64(0) != 64 {
		t.Fatal("x == 0 must give 64")
	}
	ForEachSetBit64(0, func(int) { t.Fatal("f called for 0") })
}

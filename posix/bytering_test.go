package posix

import (
	"bytes"
	"math/rand"
	"testing"
)

// TestByteRing drives a ring and a plain slice with the same random
// writes, reads, peeks and discards and checks that they agree, across
// wrap-rounds and growth, and that nothing passes the limit.
func TestByteRing(t *testing.T) {
	const limit = 3 * ringMin
	rng := rand.New(rand.NewSource(1))
	var q byteRing
	var model []byte
	next := byte(0)
	for step := 0; step < 20000; step++ {
		switch rng.Intn(4) {
		case 0, 1:
			p := make([]byte, rng.Intn(ringMin+100))
			for i := range p {
				p[i] = next
				next++
			}
			n := q.write(p, limit)
			want := min(len(p), limit-len(model))
			if n != want {
				t.Fatalf("step %d: write of %d with %d queued took %d, want %d", step, len(p), len(model), n, want)
			}
			model = append(model, p[:n]...)
		case 2:
			p := make([]byte, rng.Intn(2*ringMin))
			var n int
			if rng.Intn(2) == 0 {
				n = q.peek(p)
			} else {
				n = q.read(p)
				if !bytes.Equal(p[:n], model[:n]) {
					t.Fatalf("step %d: read %d bytes that differ from what was written", step, n)
				}
				model = model[n:]
				continue
			}
			if n != min(len(p), len(model)) || !bytes.Equal(p[:n], model[:n]) {
				t.Fatalf("step %d: peek gave %d bytes, want the %d oldest", step, n, min(len(p), len(model)))
			}
		case 3:
			n := rng.Intn(ringMin) - 10
			q.discard(n)
			model = model[min(max(n, 0), len(model)):]
		}
		if q.len() != len(model) || len(q.b) > limit {
			t.Fatalf("step %d: %d queued in %d bytes of storage, want %d queued, storage at most %d", step, q.len(), len(q.b), len(model), limit)
		}
	}
}

// TestByteRingSteadyStateDoesNotAllocate: once grown, writes and reads
// through a ring allocate nothing (a pipe written a byte at a time and
// drained).
func TestByteRingSteadyStateDoesNotAllocate(t *testing.T) {
	var q byteRing
	one, out := []byte{1}, make([]byte, 4096)
	for i := 0; i < 3*ringMin; i++ { // grown and wrapped
		q.write(one, pipeSize)
		if i%1000 == 999 {
			q.read(out)
		}
	}
	n := testing.AllocsPerRun(1000, func() {
		q.write(one, pipeSize)
		q.read(out[:1])
	})
	if n != 0 {
		t.Fatalf("%.1f allocations per write and read, want 0", n)
	}
}

// Package churn is the work of bench/memory's test program: many
// goroutines, each holding some live data and replacing part of it every
// round while it allocates and drops garbage, so the Go runtime's heap
// holds thousands of stacks and live objects while it collects often.
//
// The result is a checksum that does not depend on scheduling, so the
// benchmark computes it on the host and checks the guest's answer with it:
// memory that was lost or corrupted under pressure shows as a wrong sum.
package churn

// Params shape one run.
type Params struct {
	Goroutines int // how many exist at once
	Rounds     int // rounds each runs
	Live       int // bytes of live data each keeps (in 4 slices)
	Garbage    int // bytes of garbage each allocates per round, at most
}

// Limits bound what the program accepts from its command line.
const (
	MaxGoroutines = 100000
	MaxRounds     = 10000
	MaxLive       = 1 << 20
	MaxGarbage    = 1 << 20
)

// Valid reports whether p is within the limits.
func (p Params) Valid() bool {
	return p.Goroutines >= 1 && p.Goroutines <= MaxGoroutines &&
		p.Rounds >= 1 && p.Rounds <= MaxRounds &&
		p.Live >= 4 && p.Live <= MaxLive &&
		p.Garbage >= 64 && p.Garbage <= MaxGarbage
}

// mix is a cheap integer hash (splitmix64's finaliser).
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Worker is goroutine id's state: its live data.
type Worker struct {
	id   int
	live [4][]byte
}

// NewWorker makes goroutine id's live data.
func NewWorker(p Params, id int) *Worker {
	w := &Worker{id: id}
	for i := range w.live {
		w.live[i] = make([]byte, p.Live/4)
		fill(w.live[i], mix(uint64(id)<<8|uint64(i)))
	}
	return w
}

func fill(b []byte, seed uint64) {
	for i := range b {
		if i%8 == 0 {
			seed = mix(seed + uint64(i))
		}
		b[i] = byte(seed >> (8 * (i % 8)))
	}
}

// Round runs round r: it allocates garbage of a size that depends on the
// goroutine and the round, folds the live data into it, and replaces one
// of the live slices with a new one made from the garbage.
func (w *Worker) Round(p Params, r int) {
	seed := mix(uint64(w.id)<<20 | uint64(r))
	n := 64 + int(seed%uint64(p.Garbage-63))
	g := make([]byte, n)
	fill(g, seed)
	old := w.live[r%4]
	next := make([]byte, len(old))
	for i := range next {
		next[i] = old[i] ^ g[i%n]
	}
	w.live[r%4] = next
}

// Sum is the worker's checksum of its live data.
func (w *Worker) Sum() uint64 {
	h := uint64(w.id)
	for _, b := range w.live {
		for i := 0; i+8 <= len(b); i += 8 {
			v := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
				uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
			h = mix(h ^ v)
		}
		for i := len(b) &^ 7; i < len(b); i++ {
			h = mix(h ^ uint64(b[i]))
		}
	}
	return h
}

// Expected is what a whole run sums to: the workers' sums added, so the
// order they finish in does not matter.
func Expected(p Params) uint64 {
	var total uint64
	for id := 0; id < p.Goroutines; id++ {
		w := NewWorker(p, id)
		for r := 0; r < p.Rounds; r++ {
			w.Round(p, r)
		}
		total += w.Sum()
	}
	return total
}

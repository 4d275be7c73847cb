package posix

// byteRing is a pipe's queue: a ring of bytes that grows on demand, by
// doubling, up to limit, and is never moved or reallocated once it is as
// large as it needs to be, so a steady stream of small writes and reads
// costs no allocation (a slice appended at one end and cut at the other
// would reallocate every time it reached its capacity).
type byteRing struct {
	b    []byte
	r, n int // where the oldest byte is, how many are queued
}

// ringMin is the smallest storage a ring allocates.
const ringMin = 4 << 10

func (q *byteRing) len() int { return q.n }

// reset drops the queue and its storage.
func (q *byteRing) reset() { *q = byteRing{} }

// write queues as much of p as fits under limit and says how much.
func (q *byteRing) write(p []byte, limit int) int {
	k := min(len(p), limit-q.n)
	if k <= 0 {
		return 0
	}
	if q.n+k > len(q.b) {
		q.grow(q.n+k, limit)
	}
	w := (q.r + q.n) % len(q.b)
	c := copy(q.b[w:], p[:k])
	copy(q.b, p[c:k]) // the part that wraps round
	q.n += k
	return k
}

// grow makes room for need bytes (need <= limit), keeping the queue.
func (q *byteRing) grow(need, limit int) {
	size := max(len(q.b), ringMin)
	for size < need {
		size *= 2
	}
	size = min(size, max(limit, need))
	nb := make([]byte, size)
	q.peek(nb)
	q.b, q.r = nb, 0
}

// peek copies the oldest bytes into p, leaving them queued.
func (q *byteRing) peek(p []byte) int {
	k := min(len(p), q.n)
	if k == 0 {
		return 0
	}
	c := copy(p[:k], q.b[q.r:])
	copy(p[c:k], q.b)
	return k
}

// read takes the oldest bytes into p.
func (q *byteRing) read(p []byte) int {
	k := q.peek(p)
	q.discard(k)
	return k
}

// discard drops the n oldest bytes (at most all of them).
func (q *byteRing) discard(n int) {
	n = min(max(n, 0), q.n)
	q.n -= n
	if q.n == 0 {
		q.r = 0 // start again at the front: fewer wrapped copies
		return
	}
	q.r = (q.r + n) % len(q.b)
}

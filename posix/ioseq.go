package posix

import (
	"io"
	"math"
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// One I/O path: read, write, readv, writev, pread64, pwrite64, preadv,
// pwritev, preadv2 and pwritev2 describe the application's memory as an
// ioSeq and move it through the kernel's pooled chunk buffer with one
// partial-result rule (ioResult): bytes moved win over an error, as on
// Linux.

const ioChunk = 64 << 10 // bytes copied through the kernel at a time

// midChunk is the size of a thread's own copy buffer (see ioBuffer).
const midChunk = 16 << 10

// ioBufs recycles the kernel's copy buffers: every read and write passes
// through one, and fresh ones per call would make the kernel's own heap
// churn as fast as the application does I/O.
var ioBufs = sync.Pool{New: func() any { return new([ioChunk]byte) }}

// ioBuffer is a copy buffer for a call moving n bytes: the thread's
// scratch page when n fits (a server's requests and answers mostly do;
// the pool's Get and Put cost hundreds of instructions under TCG), else
// a pooled chunk (pooled), which putIOBuffer gives back. Nothing a
// file's Read or Write does uses the scratch page (only path arguments
// do).
//
// A call of up to midChunk bytes uses the thread's own buffer of that
// size, allocated at the first such call: Redis reads into a 16 KiB
// buffer whatever the request's size, and the pool's Get and Put were
// about 200 instructions of each of its requests.
func (t *Thread) ioBuffer(n uint64) (b []byte, pooled *[ioChunk]byte) {
	if n <= linux.PageSize {
		return t.scratch().page[:], nil
	}
	if n <= midChunk {
		if t.mid == nil {
			t.mid = new([midChunk]byte)
		}
		return t.mid[:], nil
	}
	p := ioBufs.Get().(*[ioChunk]byte)
	return p[:], p
}

// putIOBuffer gives back ioBuffer's pooled chunk, if it was one.
func putIOBuffer(pooled *[ioChunk]byte) {
	if pooled != nil {
		ioBufs.Put(pooled)
	}
}

// ioSeq is the application memory one call covers: its iovecs in order
// (one for read and write), the total clamped to MAX_RW_COUNT as Linux
// clamps it. Iovec arrays come from a pool, so no call allocates in
// proportion to what it asks for.
type ioSeq struct {
	vecs  []linux.Iovec // nil for one buffer: see list
	total uint64
	arr   *[linux.UIO_MAXIOV]linux.Iovec // pooled, for readv and friends
	one   [1]linux.Iovec
	scr   *threadScratch // whose iov the vecs are, for release
}

var iovArrays = sync.Pool{New: func() any { return new([linux.UIO_MAXIOV]linux.Iovec) }}

// single describes one buffer (read, write, pread64, pwrite64). A length
// that is negative as ssize_t is EINVAL.
func single(seq *ioSeq, addr, n uint64) Errno {
	if int64(n) < 0 {
		return linux.EINVAL
	}
	n = min(n, linux.MAX_RW_COUNT)
	// vecs stays nil rather than pointing at one: a pointer from seq
	// into itself would make every caller's seq escape to the heap, an
	// allocation per read and write.
	seq.one[0] = linux.Iovec{Base: addr, Len: n}
	seq.vecs, seq.total = nil, n
	return 0
}

// list is the iovecs seq covers.
func (seq *ioSeq) list() []linux.Iovec {
	if seq.vecs == nil {
		return seq.one[:]
	}
	return seq.vecs
}

// iovecs reads an iovec array (readv and friends): more than UIO_MAXIOV
// entries, a negative length or a total that overflows ssize_t is
// EINVAL, as on Linux. release must be called when seq is done.
func (t *Thread) iovecs(seq *ioSeq, addr, cnt uint64) Errno {
	if cnt > linux.UIO_MAXIOV {
		return linux.EINVAL
	}
	var raw []byte
	if s := t.scratch(); cnt <= uint64(len(s.iov)) && !s.iovBusy {
		// A few iovecs (a server's writev of headers and body) fit the
		// thread's own array: no trip through the pool.
		s.iovBusy, seq.scr = true, s
		seq.vecs = s.iov[:cnt]
		raw = linux.AsBytes(&s.iov)[:cnt*16]
	} else {
		seq.arr = iovArrays.Get().(*[linux.UIO_MAXIOV]linux.Iovec)
		seq.vecs = seq.arr[:cnt]
		raw = linux.AsBytes(seq.arr)[:cnt*16]
	}
	if e := t.p.cpu.CopyIn(raw, uintptr(addr)); e != 0 {
		return e
	}
	var sum uint64
	for _, v := range seq.vecs { // all of them, before any is clamped
		if v.Len > math.MaxInt64-sum {
			return linux.EINVAL
		}
		sum += v.Len
	}
	if sum > linux.MAX_RW_COUNT { // clamp: the rest is never touched
		left := uint64(linux.MAX_RW_COUNT)
		for i, v := range seq.vecs {
			if v.Len >= left {
				seq.vecs[i].Len = left
				seq.vecs = seq.vecs[:i+1]
				break
			}
			left -= v.Len
		}
		sum = linux.MAX_RW_COUNT
	}
	seq.total = sum
	return 0
}

func (seq *ioSeq) release() {
	if seq.scr != nil {
		seq.scr.iovBusy, seq.scr = false, nil
	}
	if seq.arr != nil {
		iovArrays.Put(seq.arr)
		seq.arr = nil
	}
}

// ioCursor walks an ioSeq.
type ioCursor struct {
	seq *ioSeq
	i   int    // current iovec
	off uint64 // bytes of it already done
}

// copyOut scatters p into the application's buffers.
func (c *ioCursor) copyOut(t *Thread, p []byte) Errno {
	vecs := c.seq.list()
	for len(p) > 0 && c.i < len(vecs) {
		v := vecs[c.i]
		n := min(uint64(len(p)), v.Len-c.off)
		if n > 0 {
			if e := t.p.cpu.CopyOut(uintptr(v.Base+c.off), p[:n]); e != 0 {
				return e
			}
		}
		p, c.off = p[n:], c.off+n
		if c.off == v.Len {
			c.i, c.off = c.i+1, 0
		}
	}
	return 0
}

// copyIn gathers the next len(p) bytes of the application's buffers.
func (c *ioCursor) copyIn(t *Thread, p []byte) Errno {
	vecs := c.seq.list()
	for len(p) > 0 && c.i < len(vecs) {
		v := vecs[c.i]
		n := min(uint64(len(p)), v.Len-c.off)
		if n > 0 {
			if e := t.p.cpu.CopyIn(p[:n], uintptr(v.Base+c.off)); e != 0 {
				return e
			}
		}
		p, c.off = p[n:], c.off+n
		if c.off == v.Len {
			c.i, c.off = c.i+1, 0
		}
	}
	return 0
}

// ioResult is the partial-result rule: if any bytes moved the call
// reports them (the error, if it persists, comes with the next call);
// otherwise the error.
func ioResult(done uint64, e Errno) int64 {
	if done > 0 {
		return int64(done)
	}
	return errno(e)
}

// atPosition, as the offset of readSeq and writeSeq, means the file's
// position (read, write, readv, writev).
const atPosition = -1

// readSeq reads f into seq: at the position (off == atPosition) or at
// off. Only the first read may block; the rest take what is there.
func (t *Thread) readSeq(f File, nonblock bool, seq *ioSeq, off int64) int64 {
	if s, ok := f.(*inetSocket); ok && s.stream != nil && off == atPosition && seq.total > 0 {
		return s.readDirect(t, nonblock, seq)
	}
	b, pooled := t.ioBuffer(seq.total)
	defer putIOBuffer(pooled)
	cur := ioCursor{seq: seq}
	var done uint64
	var e Errno
	for done < seq.total {
		want := min(seq.total-done, uint64(len(b)))
		var n int
		if off == atPosition {
			n, e = f.Read(t, b[:want], nonblock || done > 0)
		} else {
			n, e = f.PRead(t, b[:want], off+int64(done))
		}
		if n > 0 {
			if ce := cur.copyOut(t, b[:n]); ce != 0 {
				e = ce
				break
			}
			done += uint64(n)
		}
		if e != 0 || uint64(n) < want {
			break
		}
	}
	return ioResult(done, e)
}

// writeSeq writes seq to f, at the position or at off. A write of up to
// a chunk (64 KiB) is one write to the file, so lines from different
// threads stay whole as on Linux.
func (t *Thread) writeSeq(f File, nonblock bool, seq *ioSeq, off int64) int64 {
	if s, ok := f.(*inetSocket); ok && s.stream != nil && off == atPosition && seq.total > 0 {
		return s.writeDirect(t, nonblock, seq)
	}
	b, pooled := t.ioBuffer(seq.total)
	defer putIOBuffer(pooled)
	cur := ioCursor{seq: seq}
	var done uint64
	var e Errno
	for done < seq.total {
		want := min(seq.total-done, uint64(len(b)))
		if e = cur.copyIn(t, b[:want]); e != 0 {
			break
		}
		var n int
		if off == atPosition {
			n, e = f.Write(t, b[:want], nonblock)
		} else {
			n, e = f.PWrite(t, b[:want], off+int64(done))
		}
		done += uint64(max(n, 0))
		if e != 0 || uint64(n) < want {
			break
		}
	}
	return ioResult(done, e)
}

// userIO is the application memory of one call as an io.Writer (a
// socket read copies into it) and a Payload (a write copies from it),
// for the network stack to copy to and from directly (readDirect). A
// fault stops it: the bytes before stay moved, and fault says why.
type userIO struct {
	t     *Thread
	seq   ioSeq // a copy: a pointer to the caller's would move it to the heap
	cur   ioCursor
	left  uint64 // bytes not moved yet
	fault Errno
}

// userIO sets up the thread's userIO over seq (see threadScratch.uio).
// Nothing clears it after the call: it holds the thread's own memory
// and application addresses only, and every use sets it up anew.
func (t *Thread) userIO(seq *ioSeq) *userIO {
	u := &t.scratch().uio
	// Field by field: a composite literal here was built zeroed on the
	// stack, filled, then copied over (about 80 instructions a read or
	// write of a socket).
	u.t = t
	u.seq = *seq
	u.seq.arr, u.seq.scr = nil, nil // the caller's to release
	u.cur = ioCursor{seq: &u.seq}
	u.left, u.fault = seq.total, 0
	return u
}

// Len is the bytes left to send (Payload).
func (u *userIO) Len() int { return int(u.left) }

// Read gathers the next bytes of the application's buffers into p.
func (u *userIO) Read(p []byte) (int, error) {
	if u.left == 0 {
		return 0, io.EOF
	}
	n := min(uint64(len(p)), u.left)
	if e := u.cur.copyIn(u.t, p[:n]); e != 0 {
		u.fault = e
		return 0, e
	}
	u.left -= n
	return int(n), nil
}

// Write scatters p into the application's buffers; a short write when
// they are full, which ends a stream read there.
func (u *userIO) Write(p []byte) (int, error) {
	n := min(uint64(len(p)), u.left)
	if e := u.cur.copyOut(u.t, p[:n]); e != 0 {
		u.fault = e
		return 0, e
	}
	u.left -= n
	if n < uint64(len(p)) {
		return int(n), io.ErrShortWrite
	}
	return int(n), nil
}

package p9fs

import (
	"time"

	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// Read-ahead. The system-call layer hands reads to the filesystem in
// pieces of 64 KiB, so a program reading a file sequentially would cost
// one round trip to the host per 64 KiB, however large its reads and
// the message size; the round trip, not the copy, is what costs. A
// handle read sequentially fetches a window of up to raWindow bytes in
// one message and serves the next reads from it. A window is used for
// raTTL at most after the host answered (the same bound as attributes,
// see Cache mode), and never after a change made through this mount
// (node.gen). At most raWindows windows exist at once, so memory stays
// bounded whatever the number of open files; a handle that finds none
// free reads from the host directly. A window dropped before it was read
// through makes the next one half as large (down to raMin), one read
// through twice as large (up to raWindow).
const (
	raWindow  = 512 << 10
	raWindows = 4
)

// raTTL is a variable only so that a test can lengthen it.
var raTTL = attrTTL

// raSlots holds the window buffers not in use; a buffer is made on first
// use and kept.
var raSlots = func() chan []byte {
	c := make(chan []byte, raWindows)
	for range raWindows {
		c <- nil
	}
	return c
}()

// window is a part of the file as the host gave it at one time.
type window struct {
	buf []byte
	off int64 // file offset of buf[0]
	n   int   // bytes valid
	eof bool  // the host gave fewer than asked: the file ended at off+n
	at  time.Time
	gen uint64
	// size is how much the next fill asks for; early says the last
	// window was dropped (expired or changed) before it was read through.
	size  int
	early bool
}

// raMin is the smallest window: a window that keeps expiring before it
// is read through (a slow reader, a loaded machine) halves down to it,
// so that read-ahead never fetches much more than is read.
const raMin = 64 << 10

// windowSize is how much one window fetches: raWindow, or less if the
// message size is smaller.
func windowSize(c *Client) int {
	return min(raWindow, int(c.msize)-wire.ReadOverhead)
}

// fromWindow copies what the window holds of [off, off+len(p)) into p,
// from off on; eof reports that the window saw the file end right after
// what it copied. h.raMu held.
func (h *handle) fromWindow(p []byte, off int64) (n int, eof bool) {
	w := h.ra
	if w == nil || off < w.off || off > w.off+int64(w.n) {
		return 0, false
	}
	if time.Since(w.at) >= raTTL || w.gen != h.n.gen.Load() {
		if off < w.off+int64(w.n) {
			w.early = true
		}
		w.n = 0
		return 0, false
	}
	return w.copyOut(p, off)
}

// copyOut copies the window's bytes from off on into p; off is inside
// the window or at its end.
func (w *window) copyOut(p []byte, off int64) (n int, eof bool) {
	n = copy(p, w.buf[off-w.off:w.n])
	return n, w.eof && off+int64(n) == w.off+int64(w.n)
}

// fill fetches the window at off in one message; false if no window
// buffer is free or the host failed (the caller then reads directly).
// h.raMu held.
func (h *handle) fill(off int64) bool {
	if h.ra == nil {
		select {
		case b := <-raSlots:
			h.ra = &window{buf: b}
		default:
			return false
		}
	}
	w := h.ra
	full := windowSize(h.n.fs.c)
	switch {
	case w.size == 0:
		w.size = full
	case w.early:
		w.size = max(w.size/2, min(raMin, full))
	default:
		w.size = min(w.size*2, full)
	}
	w.early = false
	size := w.size
	if cap(w.buf) < size {
		w.buf = make([]byte, full)
	}
	w.buf = w.buf[:cap(w.buf)]
	gen := h.n.gen.Load()
	at := time.Now()
	n, err := h.n.fs.c.Read(h.fid, off, w.buf[:size])
	if err != nil {
		w.n = 0
		return false
	}
	w.off, w.n, w.eof, w.at, w.gen = off, n, n < size, at, gen
	return true
}

// dropWindow gives the handle's window buffer back. h.raMu held.
func (h *handle) dropWindow() {
	if h.ra != nil {
		raSlots <- h.ra.buf[:0]
		h.ra = nil
	}
}

package posix

import (
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// Pipes: a bounded byte queue between a read end and a write end, with
// end-of-file when the last writer closes and EPIPE (plus SIGPIPE) when
// the last reader has gone.

const pipeSize = 64 << 10 // Linux's default capacity

// pipeEnd is one end of a pipe or FIFO: reads from the read end, writes
// to the write end, EBADF the other way (a FIFO opened O_RDWR is
// fifoRW).

type pipe struct {
	id      uint64 // for /proc/self/fd's "pipe:[id]"
	mu      sync.Mutex
	buf     byteRing
	readers int
	writers int
	// Opens so far of each end: a FIFO opener waits for the other end
	// to have been opened, even if it has closed again since.
	ropens, wopens uint64
	wq             waitQueue // both ends wait here: readiness changes wake all
}

type pipeEnd struct {
	fileDefaults
	p     *pipe
	write bool
	fifo  *fifoRef // the FIFO it was opened through, if any
}

func newPipe() (r, w *pipeEnd) {
	p := &pipe{readers: 1, writers: 1}
	return &pipeEnd{p: p}, &pipeEnd{p: p, write: true}
}

func (e *pipeEnd) waitQueue() *waitQueue { return &e.p.wq }

func (e *pipeEnd) Ready() uint32 {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.write {
		switch {
		case p.readers == 0:
			return linux.POLLOUT | linux.POLLERR
		case p.buf.len() < pipeSize:
			return linux.POLLOUT
		}
		return 0
	}
	var r uint32
	if p.buf.len() > 0 {
		r |= linux.POLLIN
	}
	if p.writers == 0 {
		r |= linux.POLLHUP
	}
	return r
}

func (e *pipeEnd) Read(t *Thread, b []byte, nonblock bool) (int, Errno) {
	return e.read(t, b, nonblock, false)
}

// read takes (or, with peek, copies) what is queued, waiting for data
// unless nonblock; 0 is end of file.
func (e *pipeEnd) read(t *Thread, b []byte, nonblock, peek bool) (int, Errno) {
	if e.write {
		return 0, linux.EBADF
	}
	p := e.p
	for {
		p.mu.Lock()
		if p.buf.len() > 0 {
			var n int
			if peek {
				n = p.buf.peek(b)
			} else {
				n = p.buf.read(b)
			}
			p.mu.Unlock()
			if !peek {
				p.wq.notify()
			}
			return n, 0
		}
		if p.writers == 0 {
			p.mu.Unlock()
			return 0, 0
		}
		p.mu.Unlock()
		if nonblock {
			return 0, linux.EAGAIN
		}
		if _, err := t.waitReady([]pollable{e}, -1, func() bool { return e.Ready()&(linux.POLLIN|linux.POLLHUP) != 0 }); err != 0 {
			return 0, err
		}
	}
}

// consume drops n bytes that a peek returned (splice).
func (e *pipeEnd) consume(n int) {
	p := e.p
	p.mu.Lock()
	p.buf.discard(n)
	p.mu.Unlock()
	p.wq.notify()
}

// room waits until the pipe takes more bytes and says how many (EPIPE
// once no reader is left).
func (e *pipeEnd) room(t *Thread, nonblock bool) (int, Errno) {
	p := e.p
	for {
		p.mu.Lock()
		readers, n := p.readers, pipeSize-p.buf.len()
		p.mu.Unlock()
		switch {
		case readers == 0:
			return 0, linux.EPIPE
		case n > 0:
			return n, 0
		case nonblock:
			return 0, linux.EAGAIN
		}
		if _, err := t.waitReady([]pollable{e}, -1, func() bool { return e.Ready() != 0 }); err != 0 {
			return 0, err
		}
	}
}

func (e *pipeEnd) Write(t *Thread, b []byte, nonblock bool) (int, Errno) {
	if !e.write {
		return 0, linux.EBADF
	}
	p := e.p
	done := 0
	for done < len(b) {
		p.mu.Lock()
		if p.readers == 0 {
			p.mu.Unlock()
			t.post(linux.SIGPIPE, sigInfo{})
			if done > 0 {
				return done, 0
			}
			return 0, linux.EPIPE
		}
		if n := p.buf.write(b[done:], pipeSize); n > 0 {
			done += n
			p.mu.Unlock()
			p.wq.notify()
			continue
		}
		p.mu.Unlock()
		if nonblock {
			if done > 0 {
				return done, 0
			}
			return 0, linux.EAGAIN
		}
		if _, err := t.waitReady([]pollable{e}, -1, func() bool { return e.Ready() != 0 }); err != 0 {
			if done > 0 {
				return done, 0
			}
			return 0, err
		}
	}
	return done, 0
}

func (e *pipeEnd) Close() Errno {
	p := e.p
	p.mu.Lock()
	if e.write {
		p.writers--
	} else {
		p.readers--
	}
	p.mu.Unlock()
	p.wq.notify()
	return 0
}

func (e *pipeEnd) Stat() fs.Stat {
	if e.fifo != nil {
		return e.fifo.loc.Stat()
	}
	e.p.mu.Lock()
	n := e.p.buf.len()
	e.p.mu.Unlock()
	return fs.Stat{Dev: anonDev, Ino: e.p.id, Mode: linux.S_IFIFO | 0o600, Nlink: 1, Size: int64(n), Blksize: linux.PageSize}
}

// Name is what /proc/self/fd shows: the FIFO's path, or pipe:[id].
func (e *pipeEnd) Name(p *Process) string {
	if e.fifo != nil {
		return e.fifo.name.abs(p)
	}
	return pipeName(e.p.id)
}

func (e *pipeEnd) Loc() (fs.Loc, bool) {
	if e.fifo != nil {
		return e.fifo.loc, true
	}
	return fs.Loc{}, false
}

// Reopen opens the pipe anew through /proc/self/fd, as Linux lets a
// program open either end of an anonymous pipe that way.
func (e *pipeEnd) Reopen(t *Thread, flags int) (File, Errno) {
	return t.openPipe(e.p, e.fifo, flags)
}

// Ioctl answers FIONREAD: the bytes waiting in the pipe.
func (e *pipeEnd) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	if req != linux.FIONREAD {
		return 0, linux.ENOTTY
	}
	e.p.mu.Lock()
	n := e.p.buf.len()
	e.p.mu.Unlock()
	return 0, t.put32(arg, uint32(n))
}

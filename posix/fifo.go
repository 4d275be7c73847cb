package posix

import (
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"

	"github.com/runikraft/runikraft/kernel/fs"
)

// Named pipes: the VFS keeps the FIFO's inode, the process keeps one
// pipe per FIFO inode, and opening one end waits for the other as on
// Linux (O_RDONLY until a writer, O_WRONLY until a reader; O_RDWR never
// waits; O_WRONLY|O_NONBLOCK without a reader is ENXIO).

type fifoKey struct{ dev, ino uint64 }

type fifoTable struct {
	mu sync.Mutex
	m  map[fifoKey]*pipe
}

// get is the FIFO's pipe, made on first open. A pipe nobody holds open
// has lost its data, as on Linux.
func (ft *fifoTable) get(p *Process, st fs.Stat) *pipe {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.m == nil {
		ft.m = map[fifoKey]*pipe{}
	}
	k := fifoKey{st.Dev, st.Ino}
	pp := ft.m[k]
	if pp == nil {
		pp = &pipe{id: p.pipeIDs.Add(1)}
		ft.m[k] = pp
	}
	pp.mu.Lock()
	if pp.readers == 0 && pp.writers == 0 {
		pp.buf.reset()
	}
	pp.mu.Unlock()
	return pp
}

// fifoRef is the FIFO a pipe end was opened through.
type fifoRef struct {
	loc  fs.Loc
	name vfsName
}

// openFIFO opens an end of the FIFO at l, opened by name.
func (t *Thread) openFIFO(l fs.Loc, name vfsName, flags int) (File, Errno) {
	return t.openPipe(t.p.fifos.get(t.p, l.Stat()), &fifoRef{l, name}, flags)
}

// openPipe opens an end of pp as a FIFO open does (also for a pipe
// reopened through /proc/self/fd); fifo is the FIFO's location, or nil.
func (t *Thread) openPipe(pp *pipe, fifo *fifoRef, flags int) (File, Errno) {
	nonblock := flags&linux.O_NONBLOCK != 0
	switch flags & linux.O_ACCMODE {
	case linux.O_RDONLY:
		return t.fifoEnd(pp, fifo, false, nonblock)
	case linux.O_WRONLY:
		return t.fifoEnd(pp, fifo, true, nonblock)
	case linux.O_RDWR:
		pp.mu.Lock()
		pp.readers++
		pp.writers++
		pp.ropens++
		pp.wopens++
		pp.mu.Unlock()
		pp.wq.notify()
		return &fifoRW{pipeEnd: &pipeEnd{p: pp, fifo: fifo}, w: &pipeEnd{p: pp, write: true, fifo: fifo}}, 0
	}
	return nil, linux.EINVAL
}

// fifoEnd joins one side and, unless nonblock, waits for the other side
// to have been opened since.
func (t *Thread) fifoEnd(pp *pipe, fifo *fifoRef, write, nonblock bool) (File, Errno) {
	pp.mu.Lock()
	if write && nonblock && pp.readers == 0 {
		pp.mu.Unlock()
		return nil, linux.ENXIO
	}
	mine, other, otherOpens := &pp.readers, &pp.writers, &pp.wopens
	if write {
		mine, other, otherOpens = &pp.writers, &pp.readers, &pp.ropens
		pp.wopens++
	} else {
		pp.ropens++
	}
	*mine++
	seen := *otherOpens
	pp.mu.Unlock()
	pp.wq.notify()
	end := &pipeEnd{p: pp, write: write, fifo: fifo}
	if nonblock {
		return end, 0
	}
	_, e := t.waitReady([]pollable{end}, -1, func() bool {
		pp.mu.Lock()
		defer pp.mu.Unlock()
		return *other > 0 || *otherOpens != seen
	})
	if e != 0 {
		end.Close()
		return nil, e
	}
	return end, 0
}

// fifoRW is a FIFO opened for reading and writing: both ends in one (the
// embedded read end describes it).
type fifoRW struct {
	*pipeEnd
	w *pipeEnd
}

func (f *fifoRW) Write(t *Thread, p []byte, nb bool) (int, Errno) { return f.w.Write(t, p, nb) }
func (f *fifoRW) Ready() uint32                                   { return f.pipeEnd.Ready() | f.w.Ready()&linux.POLLOUT }

func (f *fifoRW) Close() Errno {
	f.pipeEnd.Close()
	return f.w.Close()
}

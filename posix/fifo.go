package posix

import (
	"sync"
	"syscall"

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
		pp.buf = nil
	}
	pp.mu.Unlock()
	return pp
}

// openFIFO opens an end of the FIFO described by st.
func (t *Thread) openFIFO(st fs.Stat, flags int) (File, Errno) {
	pp := t.p.fifos.get(t.p, st)
	nonblock := flags&fs.O_NONBLOCK != 0
	switch flags & fs.O_ACCMODE {
	case fs.O_RDONLY:
		return t.fifoEnd(pp, false, nonblock)
	case fs.O_WRONLY:
		return t.fifoEnd(pp, true, nonblock)
	case fs.O_RDWR:
		pp.mu.Lock()
		pp.readers++
		pp.writers++
		pp.ropens++
		pp.wopens++
		pp.mu.Unlock()
		pp.wq.notify()
		return &fifoRW{r: &pipeEnd{p: pp}, w: &pipeEnd{p: pp, write: true}}, 0
	}
	return nil, syscall.EINVAL
}

// fifoEnd joins one side and, unless nonblock, waits for the other side
// to have been opened since.
func (t *Thread) fifoEnd(pp *pipe, write, nonblock bool) (File, Errno) {
	pp.mu.Lock()
	if write && nonblock && pp.readers == 0 {
		pp.mu.Unlock()
		return nil, syscall.ENXIO
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
	end := &pipeEnd{p: pp, write: write}
	if nonblock {
		return end, 0
	}
	_, e := t.waitReady([]Pollable{end}, -1, func() bool {
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

// fifoRW is a FIFO opened for reading and writing: both ends in one.
type fifoRW struct{ r, w *pipeEnd }

func (f *fifoRW) Read(t *Thread, p []byte, nb bool) (int, Errno)  { return f.r.Read(t, p, nb) }
func (f *fifoRW) Write(t *Thread, p []byte, nb bool) (int, Errno) { return f.w.Write(t, p, nb) }
func (f *fifoRW) Ready() uint32                                   { return f.r.Ready() | f.w.Ready()&pollOut }
func (f *fifoRW) waitQueue() *waitQueue                           { return &f.r.p.wq }
func (f *fifoRW) Stat() Stat                                      { return f.r.Stat() }

func (f *fifoRW) Close() Errno {
	f.r.Close()
	return f.w.Close()
}

package posix

import (
	"io"
	"sync"
	"sync/atomic"
	"syscall"
)

// Open files. For now the application has its console streams, eventfds
// and epoll instances; the VFS adds regular files, directories and pipes
// behind the same interface.

// File is an open file's behaviour. Reads and writes may block; they
// return -errRestart (via ErrRestart) when the thread is interrupted.
type File interface {
	Read(t *Thread, p []byte, nonblock bool) (int, Errno)
	Write(t *Thread, p []byte, nonblock bool) (int, Errno)
	Close() Errno
}

// Pollable files report readiness (POLLIN, POLLOUT, ...) and wake
// waiters when it may have changed.
type Pollable interface {
	Ready() uint32
	waitQueue() *waitQueue
}

// Statter files describe themselves for fstat.
type Statter interface {
	Stat() Stat
}

// Stat is the part of struct stat a file reports.
type Stat struct {
	Mode  uint32 // type and permission bits
	Size  int64
	Rdev  uint64
	Ino   uint64
	Nlink uint32
}

// ErrRestart is returned by blocking operations interrupted by a signal.
const ErrRestart = Errno(errRestart)

// Readiness bits (poll and epoll share them).
const (
	pollIn  = 0x1
	pollOut = 0x4
	pollErr = 0x8
	pollHup = 0x10
)

// openFile is an open file description: shared by dup'ed descriptors.
type openFile struct {
	f     File
	mu    sync.Mutex
	flags uint32 // O_NONBLOCK, O_APPEND, access mode
	// closed is set when the last descriptor goes: epoll then drops the
	// file from its interest lists, as Linux does on the file's release.
	closed atomic.Bool
}

func (o *openFile) nonblock() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flags&oNonblock != 0
}

const (
	oRdonly   = 0
	oWronly   = 1
	oRdwr     = 2
	oNonblock = 0x800
	oCloexec  = 0x80000

	maxFDs = 1024
)

type fdEntry struct {
	of      *openFile
	cloexec bool
}

type fdTable struct {
	mu   sync.Mutex
	fds  []*fdEntry
	refs map[*openFile]int
}

func newFDTable(cfg Config) *fdTable {
	ft := &fdTable{refs: map[*openFile]int{}}
	in := newStream(cfg.Stdin)
	ft.install(&openFile{f: in, flags: oRdonly}, 0, false)
	ft.install(&openFile{f: &writer{w: orDiscard(cfg.Stdout)}, flags: oWronly}, 1, false)
	ft.install(&openFile{f: &writer{w: orDiscard(cfg.Stderr)}, flags: oWronly}, 2, false)
	return ft
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// install puts of at the lowest free descriptor >= min.
func (ft *fdTable) install(of *openFile, min int, cloexec bool) (int, Errno) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	for fd := min; fd < maxFDs; fd++ {
		if fd >= len(ft.fds) {
			ft.fds = append(ft.fds, make([]*fdEntry, fd-len(ft.fds)+1)...)
		}
		if ft.fds[fd] == nil {
			ft.fds[fd] = &fdEntry{of: of, cloexec: cloexec}
			ft.refs[of]++
			return fd, 0
		}
	}
	return -1, syscall.EMFILE
}

func (ft *fdTable) get(fd int) (*fdEntry, Errno) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if fd < 0 || fd >= len(ft.fds) || ft.fds[fd] == nil {
		return nil, syscall.EBADF
	}
	return ft.fds[fd], 0
}

func (ft *fdTable) file(fd int) (*openFile, Errno) {
	e, err := ft.get(fd)
	if err != 0 {
		return nil, err
	}
	return e.of, 0
}

// closeFD drops a descriptor; the file closes with its last descriptor.
func (ft *fdTable) closeFD(fd int) Errno {
	ft.mu.Lock()
	if fd < 0 || fd >= len(ft.fds) || ft.fds[fd] == nil {
		ft.mu.Unlock()
		return syscall.EBADF
	}
	of := ft.fds[fd].of
	ft.fds[fd] = nil
	ft.refs[of]--
	last := ft.refs[of] == 0
	if last {
		delete(ft.refs, of)
	}
	ft.mu.Unlock()
	if last {
		of.closed.Store(true)
		return of.f.Close()
	}
	return 0
}

// dupTo makes newfd refer to oldfd's file, closing what newfd was. The
// swap happens under one lock, so a racing close or install cannot slip
// in between; the replaced file closes after, if that was its last
// descriptor. Callers refuse oldfd == newfd.
func (ft *fdTable) dupTo(oldfd, newfd int, cloexec bool) Errno {
	if newfd < 0 || newfd >= maxFDs {
		return syscall.EBADF
	}
	ft.mu.Lock()
	if oldfd < 0 || oldfd >= len(ft.fds) || ft.fds[oldfd] == nil || oldfd == newfd {
		ft.mu.Unlock()
		return syscall.EBADF
	}
	of := ft.fds[oldfd].of
	if newfd >= len(ft.fds) {
		ft.fds = append(ft.fds, make([]*fdEntry, newfd-len(ft.fds)+1)...)
	}
	var last *openFile
	if prev := ft.fds[newfd]; prev != nil {
		ft.refs[prev.of]--
		if ft.refs[prev.of] == 0 {
			delete(ft.refs, prev.of)
			last = prev.of
		}
	}
	ft.fds[newfd] = &fdEntry{of: of, cloexec: cloexec}
	ft.refs[of]++
	ft.mu.Unlock()
	if last != nil {
		// Like dup2, a close error of the replaced file is not reported.
		last.closed.Store(true)
		last.f.Close()
	}
	return 0
}

// writer is an output-only console stream.
type writer struct {
	mu sync.Mutex
	w  io.Writer
	wq waitQueue
}

func (w *writer) Read(*Thread, []byte, bool) (int, Errno) { return 0, syscall.EBADF }
func (w *writer) Write(_ *Thread, p []byte, _ bool) (int, Errno) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.w.Write(p)
	if err != nil && n == 0 {
		return 0, syscall.EIO
	}
	return n, 0
}
func (w *writer) Close() Errno          { return 0 }
func (w *writer) Ready() uint32         { return pollOut }
func (w *writer) waitQueue() *waitQueue { return &w.wq }
func (w *writer) Stat() Stat            { return Stat{Mode: sIFCHR | 0o620, Rdev: 0x0501, Nlink: 1} }

const (
	sIFCHR = 0o020000
	sIFIFO = 0o010000
	sIFREG = 0o100000
)

// stream is the console input: a goroutine copies the host's stdin into a
// bounded buffer, so reads can block, be interrupted by signals, and be
// polled.
type stream struct {
	r     io.Reader
	once  sync.Once
	mu    sync.Mutex
	space *sync.Cond
	buf   []byte
	eof   bool
	wq    waitQueue
}

const streamMax = 1 << 20

func newStream(r io.Reader) *stream {
	s := &stream{r: r}
	s.space = sync.NewCond(&s.mu)
	return s
}

func (s *stream) start() {
	s.once.Do(func() {
		if s.r == nil {
			s.eof = true
			return
		}
		go s.pump()
	})
}

func (s *stream) pump() {
	chunk := make([]byte, 32<<10)
	for {
		n, err := s.r.Read(chunk)
		s.mu.Lock()
		for len(s.buf) >= streamMax {
			s.space.Wait()
		}
		s.buf = append(s.buf, chunk[:n]...)
		if err != nil {
			s.eof = true
		}
		s.mu.Unlock()
		s.wq.notify()
		if err != nil {
			return
		}
	}
}

func (s *stream) Ready() uint32 {
	s.start()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 || s.eof {
		return pollIn
	}
	return 0
}

func (s *stream) waitQueue() *waitQueue { return &s.wq }

func (s *stream) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	return s.read(p, nonblock, t.intr, t.p.done)
}

// read waits on intr (a signal: ErrRestart) and done (process exit:
// EINTR); a nil intr cannot be interrupted (devfs's console).
func (s *stream) read(p []byte, nonblock bool, intr <-chan struct{}, done <-chan struct{}) (int, Errno) {
	s.start()
	w := newWaiter()
	s.wq.add(w)
	defer s.wq.remove(w)
	for {
		s.mu.Lock()
		if len(s.buf) > 0 {
			n := copy(p, s.buf)
			s.buf = s.buf[n:]
			s.space.Signal()
			s.mu.Unlock()
			return n, 0
		}
		eof := s.eof
		s.mu.Unlock()
		if eof {
			return 0, 0
		}
		if nonblock {
			return 0, syscall.EAGAIN
		}
		select {
		case <-w.ch:
		case <-intr:
			return 0, ErrRestart
		case <-done:
			return 0, syscall.EINTR
		}
	}
}

func (s *stream) Write(*Thread, []byte, bool) (int, Errno) { return 0, syscall.EBADF }
func (s *stream) Close() Errno                             { return 0 }
func (s *stream) Stat() Stat                               { return Stat{Mode: sIFCHR | 0o620, Rdev: 0x0501, Nlink: 1} }

// waiter is a thread waiting for readiness on one or more files, or an
// epoll item watching one (fwd then tells the epoll).
type waiter struct {
	ch  chan struct{}
	fwd func()
}

func newWaiter() *waiter { return &waiter{ch: make(chan struct{}, 1)} }

type waitQueue struct {
	mu sync.Mutex
	ws map[*waiter]struct{}
}

func (q *waitQueue) add(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ws == nil {
		q.ws = map[*waiter]struct{}{}
	}
	q.ws[w] = struct{}{}
}

func (q *waitQueue) remove(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.ws, w)
}

// notify wakes every waiter and runs the forwarding functions (epoll
// items pass the wake-up on to their epoll's queue) after unlocking, so
// queues of nested epolls are never locked inside one another.
func (q *waitQueue) notify() {
	var fwd []func()
	q.mu.Lock()
	for w := range q.ws {
		select {
		case w.ch <- struct{}{}:
		default:
		}
		if w.fwd != nil {
			fwd = append(fwd, w.fwd)
		}
	}
	q.mu.Unlock()
	for _, f := range fwd {
		f()
	}
}

package posix

import (
	"io"
	"strconv"
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// The console: the application's stdin, stdout and stderr (virtio-console
// ports or the UART), which descriptors 0-2 start on and which /dev/tty,
// /dev/console and /dev/std* reopen.

type console struct {
	in       *stream
	out, err *writer
}

func newConsole(cfg Config) *console {
	return &console{
		in:  newStream(cfg.Stdin),
		out: &writer{w: orDiscard(cfg.Stdout), fd: 1},
		err: &writer{w: orDiscard(cfg.Stderr), fd: 2},
	}
}

func (c *console) input() File { return c.in }

func (c *console) output(fd int) File {
	if fd == 2 {
		return c.err
	}
	return c.out
}

// consoleStat is the console's character device: /dev/console (5:1).
func consoleStat(mode uint32) fs.Stat {
	return fs.Stat{Dev: anonDev, Mode: linux.S_IFCHR | mode, Nlink: 1, Rdev: linux.Makedev(linux.TTY_MAJOR, 1), Blksize: linux.PageSize}
}

// tty is the console opened through /dev/tty or /dev/console: input from
// stdin, output to stdout.
type tty struct {
	fileDefaults
	c    *console
	name string
	rdev uint64
}

func (c *console) open(name string, rdev uint64) File { return &tty{c: c, name: name, rdev: rdev} }

func (d *tty) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	return d.c.in.Read(t, p, nonblock)
}
func (d *tty) Write(t *Thread, p []byte, nonblock bool) (int, Errno) {
	return d.c.out.Write(t, p, nonblock)
}
func (d *tty) Ready() uint32         { return d.c.in.Ready() | linux.POLLOUT }
func (d *tty) waitQueue() *waitQueue { return &d.c.in.wq }
func (d *tty) Name(*Process) string  { return d.name }
func (d *tty) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	return d.c.in.Ioctl(t, req, arg)
}
func (d *tty) Reopen(*Thread, int) (File, Errno) { return d.c.open(d.name, d.rdev), 0 }

func (d *tty) Stat() fs.Stat {
	st := consoleStat(0o620)
	st.Rdev = d.rdev
	return st
}

// writer is an output-only console stream.
type writer struct {
	fileDefaults
	mu sync.Mutex
	w  io.Writer
	fd int // 1 or 2, for /proc/self/fd
	wq waitQueue
}

func (w *writer) Write(_ *Thread, p []byte, _ bool) (int, Errno) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.w.Write(p)
	if err != nil && n == 0 {
		return 0, linux.EIO
	}
	return n, 0
}
func (w *writer) Read(*Thread, []byte, bool) (int, Errno) { return 0, linux.EBADF }
func (w *writer) Ready() uint32                           { return linux.POLLOUT }
func (w *writer) waitQueue() *waitQueue                   { return &w.wq }
func (w *writer) Stat() fs.Stat                           { return consoleStat(0o620) }
func (w *writer) Name(*Process) string                    { return "/dev/console" }
func (w *writer) Reopen(*Thread, int) (File, Errno)       { return w, 0 }

// stream is the console input: a goroutine copies the host's stdin into a
// bounded buffer, so reads can block, be interrupted by signals, and be
// polled.
type stream struct {
	fileDefaults
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
		return linux.POLLIN
	}
	return 0
}

func (s *stream) waitQueue() *waitQueue { return &s.wq }

// Read waits for input, a signal (ErrRestart) or the process's exit
// (EINTR).
func (s *stream) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
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
			return 0, linux.EAGAIN
		}
		select {
		case <-w.ch:
		case <-t.intr:
			return 0, ErrRestart
		case <-t.p.done:
			return 0, linux.EINTR
		}
	}
}

func (s *stream) Write(*Thread, []byte, bool) (int, Errno) { return 0, linux.EBADF }
func (s *stream) Stat() fs.Stat                            { return consoleStat(0o620) }
func (s *stream) Name(*Process) string                     { return "/dev/console" }
func (s *stream) Reopen(*Thread, int) (File, Errno)        { return s, 0 }

// Ioctl answers FIONREAD: the bytes of input waiting.
func (s *stream) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	if req != linux.FIONREAD {
		return 0, linux.ENOTTY
	}
	s.mu.Lock()
	n := len(s.buf)
	s.mu.Unlock()
	return 0, t.put32(arg, uint32(n))
}

// pipeName is a pipe's /proc/self/fd target.
func pipeName(id uint64) string { return "pipe:[" + strconv.FormatUint(id, 10) + "]" }

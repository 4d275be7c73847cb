package qemu

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// console is how Run connects QEMU's console to Options' streams.
type console interface {
	// started is called after cmd.Start, successful or not: our copies
	// of the descriptors handed to QEMU are closed, so QEMU's exit ends
	// the streams.
	started()
	// run starts the copying; exited closes when QEMU has exited.
	run(exited <-chan struct{})
	// drain waits, after QEMU has exited, until its output is copied.
	drain()
	// close releases our ends.
	close()
	// outputErr is the first failure to write the application's output
	// to Options.Stdout or Stderr (e.g. stdout is /dev/full), or nil.
	outputErr() error
	// silent reports that QEMU's outputs carried no byte at all (not even
	// the firmware's banner): the machine never started.
	silent() bool
	// firstBytes says when the UART's first byte (the firmware's) and
	// the guest's first output byte were read; zero if not seen as they
	// came (a held log is read late).
	firstBytes() (uart, output time.Time)
}

// firstAt is when s read its first byte; zero if none (or s is nil).
func firstAt(s *outStream) time.Time {
	if s == nil || s.first.Load() == 0 {
		return time.Time{}
	}
	return time.Unix(0, s.first.Load())
}

// The UART carries both here: the banner, then the guest's output.
func (u *uartConsole) firstBytes() (uart, output time.Time) { return firstAt(u.out), time.Time{} }

func (a *appConsole) firstBytes() (uart, output time.Time) {
	output = firstAt(a.outs[0])
	if e := firstAt(a.outs[1]); output.IsZero() || !e.IsZero() && e.Before(output) {
		output = e
	}
	return firstAt(a.outs[2]), output
}

// uartConsole is the plain wiring (machine images): the UART on QEMU's
// stdio, the banner filtered out of stdout.
type uartConsole struct {
	o              Options
	pr, pw         *os.File // QEMU's stdout, our own pipe so reads can have deadlines
	relayR, relayW *os.File // non-terminal stdin, relayed once the console is up
	out            *outStream
	copied         chan struct{}
}

func newUARTConsole(cmd *exec.Cmd, o Options) (*uartConsole, error) {
	u := &uartConsole{o: o, copied: make(chan struct{})}
	// A terminal goes to QEMU as is, so QEMU can make it raw. Anything else
	// is relayed once the console is up: OpenSBI's UART init discards a
	// byte already received, which piped input would otherwise lose.
	if o.Stdin != nil && isTerminal(o.Stdin) {
		cmd.Stdin = o.Stdin
	} else if o.Stdin != nil {
		var err error
		if u.relayR, u.relayW, err = os.Pipe(); err != nil {
			return nil, fmt.Errorf("stdin relay pipe: %w", err)
		}
		cmd.Stdin = u.relayR
	}
	var err error
	if u.pr, u.pw, err = os.Pipe(); err != nil {
		u.started()
		u.close()
		return nil, fmt.Errorf("console pipe: %w", err)
	}
	cmd.Stdout = u.pw
	u.out = newOutStream(u.pr)
	return u, nil
}

func (u *uartConsole) started() {
	if u.pw != nil {
		u.pw.Close()
	}
	if u.relayR != nil {
		u.relayR.Close()
	}
}

func (u *uartConsole) run(exited <-chan struct{}) {
	up := make(chan struct{})
	go func() {
		copyConsole(u.out, newMarkerFilter(u.o.Stdout, u.o.Banner), up)
		close(u.copied)
	}()
	if u.relayW != nil {
		go func() {
			defer u.relayW.Close() // EOF for QEMU, as with a direct fd
			select {
			case <-up:
				io.Copy(u.relayW, u.o.Stdin)
			case <-exited:
			}
		}()
	}
}

func (u *uartConsole) outputErr() error { return nil }

func (u *uartConsole) silent() bool { return !u.out.got.Load() }

func (a *appConsole) silent() bool {
	for _, s := range a.outs {
		if s != nil && s.got.Load() {
			return false
		}
	}
	return !a.logGot.Load()
}

func (u *uartConsole) drain() {
	u.out.qemuExited()
	<-u.copied
}

func (u *uartConsole) close() {
	if u.pr != nil {
		u.pr.Close()
	}
	if u.relayW != nil {
		u.relayW.Close() // QEMU is gone: a relay still reading Stdin stops at its next write
	}
}

// appConsole wires an application on the stock kernel as
// kernel/console/doc.go describes: one socketpair per stream and one for
// the UART, QEMU's ends passed as FDStdin..FDLog; QEMU's own stdin and
// stdout are /dev/null.
type appConsole struct {
	o      Options
	ours   [4]*net.UnixConn // stdin, stdout, stderr, UART
	theirs [4]*os.File      // QEMU's ends, in ExtraFiles order
	outs   [3]*outStream    // stdout, stderr, UART
	// With Options.HeldLog, the UART is logFile (ours[3] and outs[2]
	// are nil): an unlinked file QEMU writes and we read at offsets.
	logFile *os.File
	logGot  atomic.Bool // logFile has had a byte
	copied  sync.WaitGroup
	errMu   sync.Mutex
	outErr  error // the first write failure of stdout or stderr
}

func (a *appConsole) outputErr() error {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	return a.outErr
}

func (a *appConsole) failed(stream string, err error) {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	if a.outErr == nil {
		a.outErr = fmt.Errorf("%s: %w", stream, err)
	}
}

func newAppConsole(cmd *exec.Cmd, o Options) (*appConsole, error) {
	a := &appConsole{o: o}
	for i := range a.ours {
		var err error
		if i == FDLog-FDStdin && o.HeldLog {
			a.logFile, a.theirs[i], err = logFilePair()
		} else {
			a.ours[i], a.theirs[i], err = socketPair()
		}
		if err != nil {
			a.started()
			a.close()
			return nil, fmt.Errorf("console for QEMU fd %d: %w", FDStdin+i, err)
		}
	}
	cmd.ExtraFiles = a.theirs[:] // fd 3 onwards, in FDStdin..FDLog order
	for i := range a.outs {
		if a.ours[1+i] != nil {
			a.outs[i] = newOutStream(a.ours[1+i])
		}
	}
	return a, nil
}

// logFilePair makes the held log's file: a temporary file, unlinked at
// once (nothing is left behind however runikraft ends), open for us to
// read and, a second descriptor, for QEMU to write (QEMU's fd set wants
// the access mode its file chardev opens with).
func logFilePair() (ours, theirs *os.File, err error) {
	ours, err = os.CreateTemp("", "runikraft-log-*")
	if err != nil {
		return nil, nil, err
	}
	theirs, err = os.OpenFile(ours.Name(), os.O_WRONLY, 0)
	os.Remove(ours.Name())
	if err != nil {
		ours.Close()
		return nil, nil, err
	}
	return ours, theirs, nil
}

// logPoll is how often a held log's file is read while QEMU runs, so the
// part already read can be given back to the filesystem.
const logPoll = time.Second

// copyLogFile copies the held log's file through the filter: what QEMU
// appended, once every logPoll and, after exited closes, to the end. The
// part read is punched out of the file (where the filesystem can), so a
// long run's log takes no more disk than an unread second of it.
func (a *appConsole) copyLogFile(f *markerFilter, exited <-chan struct{}) {
	buf := make([]byte, 32<<10)
	var off int64
	tick := time.NewTicker(logPoll)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-exited:
			done = true
		}
		start := off
		for {
			n, err := a.logFile.ReadAt(buf, off)
			if n > 0 {
				a.logGot.Store(true)
				f.Write(buf[:n])
				off += int64(n)
			}
			if err != nil || n == 0 {
				break
			}
		}
		if off > start {
			punchHole(a.logFile, off)
		}
	}
	f.End()
}

func (a *appConsole) started() {
	for _, f := range a.theirs {
		if f != nil {
			f.Close()
		}
	}
}

func (a *appConsole) run(exited <-chan struct{}) {
	in := a.ours[0]
	go func() {
		if a.o.Stdin != nil {
			io.Copy(in, a.o.Stdin)
		}
		// Only shutdown(SHUT_WR): QEMU reads to the end, then the guest
		// gets EOF. Closing would lose the unread tail (QEMU hangs up on
		// POLLHUP with data still buffered); close waits for QEMU's exit.
		in.CloseWrite()
	}()
	a.copied.Add(3)
	go func() {
		defer a.copied.Done()
		if err := copyPort(a.outs[0], a.ours[1], a.o.Stdout); err != nil {
			a.failed("stdout", err)
		}
	}()
	go func() {
		defer a.copied.Done()
		if err := copyPort(a.outs[1], a.ours[2], a.o.Stderr); err != nil {
			a.failed("stderr", err)
		}
	}()
	go func() {
		defer a.copied.Done()
		if a.logFile != nil {
			a.copyLogFile(newMarkerFilter(a.o.Log, a.o.Banner), exited)
			return
		}
		copyConsole(a.outs[2], newMarkerFilter(a.o.Log, a.o.Banner), nil)
	}()
}

func (a *appConsole) drain() {
	for _, s := range a.outs {
		if s != nil {
			s.qemuExited()
		}
	}
	a.copied.Wait()
}

func (a *appConsole) close() {
	for _, c := range a.ours {
		if c != nil {
			c.Close()
		}
	}
	if a.logFile != nil {
		a.logFile.Close()
	}
}

// copyPort copies an output port's socket to w until EOF, byte for byte.
// If w fails (say our stdout is /dev/full or a pipe nobody reads) it
// hangs up instead and returns the error: QEMU then closes the port
// (virtio-console PORT_OPEN 0), so the guest's next writes fail as the
// application's would on Linux, rather than stall or vanish.
func copyPort(s *outStream, c io.Closer, w io.Writer) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := s.read(buf, 0)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				c.Close()
				return werr
			}
		}
		if err != nil {
			return nil
		}
	}
}

type deadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// errDrainTimeout ends a stream that QEMU's exit did not end.
var errDrainTimeout = errors.New("no end of file after QEMU exited")

// outStream reads one of QEMU's outputs. While QEMU runs a read waits as
// long as it takes (or the hold time asked for). Once QEMU has exited all
// it wrote is buffered, so a read that waits killDelay means something
// else holds QEMU's end open, and the stream ends there. The bound is per
// read, so a slow reader of our output loses nothing.
type outStream struct {
	r    deadlineReader
	mu   sync.Mutex // orders gone and the deadlines of read and qemuExited
	gone bool
	got  atomic.Bool // a byte has been read
	// first is when the first byte was read (Unix nanoseconds), for
	// the host timeline --debug prints.
	first atomic.Int64
}

func newOutStream(r deadlineReader) *outStream { return &outStream{r: r} }

// read reads into p. It returns os.ErrDeadlineExceeded if hold (if
// non-zero) passes without data while QEMU runs, errDrainTimeout as above.
func (s *outStream) read(p []byte, hold time.Duration) (int, error) {
	for {
		s.mu.Lock()
		gone := s.gone
		var d time.Time
		if gone {
			d = time.Now().Add(killDelay)
		} else if hold > 0 {
			d = time.Now().Add(hold)
		}
		s.r.SetReadDeadline(d)
		s.mu.Unlock()
		n, err := s.r.Read(p)
		if n > 0 && s.got.CompareAndSwap(false, true) {
			s.first.Store(time.Now().UnixNano())
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		s.mu.Lock()
		exited := s.gone
		s.mu.Unlock()
		switch {
		case gone || exited && hold == 0:
			return n, errDrainTimeout // the only deadline was the drain's
		case !exited:
			return n, err // the hold
		}
		// The hold or qemuExited's deadline; the next read tells.
	}
}

// qemuExited bounds the current read and all that follow.
func (s *outStream) qemuExited() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone = true
	s.r.SetReadDeadline(time.Now().Add(killDelay))
}

// lockedWriter serialises the writes of Run's goroutines to one writer
// (QEMU's stderr, the app's stderr and the kernel's log usually share one).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serialize wraps the writers ws point to in lockedWriters, one per
// distinct writer, so one given twice gets one lock. nil stays nil.
func serialize(ws ...*io.Writer) {
	var locks []*lockedWriter
next:
	for _, p := range ws {
		if *p == nil {
			continue
		}
		for _, l := range locks {
			if sameWriter(l.w, *p) {
				*p = l
				continue next
			}
		}
		l := &lockedWriter{w: *p}
		locks = append(locks, l)
		*p = l
	}
}

// sameWriter compares pointers only: == on other dynamic types can panic,
// and writers shared between goroutines are pointers in practice.
func sameWriter(a, b io.Writer) bool {
	t := reflect.TypeOf(a)
	return t == reflect.TypeOf(b) && t.Kind() == reflect.Pointer && a == b
}

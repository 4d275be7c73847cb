package qemu

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Options says how to run QEMU.
type Options struct {
	Path string   // QEMU executable (see Find)
	Args []string // usually Args(cfg)
	// AppConsole must be set when Args came from a Config with
	// AppConsole: Run then makes the console sockets QEMU expects.
	AppConsole bool
	// HeldLog must be set when Args came from a Config with HeldLog:
	// Run then gives QEMU a file for the UART instead of a socket, and
	// Log gets what QEMU wrote to it once a second and at the end.
	HeldLog bool
	// Stdin is the guest's input; nil is /dev/null. On the UART a
	// terminal is handed to QEMU as is, so QEMU makes it raw. With
	// AppConsole it is copied into the stdin port up to end of file,
	// a terminal too (left in its mode, so ^D ends the input and ^C is
	// SIGINT, as for any program reading a terminal); the copy may go on
	// reading Stdin after Run returns.
	Stdin  *os.File
	Stdout io.Writer // the guest's console output; with AppConsole the application's stdout alone
	Stderr io.Writer // QEMU's own messages; with AppConsole also the application's stderr
	Log    io.Writer // with AppConsole, the kernel's log (the UART after the marker); nil is Stderr
	Banner io.Writer // OpenSBI's boot banner; nil discards it
	// Timeout stops QEMU after this long; 0 is no limit.
	Timeout time.Duration
}

// Result says how QEMU ended.
type Result struct {
	// ExitCode is QEMU's exit status, which is the guest's when it powers
	// off through the test finisher; -1 if QEMU was killed by a signal.
	ExitCode int
	// Signal is the signal that ended QEMU: one that killed it, one we
	// forwarded to it, or one it reported terminating on (QEMU exits 0 on
	// SIGINT/SIGTERM/SIGHUP, so the status alone would hide it). 0 if none.
	Signal syscall.Signal
	// Forwarded is set when Signal was forwarded by Run from our process.
	Forwarded bool
	// TimedOut is set when Options.Timeout expired and QEMU was stopped.
	TimedOut bool
	// Silent is set when QEMU printed nothing on the console, not even the
	// firmware's banner: the machine never ran (say --qemu names a program
	// that is not QEMU).
	Silent bool
	// OutputErr is the first failure to write the application's stdout
	// or stderr on the host (AppConsole only): its output was lost.
	OutputErr error
	// QEMUError is the last error QEMU printed about itself (without the
	// "qemu-system-riscv64: " prefix), which tells a QEMU failure from a
	// guest exiting 1.
	QEMUError string
	// Timeline: when QEMU was started and was seen to exit, when the
	// UART's first byte (the firmware's banner) and the application's
	// first output byte (AppConsole) were read; zero if not seen as
	// they came. CPU is QEMU's host CPU time (user and system).
	Started, FirstUART, FirstOutput, Exited time.Time
	CPU                                     time.Duration
}

const (
	// After SIGTERM (timeout, cancellation) QEMU gets this long to exit
	// before SIGKILL.
	killDelay = 2 * time.Second
	// Withheld console bytes (possible banner) are released as guest output
	// after this much silence. It only matters for a firmware whose banner
	// does not end as OpenSBI 1.x's does; a loaded host can stall QEMU
	// mid-banner for a while, so this is generous.
	holdTimeout = 5 * time.Second
)

// Find resolves the QEMU executable: path if non-empty (searched in PATH
// when it has no slash), else DefaultBinary in PATH.
func Find(path string) (string, error) {
	if path == "" {
		path = DefaultBinary
	}
	return exec.LookPath(path)
}

// Run starts QEMU, wires the console, forwards SIGINT/SIGTERM/SIGHUP to
// it, enforces the timeout and waits, and returns once QEMU's output has
// been copied. The error is non-nil only if QEMU could not be started or
// waited for; how QEMU ended is in Result. The writers are written from
// several goroutines; Run serialises the writes to each.
func Run(ctx context.Context, o Options) (Result, error) {
	parent := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Log == nil {
		o.Log = o.Stderr
	}
	serialize(&o.Stdout, &o.Stderr, &o.Log, &o.Banner)

	stderr := &stderrWatcher{out: o.Stderr, prefix: filepath.Base(o.Path) + ": "}
	cmd := exec.CommandContext(ctx, o.Path, o.Args...)
	cmd.Stderr = stderr
	cmd.Cancel = func() error {
		// A TERM lets QEMU restore the terminal; it then says why it
		// stopped, which is noise next to our own timeout message.
		stderr.quiet.Store(true)
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	cmd.WaitDelay = killDelay
	setSysProcAttr(cmd, o.AppConsole)

	var con console
	var err error
	if o.AppConsole {
		con, err = newAppConsole(cmd, o)
	} else {
		con, err = newUARTConsole(cmd, o)
	}
	if err != nil {
		return Result{}, err
	}
	defer con.close()

	restore := saveTerminal(o.Stdin)
	defer restore()

	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigc)

	started := time.Now()
	err = cmd.Start()
	con.started() // QEMU has its own copies now (or none: it did not start)
	if err != nil {
		return Result{}, err
	}

	exited := make(chan struct{})
	con.run(exited)

	var forwarded atomic.Int32
	go func() {
		for {
			select {
			case s := <-sigc:
				stderr.quiet.Store(true)
				forwarded.CompareAndSwap(0, int32(s.(syscall.Signal)))
				cmd.Process.Signal(s)
			case <-exited:
				return
			}
		}
	}()

	werr := cmd.Wait()
	exitedAt := time.Now()
	close(exited)
	con.drain()
	if len(stderr.buf) > 0 { // an unterminated last line; Wait has drained the pipe
		stderr.line(stderr.buf)
	}
	if cmd.ProcessState == nil {
		return Result{}, werr
	}

	res := Result{ExitCode: cmd.ProcessState.ExitCode(), QEMUError: stderr.lastError, OutputErr: con.outputErr(), Silent: con.silent(),
		Started: started, Exited: exitedAt, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	res.FirstUART, res.FirstOutput = con.firstBytes()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		res.Signal = ws.Signal()
	case forwarded.Load() != 0:
		res.Signal, res.Forwarded = syscall.Signal(forwarded.Load()), true
	case stderr.termSignal != 0:
		res.Signal = stderr.termSignal
	}
	res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil
	return res, nil
}

// copyConsole copies the UART's output through the banner filter until
// EOF, releasing withheld bytes after holdTimeout of silence. It closes up
// (if not nil) at the first byte: the firmware prints only after it has
// initialised the UART.
func copyConsole(s *outStream, f *markerFilter, up chan<- struct{}) {
	buf := make([]byte, 32<<10)
	defer func() {
		if up != nil {
			close(up)
		}
	}()
	for {
		var hold time.Duration
		if f.holding() {
			hold = holdTimeout
		}
		n, err := s.read(buf, hold)
		if n > 0 {
			if up != nil {
				close(up)
				up = nil
			}
			f.Write(buf[:n])
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			f.Flush()
			continue
		}
		if err != nil {
			f.End()
			return
		}
	}
}

// stderrWatcher passes QEMU's stderr through line by line, noting QEMU's
// own error messages and the signal it says it terminated on.
type stderrWatcher struct {
	out        io.Writer
	prefix     string      // "qemu-system-riscv64: "
	quiet      atomic.Bool // we signalled QEMU: hide "terminating on signal"
	buf        []byte
	lastError  string
	termSignal syscall.Signal
}

func (w *stderrWatcher) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 4096 { // not line-oriented output; don't hoard it
		w.out.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *stderrWatcher) line(l []byte) {
	if msg, ok := strings.CutPrefix(strings.TrimRight(string(l), "\r\n"), w.prefix); ok {
		if rest, ok := strings.CutPrefix(msg, "terminating on signal "); ok {
			num, _, _ := strings.Cut(rest, " ")
			if n, err := strconv.Atoi(num); err == nil {
				w.termSignal = syscall.Signal(n)
			}
			if w.quiet.Load() {
				return
			}
		} else if !strings.HasPrefix(msg, "warning:") {
			w.lastError = msg
		}
	}
	w.out.Write(l)
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/runikraft/runikraft/kernel/abi"
)

// The kernel's log (the UART of an application run on the stock kernel:
// notices such as an unsupported system call, crash reports, --strace
// lines) stays out of the application's stdout and stderr, which pass
// through byte for byte. It goes to --log FILE, or to runikraft's stderr
// with --debug or --strace; otherwise runikraft holds it and shows it
// after the application's output only when the kernel ended the run
// (the application was killed or could not be loaded), since it then
// says why. For another failing status it prints one line saying that
// the kernel logged something and how to see it.

const (
	logUsage = "write the kernel's log (unsupported system calls, crash reports, --strace lines) to `FILE` (- is stderr); " +
		"without it the log is shown on stderr only with --debug or --strace, or when the kernel ends the run"
	// maxHeld bounds what runikraft keeps of a log it may never show;
	// past it the oldest lines go (a crash report comes last).
	maxHeld = 256 << 10
)

type kernelLog struct {
	w    io.Writer // where the log goes live; nil: held
	file *os.File  // --log FILE, closed by close
	held heldLog
	// noNote: no line about a held log for a failing status. Through
	// binfmt_misc the program runs for another one (a test script) that
	// may compare its stderr: a failing status is then ordinary.
	noNote bool
}

// openKernelLog decides where the log goes from --log, --debug and
// --strace.
func openKernelLog(path string, showLive bool, stderr io.Writer) (*kernelLog, error) {
	switch {
	case path == "-":
		return &kernelLog{w: stderr}, nil
	case path != "":
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("--log: %w", err)
		}
		return &kernelLog{w: f, file: f}, nil
	case showLive:
		return &kernelLog{w: stderr}, nil
	}
	return &kernelLog{}, nil
}

// writer is what QEMU's UART output goes to.
func (l *kernelLog) writer() io.Writer {
	if l.w != nil {
		return l.w
	}
	return &l.held
}

// finish shows a held log if the exit status says the kernel ended the
// run, else notes that there is one; it closes --log's file.
func (l *kernelLog) finish(code int, timedOut bool, stderr io.Writer) error {
	if l.file != nil {
		return l.file.Close()
	}
	if l.w != nil {
		return nil
	}
	data, lines, dropped := l.held.contents()
	switch {
	case lines == 0:
	case timedOut || kernelEnded(code):
		if dropped {
			fmt.Fprintln(stderr, "runikraft: (the kernel's log was long; its end follows)")
		}
		stderr.Write(data)
	case code != 0 && !l.noNote:
		fmt.Fprintf(stderr, "runikraft: note: the kernel logged %d line(s) during the run; runikraft run --debug or --log FILE shows them\n", lines)
	}
	return nil
}

// kernelEnded reports whether status is one the kernel gives when it
// ends the application (a fatal signal, 128+N; an application it cannot
// load, 126) or fails itself.
func kernelEnded(code int) bool {
	return code >= 126 || code == abi.ExitKernelPanic || code == abi.ExitSyscallBug || code == abi.ExitBadImage
}

// heldLog keeps the last maxHeld bytes of the log, whole lines.
type heldLog struct {
	mu      sync.Mutex
	buf     []byte
	lines   int
	dropped bool
}

func (h *heldLog) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf = append(h.buf, p...)
	h.lines += bytes.Count(p, []byte("\n"))
	if len(h.buf) > maxHeld {
		cut := len(h.buf) - maxHeld/2
		if i := bytes.IndexByte(h.buf[cut:], '\n'); i >= 0 {
			cut += i + 1
		}
		h.buf = append(h.buf[:0], h.buf[cut:]...)
		h.dropped = true
	}
	return len(p), nil
}

func (h *heldLog) contents() (data []byte, lines int, dropped bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.lines
	if len(h.buf) > 0 && h.buf[len(h.buf)-1] != '\n' {
		n++
	}
	return h.buf, n, h.dropped
}

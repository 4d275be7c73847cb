//go:build riscv64

package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/runikraft/runikraft/kernel/drivers/uart"
	vconsole "github.com/runikraft/runikraft/kernel/drivers/virtio/console"
	"github.com/runikraft/runikraft/kernel/hart"
)

// Port names the host side gives the three streams.
const (
	StdinPort  = "runikraft.stdin"
	StdoutPort = "runikraft.stdout"
	StderrPort = "runikraft.stderr"
)

type streams struct {
	stdin          io.Reader
	stdinEOF       bool
	stdout, stderr io.Writer
	// desc says where each stream goes, for Describe (--debug). It is
	// formatted only when asked: the ports' String uses fmt, whose code
	// a boot otherwise never runs (QEMU translates what runs).
	desc [3]func() string
}

// choose picks each stream's device, once: the virtio-console port of
// that name if the machine has one, the UART otherwise. A virtio-console
// device that fails to start is reported on the log and left out.
var choose = sync.OnceValue(func() *streams {
	s := &streams{}
	logged := false
	port := func(name string) *vconsole.Port {
		p, err := vconsole.Open(name)
		switch {
		case err == nil:
			return p
		case errors.Is(err, vconsole.ErrNoDevice), errors.Is(err, vconsole.ErrNoPort):
		case !logged: // the device's failure is the same for each port
			logged = true
			fmt.Fprintf(Log(), "runikraft: console: %v; using the UART\n", err)
		}
		return nil
	}
	if p := port(StdinPort); p != nil {
		s.stdin, s.desc[0], s.stdinEOF = p, p.String, true
	} else if uart.Present() {
		s.stdin, s.desc[0] = uartIn{}, func() string { return uart.Describe() + " (no end of file)" }
	} else {
		err := uart.ErrNoUART
		s.stdin, s.desc[0] = errReader{fmt.Errorf("console: stdin: %w", err)}, func() string { return "none (" + err.Error() + ")" }
	}
	for i, w := range []struct {
		name string
		dst  *io.Writer
	}{{StdoutPort, &s.stdout}, {StderrPort, &s.stderr}} {
		if p := port(w.name); p != nil {
			*w.dst, s.desc[1+i] = p, p.String
		} else {
			*w.dst, s.desc[1+i] = &uartOut, func() string { return "UART" }
		}
	}
	return s
})

// uartOut is the application's stdout and stderr on the UART: the hart
// layer's polled writes, called directly rather than through the
// kernel's own os.Stdout (os.File, the poller's locks, a system-call
// trap per write), one write at a time so that the two streams' writes
// do not interleave byte by byte.
var uartOut uartWriter

type uartWriter struct{ mu sync.Mutex }

func (w *uartWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	hart.ConsoleWrite(p)
	w.mu.Unlock()
	return len(p), nil
}

// Stdin is the application's standard input: the virtio-console port
// runikraft.stdin, or the UART. Only the port has an end of file.
func Stdin() io.Reader { return choose().stdin }

// StdinHasEOF reports whether Stdin ends (io.EOF when the host closes
// it). On the UART it never does, so a program must find the end of its
// input in the data.
func StdinHasEOF() bool { return choose().stdinEOF }

// Stdout is the application's standard output: the virtio-console port
// runikraft.stdout, or the UART.
func Stdout() io.Writer { return choose().stdout }

// Stderr is the application's standard error: the virtio-console port
// runikraft.stderr, or the UART.
func Stderr() io.Writer { return choose().stderr }

// Log is for the kernel's messages to the operator: always the UART,
// next to the firmware's banner, never mixed into the application's
// output.
func Log() io.Writer { return os.Stderr }

// Describe says where each stream goes, e.g.
// `stdin: virtio-console port 1 "runikraft.stdin" (virtio-mmio slot 7 irq 8); stdout: ...; stderr: UART`.
func Describe() string {
	s := choose()
	var b strings.Builder
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name + ": " + s.desc[i]())
	}
	return b.String()
}

// uartIn is the application's stdin on the UART. The receiver (its
// interrupt and its goroutine) starts on the first read, which posix
// makes only when the application reads or polls stdin: most programs
// never do, and their boot need not run the receiver's code. Input that
// arrives before stays in the UART's FIFO, and QEMU holds back the rest
// until there is room.
type uartIn struct{}

func (uartIn) Read(p []byte) (int, error) {
	u, err := uart.Open()
	if err != nil {
		return 0, fmt.Errorf("console: stdin: %w", err)
	}
	return u.Read(p)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

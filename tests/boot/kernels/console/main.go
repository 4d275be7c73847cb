//go:build riscv64

// Command console is a kernel image that checks the application's
// standard streams (package kernel/console). It reads stdin to the end —
// end of file on the virtio-console port, a line "END" on the UART, which
// has no end of file — then writes to stdout
//
//	sha256=<hex of the input> len=<bytes>
//
// followed by the input, verbatim, writes "to-stderr\n" to stderr, and
// exits 0. On the kernel log (the UART) it says where the streams go and
// how fast the echo was. It exits 1 if stdin fails.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	_ "github.com/runikraft/runikraft/kernel"
	"github.com/runikraft/runikraft/kernel/console"
)

func main() {
	log := console.Log()
	fmt.Fprintf(log, "console: %s\n", console.Describe())

	start := time.Now()
	in, err := readInput(console.Stdin(), console.StdinHasEOF())
	if err != nil {
		fmt.Fprintf(log, "console: FAIL reading stdin: %v\n", err)
		os.Exit(1)
	}
	readTook := time.Since(start)

	out := console.Stdout()
	sum := sha256.Sum256(in)
	if _, err := fmt.Fprintf(out, "sha256=%x len=%d\n", sum, len(in)); err != nil {
		fmt.Fprintf(log, "console: FAIL writing stdout: %v\n", err)
		os.Exit(1)
	}
	start = time.Now()
	if _, err := out.Write(in); err != nil {
		fmt.Fprintf(log, "console: FAIL writing stdout: %v\n", err)
		os.Exit(1)
	}
	writeTook := time.Since(start)
	if _, err := io.WriteString(console.Stderr(), "to-stderr\n"); err != nil {
		fmt.Fprintf(log, "console: FAIL writing stderr: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(log, "console: read %d bytes in %v (%s), echoed in %v (%s)\n",
		len(in), readTook.Round(time.Microsecond), rate(len(in), readTook),
		writeTook.Round(time.Microsecond), rate(len(in), writeTook))
}

// readInput reads r to end of file, or, without one, up to a line "END"
// (ended by \n or \r: a terminal sends \r for Enter), which is left out.
func readInput(r io.Reader, hasEOF bool) ([]byte, error) {
	if hasEOF {
		return io.ReadAll(r)
	}
	var in []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		in = append(in, buf[:n]...)
		if i := endLine(in); i >= 0 {
			return in[:i], nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("end of file before the line END")
			}
			return nil, err
		}
	}
}

// endLine returns where a line "END" starts in b, or -1.
func endLine(b []byte) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte("END"))
		if i < 0 {
			return -1
		}
		i += off
		atStart := i == 0 || b[i-1] == '\n' || b[i-1] == '\r'
		if atStart && i+3 < len(b) && (b[i+3] == '\n' || b[i+3] == '\r') {
			return i
		}
		off = i + 1
	}
}

func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f MiB/s", float64(n)/(1<<20)/d.Seconds())
}

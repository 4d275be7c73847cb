package qemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi"
)

// fakeQEMU writes a shell script to stand in for QEMU; with AppConsole
// it finds the console sockets on fds 3-6 as QEMU would.
func fakeQEMU(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fakeqemu")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

type appRun struct {
	res                         Result
	stdout, stderr, log, banner string
	took                        time.Duration
}

func runApp(t *testing.T, script string, stdin *os.File) appRun {
	t.Helper()
	var stdout, stderr, log, banner bytes.Buffer
	start := time.Now()
	res, err := Run(context.Background(), Options{
		Path: fakeQEMU(t, script), Args: Args(Config{Kernel: "k", AppConsole: true}), AppConsole: true,
		Stdin: stdin, Stdout: &stdout, Stderr: &stderr, Log: &log, Banner: &banner,
		Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return appRun{res, stdout.String(), stderr.String(), log.String(), banner.String(), time.Since(start)}
}

// Each stream goes its own way byte for byte, stdin ends with EOF, QEMU's
// own stdin and stdout are /dev/null, and the UART is banner, marker, log.
func TestAppConsoleStreams(t *testing.T) {
	input := make([]byte, 1<<20)
	rand.Read(input)
	input = append(input, "\r\n\x00\x1b\x03\x04\x01"...)
	if abi.ConsoleMarker != "\x1b]0;runikraft\x07" {
		t.Fatalf("the script below spells out an old marker; now %q", abi.ConsoleMarker)
	}
	in, err := os.Open(writeFile(t, "input", input))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r := runApp(t, `
stdio=$(readlink /proc/$$/fd/0 /proc/$$/fd/1) # before any redirection: sh's own
echo "$stdio" >&5
cat <&3 >&4
printf '\r\nOpenSBI v9\r\n\033]0;runikraft\007runikraft: kernel log\n' >&6
printf 'to-stderr\n' >&5
exit 3
`, in)
	if r.res.ExitCode != 3 || r.res.Signal != 0 || r.res.QEMUError != "" {
		t.Errorf("result %+v, want exit 3", r.res)
	}
	if r.stdout != string(input) {
		t.Errorf("stdout: %d bytes, want the %d input bytes back", len(r.stdout), len(input))
	}
	if want := "/dev/null\n/dev/null\nto-stderr\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if r.log != "runikraft: kernel log\n" || r.banner != "\r\nOpenSBI v9\r\n" {
		t.Errorf("log %q, banner %q", r.log, r.banner)
	}
}

// A guest that ignores its input must not hold Run up, whether the input
// is more than the socket buffers or never ends.
func TestAppConsoleUnreadStdin(t *testing.T) {
	big := make([]byte, 4<<20)
	f, err := os.Open(writeFile(t, "big", big))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r := runApp(t, "printf out >&4; exit 0\n", f); r.stdout != "out" || r.res.ExitCode != 0 {
		t.Errorf("big input: result %+v, stdout %q", r.res, r.stdout)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	if r := runApp(t, "printf out >&4; exit 0\n", pr); r.stdout != "out" || r.res.ExitCode != 0 {
		t.Errorf("endless input: result %+v, stdout %q", r.res, r.stdout)
	}
}

// If something outlives QEMU holding its end of a port, Run still
// returns, with what QEMU wrote.
func TestAppConsoleDrainBounded(t *testing.T) {
	r := runApp(t, `
sleep 20 </dev/null >/dev/null 2>&1 3>&- 5>&- 6>&- &
echo $! >&6
printf 'out' >&4
exit 0
`, nil)
	if pid, err := strconv.Atoi(strings.TrimSpace(r.log + r.banner)); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
	if r.stdout != "out" || r.res.ExitCode != 0 {
		t.Errorf("result %+v, stdout %q", r.res, r.stdout)
	}
	if r.took > 2*killDelay+3*time.Second {
		t.Errorf("Run took %v", r.took)
	}
}

// QEMU's complaints still reach Stderr and Result, and the timeout works.
func TestAppConsoleQEMUErrorAndTimeout(t *testing.T) {
	r := runApp(t, "echo 'fakeqemu: chardev: no such fd' >&2; exit 1\n", nil)
	if r.res.ExitCode != 1 || r.res.QEMUError != "chardev: no such fd" || r.stderr != "fakeqemu: chardev: no such fd\n" {
		t.Errorf("result %+v, stderr %q", r.res, r.stderr)
	}

	var stderr bytes.Buffer
	res, err := Run(context.Background(), Options{
		Path: fakeQEMU(t, "exec sleep 30\n"), Args: Args(Config{Kernel: "k", AppConsole: true}), AppConsole: true,
		Stderr: &stderr, Timeout: 300 * time.Millisecond,
	})
	if err != nil || !res.TimedOut {
		t.Errorf("Run = %+v, %v; want TimedOut", res, err)
	}
}

// Writers given twice share one lock; others get their own.
func TestSerialize(t *testing.T) {
	var a, b bytes.Buffer
	w1, w2, w3, w4 := io.Writer(&a), io.Writer(&b), io.Writer(&a), io.Writer(nil)
	serialize(&w1, &w2, &w3, &w4)
	if w1 != w3 || w1 == w2 || w4 != nil {
		t.Errorf("serialize: %p %p %p %v", w1, w2, w3, w4)
	}
	d1, d2 := io.Discard, io.Discard
	serialize(&d1, &d2) // not pointers: must not panic
}

// With HeldLog the UART is a file QEMU writes (fd 6): what it wrote
// reaches Log through the same filters, whether read by a poll during the
// run or after QEMU's exit, and a run whose only output is the log is not
// taken for one where the machine never started.
func TestAppConsoleHeldLog(t *testing.T) {
	if abi.ConsoleMarker != "\x1b]0;runikraft\x07" {
		t.Fatalf("the script below spells out an old marker; now %q", abi.ConsoleMarker)
	}
	var stdout, stderr, log, banner bytes.Buffer
	script := `
printf '\r\nOpenSBI v9\r\n\033]0;runikraft\007first\n' >&6
sleep 1.5
i=0
while [ $i -lt 2000 ]; do echo "line $i of the kernel log" >&6; i=$((i+1)); done
exit 3
`
	cfg := Config{Kernel: "k", AppConsole: true, HeldLog: true}
	res, err := Run(context.Background(), Options{
		Path: fakeQEMU(t, script), Args: Args(cfg), AppConsole: true, HeldLog: true,
		Stdout: &stdout, Stderr: &stderr, Log: &log, Banner: &banner, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 3 || res.Silent || stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("result %+v, stdout %q, stderr %q; want exit 3, not silent, no output", res, stdout.String(), stderr.String())
	}
	var want strings.Builder
	want.WriteString("first\n")
	for i := range 2000 {
		want.WriteString("line " + strconv.Itoa(i) + " of the kernel log\n")
	}
	if log.String() != want.String() || banner.String() != "\r\nOpenSBI v9\r\n" {
		t.Errorf("log: %d bytes, want %d; banner %q", log.Len(), want.Len(), banner.String())
	}
}

package app

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Output that must not go missing (testdata/c/output.c).

// writev of one 4 MiB iovec to a pipe, a file and stdout returns a
// positive count each time, never 0 (musl's fwrite would loop forever).
func TestWritevLargeIovec(t *testing.T) {
	r := run(t, nil, "c-output", "writev")
	if r.Code != 0 || strings.Count(r.Stderr, "returned a positive count") != 3 {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if len(r.Stdout) == 0 || strings.Trim(r.Stdout, "x") != "" {
		t.Errorf("stdout: %d bytes, not all the program's", len(r.Stdout))
	}
}

// runikraft run > /dev/full, or into a pipe nobody reads: the program's
// writes fail (EIO reaches it) and runikraft run exits non-zero with a
// message.
func TestStdoutToDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	stdoutFails(t, full, "no space left on device")
}

func TestStdoutToClosedPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	stdoutFails(t, w, "broken pipe")
}

func stdoutFails(t *testing.T, stdout *os.File, hostErr string) {
	t.Helper()
	cmd := exec.Command(runikraft, "run", "--timeout", "3m", programs["c-output"], "full")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("runikraft run > /dev/full: %v (want a non-zero exit); stderr %q", err, stderr.String())
	}
	t.Logf("exit %d, stderr %q", ee.ExitCode(), stderr.String())
	if !strings.Contains(stderr.String(), "stdout: write failed: Input/output error") {
		t.Errorf("the program did not see its writes fail: %q", stderr.String())
	}
	if !strings.Contains(stderr.String(), "runikraft: the application's output could not be written (stdout: write /dev/stdout: "+hostErr+")") {
		t.Errorf("no message from runikraft run: %q", stderr.String())
	}
}

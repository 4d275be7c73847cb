package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/internal/payload"
)

// An application IMAGE runs on the stock kernel with its own streams;
// these tests check that wiring, first with a fake QEMU, then for real.

// appImage is a riscv64 ELF that kernelFor takes for an application: its
// segment is linked below RAM.
func appImage(t *testing.T) string {
	img := payload.PrintAndExit("", 0)
	binary.LittleEndian.PutUint64(img[64+16:], 0x10000) // p_vaddr
	return writeFile(t, "app", img, 0o755)
}

func TestDryRunApp(t *testing.T) {
	q := fakeQEMU(t, "exit 99\n")
	kernel, app := image(t, payload.PrintAndExit("", 0)), appImage(t)
	ports := " -serial chardev:rklog -device virtio-serial-device,max_ports=4" +
		" -chardev socket,id=rkin,fd=3 -device virtserialport,chardev=rkin,name=runikraft.stdin" +
		" -chardev socket,id=rkout,fd=4 -device virtserialport,chardev=rkout,name=runikraft.stdout" +
		" -chardev socket,id=rkerr,fd=5 -device virtserialport,chardev=rkerr,name=runikraft.stderr" +
		" -m 512M -smp 1 -kernel " + kernel + " -initrd " + app + " -append "
	// The kernel's log, shown only at the end, is a file QEMU writes;
	// shown as it comes (--log, --debug, --strace), a socket.
	for _, tc := range []struct {
		flags []string
		uart  string
	}{
		{nil, " -add-fd fd=6,set=1 -chardev file,id=rklog,path=/dev/fdset/1"},
		{[]string{"--log", "-"}, " -chardev socket,id=rklog,fd=6"},
	} {
		args := append(append([]string{"run", "--dry-run", "--kernel", kernel}, tc.flags...), app)
		code, out, errs := runCLI(t, args...)
		want := q + " -M virt -bios default -nodefaults -display none -monitor none" + tc.uart + ports
		if code != 0 || !strings.HasPrefix(out, want) || errs != "" {
			t.Errorf("dry run %q: code %d\nstdout %q\nwant   %q...\nstderr %q", tc.flags, code, out, want, errs)
		}
	}
	// No temporary directory to make the file in: the socket.
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "gone"))
	code, out, errs := runCLI(t, "run", "--dry-run", "--kernel", kernel, app)
	if want := " -monitor none -chardev socket,id=rklog,fd=6 -serial"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("dry run with TMPDIR missing: code %d\nstdout %q\nwant it to hold %q\nstderr %q", code, out, want, errs)
	}
}

// The fake QEMU plays the stock kernel on fds 3-6.
func TestAppWiringFakeQEMU(t *testing.T) {
	kernel, app := image(t, payload.PrintAndExit("", 0)), appImage(t)
	for _, tc := range []struct {
		name, script string
		code         int
		stdout       string
		stderr       []string // in any order: the streams are copied apart
	}{
		{"streams", "cat <&3 >&4; printf 'out' >&4; printf 'err\\n' >&5\n" +
			"printf '\\r\\nOpenSBI v1\\r\\n\\033]0;runikraft\\007runikraft: log\\n' >&6; exit 42\n",
			42, "out", []string{"err\n", "runikraft: note: the kernel logged 1 line(s) during the run; runikraft run --debug or --log FILE shows them\n"}},
		// A status the kernel gives when it ends the application: its
		// log (the report) follows the application's stderr.
		{"killed by the kernel", "printf 'err\n' >&5\n" +
			"printf '\r\nOpenSBI v1\r\n\033]0;runikraft\007runikraft: app killed\n' >&6; exit 139\n",
			139, "", []string{"err\n", "runikraft: app killed\n"}},
		{"success", "printf 'err\n' >&5; printf '\033]0;runikraft\007runikraft: notice\n' >&6; exit 0\n",
			0, "", []string{"err\n"}},
		{"qemu error", "echo \"fakeqemu: chardev: bad fd\" >&2; exit 1\n", 1, "",
			[]string{"fakeqemu: chardev: bad fd\nrunikraft: fakeqemu failed (exit status 1, a QEMU error, not the guest's): chardev: bad fd\n"}},
		{"killed", "kill -KILL $$\n", 128 + 9, "", []string{"runikraft: fakeqemu ended by signal 9 (killed)\n"}},
	} {
		fakeQEMU(t, tc.script)
		code, out, errs := runCLI(t, "run", "--kernel", kernel, app)
		rest := errs
		for _, s := range tc.stderr {
			rest = strings.Replace(rest, s, "", 1)
		}
		if code != tc.code || out != tc.stdout || rest != "" {
			t.Errorf("%s: code %d, stdout %q, stderr %q; want %d, %q, %q", tc.name, code, out, errs, tc.code, tc.stdout, tc.stderr)
		}
	}
}

// stock is the stock kernel and the test app, built once.
var stock struct {
	once        sync.Once
	dir         string
	kernel, app string
	err         error
}

func removeStock() {
	if stock.dir != "" {
		os.RemoveAll(stock.dir)
	}
}

func needStock(t *testing.T) (kernel, app string) {
	t.Helper()
	needQEMU(t)
	stock.once.Do(func() {
		if stock.dir, stock.err = os.MkdirTemp("", "runikraft-stock-"); stock.err != nil {
			return
		}
		var log bytes.Buffer
		stock.kernel = filepath.Join(stock.dir, "runikraft-kernel.img")
		if _, err := kbuild.Build(context.Background(), kbuild.Options{
			Dir: ".", Pkg: "github.com/runikraft/runikraft/kernel/cmd/kernel", Out: stock.kernel, Stderr: &log,
		}); err != nil {
			stock.err = fmt.Errorf("%v\n%s", err, log.Bytes())
			return
		}
		stock.app = filepath.Join(stock.dir, "streamapp")
		cmd := exec.Command("go", "build", "-o", stock.app, "./testdata/streamapp")
		cmd.Env = kbuild.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			stock.err = fmt.Errorf("build streamapp: %v\n%s", err, out)
		}
	})
	if stock.err != nil {
		t.Fatal(stock.err)
	}
	return stock.kernel, stock.app
}

type appResult struct {
	code           int
	stdout, stderr string
}

// runApp runs the CLI as its own process: stdin is a real file or pipe,
// as under go test -exec.
func runApp(t *testing.T, stdin io.Reader, args ...string) appResult {
	t.Helper()
	kernel, app := needStock(t)
	cmd := cliCommand(append([]string{"run", "--timeout", "2m", "--kernel", kernel, app}, args...)...)
	cmd.Stdin = stdin
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return appResult{cmd.ProcessState.ExitCode(), out.String(), errs.String()}
}

func checkNoBanner(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "OpenSBI") || strings.Contains(stderr, "\x1b]0;") {
		t.Errorf("stderr has firmware banner or marker: %q", stderr)
	}
}

// 1 MiB of every byte value through stdin to EOF; stdout and stderr
// apart and exact.
func TestAppStreams(t *testing.T) {
	input := make([]byte, 1<<20)
	rand.Read(input)
	input = append(input, "\r\n\x00\x1b\x03\x04\x01"...)
	r := runApp(t, bytes.NewReader(input), "hash")
	if want := fmt.Sprintf("sha256=%x len=%d\n", sha256.Sum256(input), len(input)); r.code != 3 || r.stdout != want {
		t.Errorf("exit %d, stdout %q; want 3, %q (stderr %q)", r.code, r.stdout, want, r.stderr)
	}
	if strings.Count(r.stderr, "to-stderr\n") != 1 {
		t.Errorf("stderr %q, want one to-stderr", r.stderr)
	}
	checkNoBanner(t, r.stderr)
}

// An app that never reads its (empty, non-terminal) stdin.
func TestAppFloodsWithoutReadingStdin(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	defer pr.Close()
	r := runApp(t, pr, "flood")
	if want := strings.Repeat(strings.Repeat("x", 99)+"\n", 1000); r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, %d bytes of stdout (want 0 and %d bytes), stderr %q", r.code, len(r.stdout), len(want), r.stderr)
	}
	checkNoBanner(t, r.stderr)
}

// The kernel's own messages go to stderr; the banner only with --debug.
// The kernel's log is kept out of the application's streams: on stderr
// with --debug, in the file --log names, else not shown for a run the
// application ended itself.
func TestAppKernelLog(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "kernel.log")
	for _, mode := range []string{"", "--debug", "--log"} {
		var args []string
		switch mode {
		case "--debug":
			args = []string{"--debug"}
		case "--log":
			args = []string{"--log", logFile}
		}
		kernel, app := needStock(t)
		cmd := cliCommand(append(append([]string{"run", "--timeout", "2m", "--kernel", kernel}, args...), app, "nosys")...)
		var errs bytes.Buffer
		cmd.Stderr = &errs
		out, err := cmd.Output()
		const line = "runikraft: app called unsupported syscall 4000"
		if err != nil || string(out) != "errno 38\n" || strings.Contains(errs.String(), line) != (mode == "--debug") {
			t.Errorf("%q: %v, stdout %q, stderr %q", mode, err, out, errs.String())
		}
		if (mode == "--debug") != strings.Contains(errs.String(), "OpenSBI") {
			t.Errorf("%q: stderr %q", mode, errs.String())
		}
		// --debug's host timeline: every point seen, in order.
		timeline := []string{"runikraft: host timeline", "QEMU started ", "firmware's first byte ", "application's first output ", "QEMU exited ", "host CPU: QEMU "}
		if mode == "--debug" && !inOrder(errs.String(), timeline) {
			t.Errorf("--debug: stderr %q; want a host timeline with %q", errs.String(), timeline)
		}
		if mode == "" && errs.String() != "" {
			t.Errorf("stderr %q; want nothing (the application wrote nothing there)", errs.String())
		}
		if mode == "--log" {
			if b, err := os.ReadFile(logFile); err != nil || !strings.HasPrefix(string(b), line) {
				t.Errorf("--log: %q, %v; want the kernel's line", b, err)
			}
		}
	}
}

func TestAppTimeout(t *testing.T) {
	pr, pw, err := os.Pipe() // stdin that never ends: the app waits for ever
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	kernel, app := needStock(t)
	cmd := cliCommand("run", "--timeout", "2s", "--kernel", kernel, app, "hash")
	cmd.Stdin = pr
	var errs bytes.Buffer
	cmd.Stderr = &errs
	out, _ := cmd.Output()
	if cmd.ProcessState.ExitCode() != 124 || len(out) != 0 || errs.String() != "runikraft: timeout after 2s\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", cmd.ProcessState.ExitCode(), out, errs.String())
	}
}

func TestAppSignalForwarded(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	kernel, app := needStock(t)
	cmd := cliCommand("run", "--debug", "--kernel", kernel, app, "hash")
	cmd.Stdin = pr
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	up, copied := make(chan bool, 1), make(chan bool)
	var rest bytes.Buffer
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			if strings.Contains(s.Text(), "Boot HART MEDELEG") { // the banner's end
				up <- true
				break
			}
		}
		io.Copy(&rest, stderr)
		close(copied)
	}()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		t.Fatal("QEMU did not start")
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-copied: // runikraft has exited (or closed stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("runikraft did not exit after SIGINT")
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+2 || strings.Contains(rest.String(), "terminating on signal") {
		t.Errorf("exit %d (%v), stderr after the banner %q; want 130 quietly", code, cmd.ProcessState, rest.String())
	}
}

// inOrder reports whether s holds each of parts, one after the other.
func inOrder(s string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// Package boot boots real kernel images in QEMU and checks what they print
// and their exit status. The images are the programs in kernels/, built
// and baked once per test run.
package boot

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/kbuild"
	"github.com/runikraft/runikraft/kernel/abi"
)

var images = map[string]string{} // kernel name → image path

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("qemu-system-riscv64"); err != nil {
		fmt.Println("boot tests need qemu-system-riscv64: run ./install.sh")
		return 1
	}
	dir, err := os.MkdirTemp("", "runikraft-boot-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	entries, err := os.ReadDir("kernels")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("kernels", e.Name(), "main.go")); err != nil {
			continue
		}
		img := filepath.Join(dir, e.Name()+".img")
		_, err := kbuild.Build(context.Background(), kbuild.Options{
			Dir: ".", Pkg: "./kernels/" + e.Name(), Out: img, Stderr: os.Stderr,
		})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		images[e.Name()] = img
	}
	return m.Run()
}

// line is one line of guest output and when the host saw it.
type line struct {
	text string
	at   time.Time
}

type result struct {
	lines []line
	code  int
}

func (r result) out() string {
	var b strings.Builder
	for _, l := range r.lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

func (r result) find(prefix string) (line, bool) {
	for _, l := range r.lines {
		if strings.HasPrefix(l.text, prefix) {
			return l, true
		}
	}
	return line{}, false
}

// boot runs image name in plain QEMU (no runikraft run in between) and
// collects its console lines with host timestamps.
func boot(t *testing.T, name, mem string, extra ...string) result {
	t.Helper()
	img, ok := images[name]
	if !ok {
		t.Fatalf("no kernel %q in kernels/", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The kernel prints its console marker only when asked to, as
	// runikraft run asks.
	args := append([]string{"-M", "virt", "-m", mem, "-nographic", "-bios", "default", "-kernel", img, "-append", abi.MarkerParam}, extra...)
	cmd := exec.CommandContext(ctx, "qemu-system-riscv64", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Lines before the kernel's console marker are the firmware's banner.
	var res result
	seen := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		text := strings.TrimRight(sc.Text(), "\r")
		if !seen {
			i := strings.Index(text, abi.ConsoleMarker)
			if i < 0 {
				continue
			}
			seen = true
			text = text[i+len(abi.ConsoleMarker):]
		}
		res.lines = append(res.lines, line{text, time.Now()})
	}
	io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		res.code = exit.ExitCode()
	default:
		t.Fatalf("qemu: %v (ctx %v)\nstderr: %s\noutput:\n%s", err, ctx.Err(), stderr.String(), res.out())
	}
	return res
}

func TestSelftest(t *testing.T) {
	res := boot(t, "selftest", "128M")
	for _, name := range []string{"ring", "select", "sleep", "gc", "maps", "recover", "mutex"} {
		if _, ok := res.find("ok " + name); !ok {
			t.Errorf("check %s did not pass", name)
		}
	}
	if _, ok := res.find("selftest: all passed"); !ok || res.code != 0 {
		t.Fatalf("selftest exit %d, output:\n%s", res.code, res.out())
	}
	// Ten Sleep(50ms) calls: the kernel's measure of the span agrees with
	// the host's clock within 20%, and neither is short.
	start, ok1 := res.find("mark start")
	end, ok2 := res.find("mark end ")
	if !ok1 || !ok2 {
		t.Fatal("sleep marks missing")
	}
	var guestNS int64
	fmt.Sscanf(strings.TrimPrefix(end.text, "mark end "), "%d", &guestNS)
	guest, host := time.Duration(guestNS), end.at.Sub(start.at)
	if guest < 500*time.Millisecond || host < 400*time.Millisecond {
		t.Errorf("10 × Sleep(50ms): kernel measured %v, host %v: too short", guest, host)
	}
	if r := float64(guest) / float64(host); r < 0.8 || r > 1.2 {
		t.Errorf("10 × Sleep(50ms): kernel measured %v, host %v: clocks disagree by more than 20%%", guest, host)
	}
	t.Logf("output:\n%s", res.out())
}

// The kernel boots with small and large memory and passes the exit status.
func TestMemorySizes(t *testing.T) {
	for _, mem := range []string{"64M", "128M", "2G"} {
		t.Run(mem, func(t *testing.T) {
			res := boot(t, "exit3", mem)
			if _, ok := res.find("hello from the runikraft kernel"); !ok || res.code != 3 {
				t.Fatalf("exit %d, output:\n%s", res.code, res.out())
			}
		})
	}
}

func TestPanicPrintsTraceback(t *testing.T) {
	res := boot(t, "panic", "128M")
	out := res.out()
	for _, want := range []string{"panic: selftest panic 42", "goroutine 1 [running]:", "main.explode(", "main.main()"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if res.code != 2 {
		t.Errorf("exit %d, want 2 (Go's panic status)", res.code)
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestFaultReport(t *testing.T) {
	res := boot(t, "fault", "128M")
	out := res.out()
	for _, want := range []string{"runikraft: kernel panic: page fault", "(main.poke)", "(main.main)", "tval 0x0000001000000000", " kernel thread "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if res.code != 70 {
		t.Errorf("exit %d, want 70", res.code)
	}
	if t.Failed() {
		t.Log(out)
	}
}

// The hart layer runs code in U-mode and hands its traps back to Go.
func TestUserMode(t *testing.T) {
	res := boot(t, "usermode", "128M")
	for _, name := range []string{"w^x", "syscalls", "efault", "fault", "preempt"} {
		if _, ok := res.find("ok " + name); !ok {
			t.Errorf("check %s did not pass", name)
		}
	}
	if res.code != 0 || t.Failed() {
		t.Fatalf("exit %d, output:\n%s", res.code, res.out())
	}
}

// The application loader maps static and static-pie programs with their
// own protections, builds the Linux initial stack and rejects bad files.
func TestLoader(t *testing.T) {
	res := boot(t, "loader", "128M")
	for _, name := range []string{"static", "static-pie", "static again", "reject"} {
		if _, ok := res.find("ok " + name); !ok {
			t.Errorf("check %s did not pass", name)
		}
	}
	if res.code != 0 || t.Failed() {
		t.Fatalf("exit %d, output:\n%s", res.code, res.out())
	}
}

package qemu

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/payload"
)

// needQEMU returns the QEMU binary or skips: these tests boot real VMs.
func needQEMU(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath(DefaultBinary)
	if err != nil {
		t.Skipf("skipping boot test: %s not on PATH (%v); run ./install.sh", DefaultBinary, err)
	}
	return p
}

type boot struct {
	res                    Result
	stdout, stderr, banner string
}

func bootImage(t *testing.T, img []byte, cfg Config, timeout time.Duration) boot {
	t.Helper()
	return bootWithInput(t, img, cfg, timeout, nil)
}

func bootWithInput(t *testing.T, img []byte, cfg Config, timeout time.Duration, stdin *os.File) boot {
	t.Helper()
	path := needQEMU(t)
	cfg.Kernel = writeFile(t, "payload.elf", img)
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = DefaultMemoryMiB
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 1
	}
	var stdout, stderr, banner bytes.Buffer
	res, err := Run(context.Background(), Options{
		Path: path, Args: Args(cfg),
		Stdin: stdin, Stdout: &stdout, Stderr: &stderr, Banner: &banner,
		Timeout: timeout,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return boot{res, stdout.String(), stderr.String(), banner.String()}
}

func TestBootExitCode(t *testing.T) {
	t.Parallel()
	b := bootImage(t, payload.PrintAndExit("", 7), Config{RNG: true}, time.Minute)
	if b.res.ExitCode != 7 || b.res.Signal != 0 || b.res.TimedOut {
		t.Errorf("result %+v, want exit 7; stderr %q", b.res, b.stderr)
	}
	if b.stdout != "" {
		t.Errorf("stdout %q, want nothing", b.stdout)
	}
}

func TestBootPrints(t *testing.T) {
	t.Parallel()
	b := bootImage(t, payload.PrintAndExit("ok\n", 0), Config{RNG: true}, time.Minute)
	if b.res.ExitCode != 0 || b.res.Signal != 0 {
		t.Errorf("result %+v, want exit 0; stderr %q", b.res, b.stderr)
	}
	if b.stdout != "ok\n" {
		t.Errorf("stdout %q, want %q", b.stdout, "ok\n")
	}
	if !strings.Contains(b.banner, "OpenSBI") {
		t.Errorf("banner %q does not look like OpenSBI's", b.banner)
	}
}

// Every optional argument must be accepted by the real QEMU.
func TestBootAllOptions(t *testing.T) {
	t.Parallel()
	cfg := Config{MemoryMiB: 64, CPUs: 2, RNG: true, Debug: true, Append: "runikraft.args=YQA runikraft.env="}
	b := bootImage(t, payload.PrintAndExit("x", 3), cfg, time.Minute)
	if b.res.ExitCode != 3 || b.stdout != "x" {
		t.Errorf("result %+v, stdout %q, want exit 3 and \"x\"; stderr %q", b.res, b.stdout, b.stderr)
	}
}

func TestBootTimeout(t *testing.T) {
	t.Parallel()
	var spin payload.Code
	spin.Jal(payload.Zero, 0)
	start := time.Now()
	b := bootImage(t, payload.Bare(spin.Bytes()), Config{}, 500*time.Millisecond)
	if !b.res.TimedOut {
		t.Errorf("result %+v, want TimedOut", b.res)
	}
	if d := time.Since(start); d > killDelay+5*time.Second {
		t.Errorf("took %v to stop QEMU", d)
	}
	if strings.Contains(b.stderr, "terminating on signal") {
		t.Errorf("stderr %q should not carry QEMU's farewell after our own TERM", b.stderr)
	}
}

func TestRunQEMUError(t *testing.T) {
	t.Parallel()
	// An image loaded over OpenSBI at the start of RAM: QEMU itself fails
	// ("rom: requested regions overlap"), with status 1, which must be told
	// apart from a guest exiting 1.
	img := payload.PrintAndExit("", 0)
	binary.LittleEndian.PutUint64(img[64+24:], 0x80000000) // p_paddr
	b := bootImage(t, img, Config{}, 30*time.Second)
	if b.res.ExitCode != 1 || b.res.QEMUError == "" {
		t.Errorf("result %+v, want exit 1 with a QEMU error; stderr %q", b.res, b.stderr)
	}
}

// Every byte value, including ^A (QEMU's mux escape) and ^C, reaches the
// guest and comes back; in particular the first byte, which OpenSBI's UART
// init would swallow if QEMU read it before boot.
func TestBootStdin(t *testing.T) {
	t.Parallel()
	input := make([]byte, 0, 512)
	for i := range 512 {
		input = append(input, byte(i))
	}
	in, err := os.Open(writeFile(t, "input", input))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	b := bootWithInput(t, payload.Echo(len(input)), Config{}, time.Minute, in)
	if b.res.ExitCode != 0 || b.stdout != string(input) {
		t.Errorf("result %+v, stdout %q; want exit 0 and the input back", b.res, b.stdout)
	}
}

// The real QEMU takes a held log's file (-add-fd, a file chardev on
// /dev/fdset/1) and the UART's bytes reach Log past the banner.
func TestBootHeldLog(t *testing.T) {
	t.Parallel()
	path := needQEMU(t)
	cfg := Config{Kernel: writeFile(t, "payload.elf", payload.PrintAndExit("ok\n", 5)), MemoryMiB: DefaultMemoryMiB, CPUs: 1, AppConsole: true, HeldLog: true}
	var stdout, stderr, log, banner bytes.Buffer
	res, err := Run(context.Background(), Options{
		Path: path, Args: Args(cfg), AppConsole: true, HeldLog: true,
		Stdout: &stdout, Stderr: &stderr, Log: &log, Banner: &banner, Timeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 5 || res.Silent || log.String() != "ok\n" || !strings.Contains(banner.String(), "OpenSBI") {
		t.Errorf("result %+v, log %q, banner %q, stderr %q; want exit 5 and \"ok\\n\" on the log", res, log.String(), banner.String(), stderr.String())
	}
}

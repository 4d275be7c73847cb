package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/payload"
	"github.com/runikraft/runikraft/internal/qemu"
)

// The test binary doubles as the runikraft binary, so end-to-end tests can
// exec it (real exit statuses, real signals) without a go build step.
func TestMain(m *testing.M) {
	if os.Getenv("RUNIKRAFT_TEST_AS_CLI") == "1" {
		os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	removeStock()
	os.Exit(code)
}

// runCLI runs the CLI in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(append([]string{"runikraft"}, args...), nil, &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func image(t *testing.T, data []byte) string { return writeFile(t, "image.elf", data, 0o644) }

// fakeQEMU installs a shell script as the QEMU binary.
func fakeQEMU(t *testing.T, script string) string {
	p := writeFile(t, "fakeqemu", []byte("#!/bin/sh\n"+script), 0o755)
	t.Setenv("RUNIKRAFT_QEMU", p)
	return p
}

func needQEMU(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(qemu.DefaultBinary); err != nil {
		t.Skipf("skipping boot test: %s not on PATH (%v); run ./install.sh", qemu.DefaultBinary, err)
	}
}

func spin() []byte {
	var c payload.Code
	c.Jal(payload.Zero, 0)
	return payload.Bare(c.Bytes())
}

func TestDryRunDefault(t *testing.T) {
	q := fakeQEMU(t, "exit 99\n")
	img := image(t, payload.PrintAndExit("", 0))
	code, out, errs := runCLI(t, "run", "--dry-run", img)
	args, _ := bootargs.EncodeList([]string{img})
	want := q + " -M virt -bios default -nodefaults -display none -monitor none" +
		" -chardev stdio,id=con0,signal=off -serial chardev:con0 -m 512M -smp 1 -kernel " + img +
		" -append 'runikraft.marker=1 runikraft.args=" + args + " runikraft.env=' -device virtio-rng-device\n"
	if code != 0 || out != want || errs != "" {
		t.Errorf("dry run: code %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errs)
	}
}

// TestDryRunCPUsEnv: RUNIKRAFT_CPUS sets the hart count where no flag can
// be given (binfmt_misc, go test -exec), and --cpus still wins over it.
func TestDryRunCPUsEnv(t *testing.T) {
	fakeQEMU(t, "exit 99\n")
	img := image(t, payload.PrintAndExit("", 0))
	t.Setenv("RUNIKRAFT_CPUS", "3")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--dry-run", img}, " -smp 3 "},
		{[]string{"run", "--dry-run", "--cpus", "1", img}, " -smp 1 "},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != 0 || errs != "" || !strings.Contains(out, c.want) {
			t.Errorf("%q: code %d, stdout %q lacks %q, stderr %q", c.args, code, out, c.want, errs)
		}
	}
	t.Setenv("RUNIKRAFT_CPUS", "0")
	if code, _, errs := runCLI(t, "run", "--dry-run", img); code == 0 || !strings.Contains(errs, "--cpus: 0 out of range") {
		t.Errorf("RUNIKRAFT_CPUS=0: code %d, stderr %q", code, errs)
	}
}

func TestDryRunFlags(t *testing.T) {
	fakeQEMU(t, "exit 99\n")
	img := image(t, payload.PrintAndExit("", 0))
	guestArgs := []string{"-test.v", "--timeout", "1s", "a b", "k=v", "line\nbreak", "\xff\xfe", ""}
	code, out, errs := runCLI(t, append([]string{"run", "--dry-run", "-m", "2G", "--cpus", "3", "--rng=false", "--debug",
		"-e", "A=1,2", "-e", "B=x y", "-e", "EMPTY=", "-e", "K= v  ", img}, guestArgs...)...)
	if code != 0 || errs != "" {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	for _, want := range []string{" -m 2048M ", " -smp 3 ", " -d guest_errors,unimp"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "virtio-rng") {
		t.Errorf("%q has an rng despite --rng=false", out)
	}
	_, quoted, _ := strings.Cut(out, " -append '")
	cmdline, _, _ := strings.Cut(quoted, "'")
	a, e, err := bootargs.Decode(cmdline)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]string{img}, guestArgs...); !slices.Equal(a, want) {
		t.Errorf("guest args %q, want %q", a, want)
	}
	if want := []string{"A=1,2", "B=x y", "EMPTY=", "K= v  "}; !slices.Equal(e, want) {
		t.Errorf("guest env %q, want %q", e, want)
	}
}

// Without QEMU installed --dry-run still shows what would run.
func TestDryRunWithoutQEMU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("RUNIKRAFT_QEMU", "")
	code, out, _ := runCLI(t, "run", "--dry-run", image(t, payload.PrintAndExit("", 0)))
	if code != 0 || !strings.HasPrefix(out, qemu.DefaultBinary+" -M virt ") {
		t.Errorf("code %d, stdout %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	fakeQEMU(t, "exit 99\n")
	img := image(t, payload.PrintAndExit("", 0))
	dir := t.TempDir()
	text := writeFile(t, "notes.txt", []byte("hello\n"), 0o644)
	x86 := payload.PrintAndExit("", 0)
	binary.LittleEndian.PutUint16(x86[18:], 62) // EM_X86_64
	x86img := writeFile(t, "x86.elf", x86, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "missing IMAGE"},
		{[]string{"run", filepath.Join(dir, "missing.elf")}, "missing.elf: no such file"},
		{[]string{"run", dir}, "is a directory"},
		{[]string{"run", text}, text + ": not an ELF file"},
		{[]string{"run", x86img}, x86img + ": ELF for EM_X86_64"},
		{[]string{"run", "-m", "12K", img}, `--memory: invalid memory size "12K"`},
		{[]string{"run", "-m", "4M", img}, "less than the minimum 8MiB"},
		{[]string{"run", "-m", "lots", img}, `invalid memory size "lots"`},
		{[]string{"run", "--cpus", "0", img}, "--cpus: 0 out of range"},
		{[]string{"run", "-e", "NOVALUE", img}, `-e "NOVALUE": want KEY=VALUE`},
		{[]string{"run", "-e", "=v", img}, `-e "=v": want KEY=VALUE`},
		{[]string{"run", "--timeout", "-1s", img}, "--timeout: negative"},
		{[]string{"run", "--timeout", "soon", img}, "invalid value"},
		{[]string{"run", "--bogus", img}, "flag provided but not defined: -bogus"},
		{[]string{"run", "--qemu", filepath.Join(dir, "noqemu"), img}, "no such file or directory; fix the path or run ./install.sh"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, "runikraft: ") || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want 2, nothing, %q", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestQEMUNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("RUNIKRAFT_QEMU", "")
	code, out, errs := runCLI(t, "run", image(t, payload.PrintAndExit("", 0)))
	if code != 2 || out != "" || !strings.Contains(errs, "qemu-system-riscv64 not found") || !strings.Contains(errs, "./install.sh") {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "runikraft ") {
		t.Errorf("code %d, stdout %q", code, out)
	}
}

// How QEMU ends maps to our status; a fake QEMU makes each case exact.
func TestExitStatusFromFakeQEMU(t *testing.T) {
	img := image(t, payload.PrintAndExit("", 0))
	for _, tc := range []struct {
		name, script string
		code         int
		stdout       string
		stderr       string
	}{
		{"guest status", "printf 'out'; exit 42\n", 42, "out", ""},
		{"guest exit 1", "printf 'OpenSBI'; exit 1\n", 1, "OpenSBI", ""},
		{"not qemu", "exit 1\n", 1, "", "runikraft: fakeqemu exited with status 1 before the machine started (no firmware output); is it qemu-system-riscv64? (--qemu, RUNIKRAFT_QEMU)\n"},
		{"qemu error", "echo \"fakeqemu: could not load kernel\" >&2; exit 1\n", 1, "",
			"fakeqemu: could not load kernel\nrunikraft: fakeqemu failed (exit status 1, a QEMU error, not the guest's): could not load kernel\n"},
		{"qemu warning then guest exit 1", "echo \"fakeqemu: warning: meh\" >&2; printf '\\033]0;runikraft\\007'; exit 1\n", 1, "", "fakeqemu: warning: meh\n"},
		{"killed", "kill -KILL $$\n", 128 + 9, "", "runikraft: fakeqemu ended by signal 9 (killed)\n"},
		{"terminated by someone else", "echo \"fakeqemu: terminating on signal 15 from pid 1 (init)\" >&2; exit 0\n", 128 + 15, "",
			"fakeqemu: terminating on signal 15 from pid 1 (init)\nrunikraft: fakeqemu ended by signal 15 (terminated)\n"},
	} {
		fakeQEMU(t, tc.script)
		code, out, errs := runCLI(t, "run", img)
		if code != tc.code || out != tc.stdout || errs != tc.stderr {
			t.Errorf("%s: code %d, stdout %q, stderr %q; want %d, %q, %q", tc.name, code, out, errs, tc.code, tc.stdout, tc.stderr)
		}
	}
}

func TestBootExitCode(t *testing.T) {
	needQEMU(t)
	code, out, errs := runCLI(t, "run", image(t, payload.PrintAndExit("", 7)))
	if code != 7 || out != "" || errs != "" {
		t.Errorf("code %d, stdout %q, stderr %q; want 7 and silence", code, out, errs)
	}
}

func TestBootPrints(t *testing.T) {
	needQEMU(t)
	code, out, errs := runCLI(t, "run", image(t, payload.PrintAndExit("ok\n", 0)))
	if code != 0 || out != "ok\n" || errs != "" {
		t.Errorf("code %d, stdout %q, stderr %q; want 0, \"ok\\n\", nothing", code, out, errs)
	}
}

func TestBootTimeout(t *testing.T) {
	needQEMU(t)
	code, out, errs := runCLI(t, "run", "--timeout", "500ms", image(t, spin()))
	if code != 124 || out != "" || errs != "runikraft: timeout after 500ms\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestBootQEMUError(t *testing.T) {
	needQEMU(t)
	// Two program headers loading the same bytes at the same address:
	// QEMU refuses the overlap itself ("Some ROM regions are overlapping").
	img := payload.PrintAndExit("", 0)
	le := binary.LittleEndian
	phdr := append([]byte(nil), img[64:64+56]...)
	for len(img)%8 != 0 {
		img = append(img, 0)
	}
	le.PutUint64(img[32:], uint64(len(img))) // e_phoff
	le.PutUint16(img[56:], 2)                // e_phnum
	img = append(append(img, phdr...), phdr...)
	code, _, errs := runCLI(t, "run", image(t, img))
	if code != 1 || !strings.Contains(errs, "runikraft: qemu-system-riscv64 failed (exit status 1, a QEMU error") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
}

// TestBootOverFirmware: a machine image loading over OpenSBI is refused
// before QEMU starts (97, one line), not handed to QEMU.
func TestBootOverFirmware(t *testing.T) {
	img := payload.PrintAndExit("", 0)
	binary.LittleEndian.PutUint64(img[64+16:], 0x80000000) // p_vaddr
	binary.LittleEndian.PutUint64(img[64+24:], 0x80000000) // p_paddr: over OpenSBI
	code, out, errs := runCLI(t, "run", image(t, img))
	if code != 97 || out != "" || !strings.Contains(errs, "over the firmware") || strings.Count(errs, "\n") != 1 {
		t.Errorf("code %d, stdout %q, stderr %q; want 97 and one line about the firmware", code, out, errs)
	}
}

// cliCommand prepares this test binary to act as runikraft.
func cliCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RUNIKRAFT_TEST_AS_CLI=1")
	return cmd
}

func TestExecBoot(t *testing.T) {
	needQEMU(t)
	cmd := cliCommand("run", image(t, payload.PrintAndExit("ok\n", 9)))
	var errs bytes.Buffer
	cmd.Stderr = &errs
	out, err := cmd.Output()
	if cmd.ProcessState.ExitCode() != 9 || string(out) != "ok\n" {
		t.Errorf("%v: stdout %q, stderr %q; want exit 9 and \"ok\\n\"", err, out, errs.String())
	}
}

func TestExecStdin(t *testing.T) {
	needQEMU(t)
	input := []byte("\x00\x01\x03 hello\r\n\xff")
	cmd := cliCommand("run", image(t, payload.Echo(len(input))))
	cmd.Stdin = bytes.NewReader(input)
	var errs bytes.Buffer
	cmd.Stderr = &errs
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, input) {
		t.Errorf("%v: stdout %q, stderr %q; want %q", err, out, errs.String(), input)
	}
}

func TestExecSignalForwarded(t *testing.T) {
	needQEMU(t)
	// --debug puts the OpenSBI banner on stderr: once it shows, QEMU runs
	// and runikraft is forwarding signals.
	cmd := cliCommand("run", "--debug", image(t, spin()))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	up := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			if strings.Contains(s.Text(), "OpenSBI") {
				up <- true
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		t.Fatal("QEMU did not start")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("runikraft did not exit after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 128+15 {
		t.Errorf("exit %d (%v), want 143", code, cmd.ProcessState)
	}
}

// Operands are never subcommands: files named like urfave/cli's help
// command boot (or are inspected) like any other.
func TestOperandsNamedHelp(t *testing.T) {
	q := fakeQEMU(t, "exit 99\n")
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range []string{"h", "help"} {
		if err := os.WriteFile(filepath.Join(dir, name), payload.PrintAndExit("", 0), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"run", "--dry-run", name},
			{"run", "--dry-run", "--", name},
			{"run", "--dry-run", name, "help"},
		} {
			code, out, errs := runCLI(t, args...)
			if code != 0 || !strings.HasPrefix(out, q+" -M virt ") || !strings.Contains(out, " -kernel "+name+" ") {
				t.Errorf("%q: code %d, stdout %q, stderr %q; want the QEMU command line booting %s", args, code, out, errs, name)
			}
		}
		// A kernel without an application: inspect says so instead of
		// showing its own help.
		code, out, errs := runCLI(t, "inspect", name)
		if code != 1 || out != "" || !strings.Contains(errs, name+":") {
			t.Errorf("inspect %s: code %d, stdout %q, stderr %q; want a complaint about the file", name, code, out, errs)
		}
	}
	// -h before the operands still asks for help.
	if code, out, _ := runCLI(t, "run", "-h"); code != 0 || !strings.Contains(out, "IMAGE") {
		t.Errorf("run -h: code %d, stdout %q", code, out)
	}
}

// run --help tells a user what IMAGE may be, the exit statuses and
// examples, not the device registers behind them.
func TestRunHelp(t *testing.T) {
	code, out, _ := runCLI(t, "run", "--help")
	for _, want := range []string{"IMAGE may be", "application image", "static riscv64 Linux program", "Exit status", "124", "126", "Examples:", "--log", "--strace", "--gdb"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
	for _, absent := range []string{"0x100000", "0x3333", "0x5555"} {
		if strings.Contains(out, absent) {
			t.Errorf("run --help shows %q", absent)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
}

// Package everyday checks what a new user meets first (issue 14): files
// whose names are commands, Linux-style kernel command lines on plain
// QEMU, Go builds with image options, time zones, binfmt_misc, builds
// that ask for shared libraries, and the debugging aids (gdb, strace,
// backtraces). Every test boots the real kernel in QEMU.
package everyday

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the host's conversions need no zone files on the host

	"github.com/runikraft/runikraft/internal/qemu"
	"github.com/runikraft/runikraft/internal/syncbuf"
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/tests/harness"
)

var (
	binDir    string // runikraft, runikraft-kernel.img, runikraft-cc, runikraft-ld
	runikraft string
	cc        string
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	if binDir, err = harness.Installed(dir); err != nil {
		return err
	}
	runikraft = filepath.Join(binDir, "runikraft")
	cc = filepath.Join(binDir, "runikraft-cc")
	return nil
}

// result is how one command ended.
type result struct {
	stdout, stderr string
	code           int
}

// command runs name with args in dir (the tools first in PATH), bounded
// by three minutes.
func command(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %q did not end within 3m; stdout %q stderr %q", name, args, r.stdout, r.stderr)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %q: %v", name, args, err)
	}
	t.Logf("%s %q: exit %d\nstdout: %q\nstderr: %q", filepath.Base(name), args, r.code, r.stdout, r.stderr)
	return r
}

// compile builds testdata/src with runikraft-cc into dir/out.
func compile(t *testing.T, dir, out, src string, flags ...string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", src))
	if err != nil {
		t.Fatal(err)
	}
	r := command(t, dir, cc, append(append([]string{"-O1", "-o", out}, flags...), abs)...)
	if r.code != 0 {
		t.Fatalf("runikraft-cc %s: exit %d: %s", src, r.code, r.stderr)
	}
	return filepath.Join(dir, out)
}

// plainQEMU boots img with QEMU alone (plus extra arguments) and returns
// its console after the firmware's banner and its exit status.
func plainQEMU(t *testing.T, img string, extra ...string) (string, int) {
	t.Helper()
	r := command(t, filepath.Dir(img), "qemu-system-riscv64", append([]string{"-M", "virt", "-nographic", "-kernel", img}, extra...)...)
	out := []byte(r.stdout)
	if bytes.Contains(out, []byte(abi.ConsoleMarker)) {
		t.Errorf("a plain boot printed the console marker: %q", out)
	}
	return string(qemu.StripBanner(out)), r.code
}

func expect(t *testing.T, what string, r result, code int, stdout string) {
	t.Helper()
	if r.code != code || r.stdout != stdout {
		t.Errorf("%s: exit %d stdout %q; want exit %d stdout %q (stderr %q)", what, r.code, r.stdout, code, stdout, r.stderr)
	}
}

// Files named like commands are files: runikraft run h, runikraft run
// help and runikraft inspect h boot and describe them.
func TestNamesThatAreCommands(t *testing.T) {
	dir := t.TempDir()
	compile(t, dir, "h", "args.c")
	if err := os.Link(filepath.Join(dir, "h"), filepath.Join(dir, "help")); err != nil {
		t.Fatal(err)
	}
	expect(t, "run ./h", command(t, dir, runikraft, "run", "./h", "x"), 3, "argv[1]=x\nFOO=(unset)\n")
	expect(t, "run h", command(t, dir, runikraft, "run", "h", "help"), 3, "argv[1]=help\nFOO=(unset)\n")
	expect(t, "run help", command(t, dir, runikraft, "run", "-e", "FOO=1", "help", "h"), 3, "argv[1]=h\nFOO=1\n")
	for _, name := range []string{"h", "help"} {
		r := command(t, dir, runikraft, "inspect", name)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "image:") || !strings.Contains(r.stdout, "app:") {
			t.Errorf("inspect %s: exit %d, stdout %q; want the image's description", name, r.code, r.stdout)
		}
	}
}

// The example: on plain QEMU, -append "FOO=bar -- a 'b c'" gives
// the application FOO and its two arguments, and its output starts right
// after the firmware's banner.
func TestLinuxCommandLine(t *testing.T) {
	img := compile(t, t.TempDir(), "args", "args.c")
	out, code := plainQEMU(t, img, "-append", "FOO=bar -- a 'b c'")
	if want := "argv[1]=a\nargv[2]=b c\nFOO=bar\n"; code != 3 || out != want {
		t.Errorf("-append: exit %d, console %q; want 3 and exactly %q", code, out, want)
	}
	out, code = plainQEMU(t, img)
	if want := "FOO=(unset)\n"; code != 3 || out != want {
		t.Errorf("no -append: exit %d, console %q; want 3 and exactly %q", code, out, want)
	}
	// runikraft run's encoding still carries any byte.
	r := command(t, filepath.Dir(img), runikraft, "run", "-e", "FOO=\x01 '\"", img, "-- a", "")
	expect(t, "runikraft run", r, 3, "argv[1]=-- a\nargv[2]=\nFOO=\x01 '\"\n")
}

// The kernel's notices stay out of the application's stderr: it is
// byte-exact; --log FILE has them, --debug shows them.
func TestKernelLogApart(t *testing.T) {
	dir := t.TempDir()
	prog := compile(t, dir, "nosys", "nosys.c")
	const appErr = "before\nafter: -1 errno 38\n"
	const notice = "runikraft: app called unsupported syscall 4000 (unknown): ENOSYS\n"
	r := command(t, dir, runikraft, "run", prog)
	if r.code != 0 || r.stderr != appErr {
		t.Errorf("default: exit %d, stderr %q; want 0 and exactly %q", r.code, r.stderr, appErr)
	}
	log := filepath.Join(dir, "kernel.log")
	r = command(t, dir, runikraft, "run", "--log", log, prog)
	b, err := os.ReadFile(log)
	if r.code != 0 || r.stderr != appErr || err != nil || string(b) != notice {
		t.Errorf("--log: exit %d, stderr %q, log %q (%v); want 0, %q and %q", r.code, r.stderr, b, err, appErr, notice)
	}
	r = command(t, dir, runikraft, "run", "--debug", prog)
	if r.code != 0 || !strings.Contains(r.stderr, notice) {
		t.Errorf("--debug: exit %d, stderr %q; want the notice", r.code, r.stderr)
	}
}

// runikraft go build takes runikraft-ld's image options; runikraft run
// --rootfs gives an image baked without one a root filesystem.
func TestGoBuildImageOptions(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "data", "hello.txt"), []byte("baked"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "goprog")
	cmd := command(t, ".", runikraft, "go", "build", "--rootfs", root, "--arg", "x", "--arg=y z", "--env", "GREETING=hi", "-o", img, "-trimpath", "./testdata/goprog")
	if cmd.code != 0 {
		t.Fatalf("runikraft go build: exit %d: %s", cmd.code, cmd.stderr)
	}
	expect(t, "baked image", command(t, dir, runikraft, "run", img), 0, "args=[\"x\" \"y z\"] GREETING=\"hi\" file=\"baked\"\n")
	r := command(t, dir, runikraft, "run", "--rootfs", root, img)
	if r.code != 2 || !strings.Contains(r.stderr, "already has a root filesystem baked in") || !strings.Contains(r.stderr, "runikraft-ld --rootfs") {
		t.Errorf("--rootfs over a baked root: exit %d, stderr %q; want 2 and what to do", r.code, r.stderr)
	}

	// Without --rootfs at build time, runikraft run --rootfs supplies it.
	plain := filepath.Join(dir, "plain")
	env := command(t, ".", "env", "GOARCH=amd64", runikraft, "go", "build", "-o", plain, "./testdata/goprog")
	if env.code != 0 || !strings.Contains(env.stderr, "GOARCH=amd64 from the environment is overridden") {
		t.Fatalf("runikraft go build with GOARCH=amd64: exit %d, stderr %q; want success and a note", env.code, env.stderr)
	}
	if err := os.WriteFile(filepath.Join(root, "data", "hello.txt"), []byte("given"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, "run --rootfs", command(t, dir, runikraft, "run", "--rootfs", root, plain, "a"), 0, "args=[\"a\"] GREETING=\"\" file=\"given\"\n")
	expect(t, "run", command(t, dir, runikraft, "run", plain), 0, "args=[] GREETING=\"\" file=\"(none)\"\n")
}

// A program that needs cgo fails with a message that says so.
func TestGoBuildCgo(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":  "module example.com/cgoprog\n\ngo 1.21\n",
		"main.go": "package main\n\n// int answer(void) { return 42; }\nimport \"C\"\n\nfunc main() { println(C.answer()) }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := command(t, dir, runikraft, "go", "build", ".")
	if r.code != 1 || !strings.Contains(r.stderr, "example.com/cgoprog uses cgo (import \"C\"), which Runikraft does not support") {
		t.Errorf("exit %d, stderr %q; want 1 and the cgo message", r.code, r.stderr)
	}
}

// Builds that ask for a shared library get a static archive they can
// link their programs against; CMake builds static libraries and refuses
// C++ clearly.
func TestSharedLibraries(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("testdata", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// As a plain Makefile does it.
	r := command(t, dir, cc, "-shared", "-fPIC", "-o", "libanswer.so.1", filepath.Join(src, "lib.c"), "-Wl,-soname,libanswer.so.1")
	if r.code != 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "-shared: wrote libanswer.so.1 as a static archive") {
		t.Fatalf("-shared: exit %d, stderr %q; want 0 and a one-line note", r.code, r.stderr)
	}
	if err := os.Symlink("libanswer.so.1", filepath.Join(dir, "libanswer.so")); err != nil {
		t.Fatal(err)
	}
	if r := command(t, dir, cc, "-o", "prog", filepath.Join(src, "prog.c"), "libanswer.so"); r.code != 0 {
		t.Fatalf("linking against libanswer.so: exit %d: %s", r.code, r.stderr)
	}
	expect(t, "prog", command(t, dir, runikraft, "run", filepath.Join(dir, "prog")), 0, "answer 42\n")

	// CMake.
	if _, err := exec.LookPath("cmake"); err != nil {
		t.Fatal("cmake missing: run ./install.sh")
	}
	tc := command(t, dir, runikraft, "toolchain", "cmake")
	if tc.code != 0 {
		t.Fatalf("runikraft toolchain cmake: %d %s", tc.code, tc.stderr)
	}
	for _, cxx := range []bool{false, true} {
		b := filepath.Join(dir, fmt.Sprintf("build-%v", cxx))
		if err := os.Mkdir(b, 0o755); err != nil {
			t.Fatal(err)
		}
		r := command(t, b, "cmake", "-DCMAKE_TOOLCHAIN_FILE="+strings.TrimSpace(tc.stdout), fmt.Sprintf("-DWITH_CXX=%v", map[bool]string{false: "OFF", true: "ON"}[cxx]), src)
		if r.code != 0 {
			t.Fatalf("cmake: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
		r = command(t, b, "make")
		if !cxx {
			if r.code != 0 {
				t.Fatalf("make: exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			expect(t, "cmake's prog", command(t, b, runikraft, "run", filepath.Join(b, "prog")), 0, "answer 42\n")
			if _, err := os.Stat(filepath.Join(b, "libanswer.a")); err != nil {
				t.Errorf("CMake built no static libanswer.a: %v", err)
			}
			continue
		}
		if r.code == 0 || !strings.Contains(r.stderr, "cxx.cpp: C++ is not supported yet") || strings.Contains(r.stdout+r.stderr, "Relocations in generic ELF") {
			t.Errorf("C++ target: make exit %d, stderr %q; want runikraft-cc's refusal", r.code, r.stderr)
		}
	}
}

// binfmt_misc hands riscv64 programs to runikraft-binfmt: Runikraft
// images (marked in their ELF identification) boot in the unikernel, any
// other riscv64 program goes to qemu-riscv64, or is refused with a
// message when that is not installed. The test calls the handler as the
// kernel would (PATH ARGS), so it needs no registration of its own.
func TestBinfmtTakesOnlyOurs(t *testing.T) {
	dir := t.TempDir()
	handler := filepath.Join(dir, "runikraft-binfmt")
	if err := os.Symlink(runikraft, handler); err != nil {
		t.Fatal(err)
	}
	img := compile(t, dir, "image", "args.c")
	head := make([]byte, 16)
	if f, err := os.Open(img); err != nil {
		t.Fatal(err)
	} else {
		f.Read(head)
		f.Close()
	}
	if string(head[9:14]) != "RKAPP" {
		t.Errorf("image's ELF identification %q lacks the RKAPP mark install.sh's binfmt_misc entry matches", head)
	}
	foreign := filepath.Join(dir, "foreign")
	if err := harness.BuildC(foreign, filepath.Join("testdata", "args.c"), "-static"); err != nil {
		t.Fatal(err)
	}
	qemuUser, err := exec.LookPath("qemu-riscv64")
	if err != nil {
		t.Fatal("qemu-riscv64 missing: run ./install.sh (Debian package qemu-user)")
	}
	run := func(path string, prog string) result {
		t.Helper()
		cmd := exec.Command(handler, prog, "x")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+path, "FOO=host")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		r := result{stdout: o.String(), stderr: e.String()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("runikraft-binfmt %s x: exit %d, stdout %q, stderr %q", filepath.Base(prog), r.code, r.stdout, r.stderr)
		return r
	}
	withQEMU := filepath.Dir(qemuUser) + string(os.PathListSeparator) + os.Getenv("PATH")
	// Through binfmt_misc the unikernel runs in the host view: it gets
	// the host process's environment, as qemu-user's programs do.
	expect(t, "image", run(withQEMU, img), 3, "argv[1]=x\nFOO=host\n")
	// A program runikraft-cc linked alone (--app-only) carries the mark
	// too, and boots in the unikernel.
	appOnly := compile(t, dir, "apponly", "args.c", "--app-only")
	expect(t, "--app-only program", run(withQEMU, appOnly), 3, "argv[1]=x\nFOO=host\n")
	expect(t, "foreign program", run(withQEMU, foreign), 3, "argv[1]=x\nFOO=host\n")
	r := run(dir, foreign)
	if r.code != 126 || r.stdout != "" || !strings.Contains(r.stderr, "qemu-riscv64 is not installed") || !strings.Contains(r.stderr, "runikraft run "+foreign) {
		t.Errorf("without qemu-riscv64: exit %d, stderr %q; want 126 and what to do", r.code, r.stderr)
	}
}

// Time zones: TZ and time.LoadLocation give in the unikernel what the
// host's conversion gives for the same instant, in Go and in C (musl).
func TestTimeZones(t *testing.T) {
	dir := t.TempDir()
	host := func(zone string) string {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatalf("host: %v", err)
		}
		return time.Unix(1700000000, 0).In(loc).Format("2006-01-02 15:04:05 MST -0700")
	}
	goImg := filepath.Join(dir, "gotz")
	if r := command(t, ".", runikraft, "go", "build", "-o", goImg, "./testdata/gotz"); r.code != 0 {
		t.Fatalf("runikraft go build: %s", r.stderr)
	}
	expect(t, "Go", command(t, dir, runikraft, "run", "-e", "TZ=America/New_York", goImg, "Europe/Paris"), 0,
		"local "+host("America/New_York")+"\nnamed "+host("Europe/Paris")+"\n")
	cImg := compile(t, dir, "tz", "tz.c")
	for _, zone := range []string{"America/New_York", "Europe/Paris", "Asia/Kolkata"} {
		expect(t, "C "+zone, command(t, dir, runikraft, "run", "-e", "TZ="+zone, cImg), 0, "local "+host(zone)+"\n")
	}
	r := command(t, dir, runikraft, "inspect", cImg)
	if !strings.Contains(r.stdout, "tzdata:") || !strings.Contains(r.stdout, "KiB in the kernel") {
		t.Errorf("inspect does not state the zone database's size: %q", r.stdout)
	}
	// A program that never reads the database is baked on the kernel
	// without it, and smaller for it.
	plain := compile(t, dir, "args", "args.c")
	r = command(t, dir, runikraft, "inspect", plain)
	if !strings.Contains(r.stdout, "tzdata:  none") {
		t.Errorf("a program without time-zone code got the zone database: %q", r.stdout)
	}
	tzInfo, err1 := os.Stat(cImg)
	plainInfo, err2 := os.Stat(plain)
	if err1 != nil || err2 != nil || tzInfo.Size()-plainInfo.Size() < 300<<10 {
		t.Errorf("image sizes: with time zones %v, without %v", tzInfo, plainInfo)
	}
}

// --strace shows the calls a small C program makes, with decoded
// arguments, results and errors, apart from the program's own output.
func TestStrace(t *testing.T) {
	dir := t.TempDir()
	prog := compile(t, dir, "calls", "calls.c")
	r := command(t, dir, runikraft, "run", "--strace", prog)
	if r.code != 4 || r.stdout != "done\n" {
		t.Fatalf("exit %d stdout %q; want 4 and the program's output alone", r.code, r.stdout)
	}
	want := []string{
		`openat(AT_FDCWD, "/tmp/strace-test", O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE, 0640) = 3`,
		`write(3, "hello\n", 6) = 6`,
		`close(3) = 0`,
		`openat(AT_FDCWD, "/nonexistent", O_RDONLY|O_LARGEFILE) = -1 ENOENT (No such file or directory)`,
		`write(1, "done\n", 5) = 5`,
		`exit_group(4) = ?`,
	}
	lines := strings.Split(r.stderr, "\n")
	i := 0
	for _, l := range lines {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("--strace output lacks, in order, %q\nstderr:\n%s", want[i], r.stderr)
	}
	// To a file instead: --log FILE.
	log := filepath.Join(dir, "trace.txt")
	r = command(t, dir, runikraft, "run", "--strace", "--log", log, prog)
	b, err := os.ReadFile(log)
	if r.code != 4 || r.stderr != "" || err != nil || !strings.Contains(string(b), want[1]+"\n") {
		t.Errorf("--strace --log: exit %d, stderr %q, file %q (%v)", r.code, r.stderr, b, err)
	}
}

// --gdb: QEMU waits for gdb; the printed command, run by Debian's
// gdb-multiarch in batch mode, stops in the C program's main at its
// randomised address and prints a local variable.
func TestGDB(t *testing.T) {
	gdb, err := exec.LookPath("gdb-multiarch")
	if err != nil {
		t.Fatal("gdb-multiarch missing: run ./install.sh (Debian package gdb-multiarch)")
	}
	dir := t.TempDir()
	prog := compile(t, dir, "gdbprog", "gdbprog.c", "--app-only", "-g", "-O0")
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, runikraft, "run", "--timeout", "2m", fmt.Sprintf("--gdb=%d", port), prog)
	var out bytes.Buffer
	errs := &syncbuf.Buffer{}
	run.Stdout, run.Stderr = &out, errs
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	// The command and the address of main, as printed.
	var cmdline, brk string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && brk == ""; time.Sleep(100 * time.Millisecond) {
		for _, l := range strings.Split(errs.String(), "\n") {
			if strings.HasPrefix(l, "  gdb-multiarch ") {
				cmdline = strings.TrimSpace(l)
			}
			if i := strings.Index(l, `"break *0x`); i >= 0 {
				brk = strings.Trim(strings.Fields(l[i:])[0]+" "+strings.Fields(l[i:])[1], `",`)
			}
		}
	}
	if cmdline == "" || brk == "" {
		t.Fatalf("runikraft run --gdb printed no gdb command and main address: %q", errs.String())
	}
	argv, err := shellwords(cmdline)
	if err != nil {
		t.Fatal(err)
	}
	argv = append(argv[1:], "-batch", "-ex", brk, "-ex", "continue", "-ex", "next", "-ex", "next", "-ex", "print answer", "-ex", "detach")
	g := exec.CommandContext(ctx, gdb, argv...)
	g.Dir = dir
	gout, err := g.CombinedOutput()
	t.Logf("gdb-multiarch %q:\n%s", argv, gout)
	if err != nil || !strings.Contains(string(gout), "Breakpoint 1, main () at ") || !strings.Contains(string(gout), "$1 = 42") {
		t.Errorf("gdb: %v; want a stop in main and $1 = 42", err)
	}
	if err := run.Wait(); err != nil || out.String() != "answer 42\n" {
		t.Errorf("after gdb detached: %v, stdout %q, stderr %q", err, out.String(), errs.String())
	}
}

// freePort returns a TCP port on loopback that nothing listens on now.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// shellwords splits what qemu.CommandLine quoted (single quotes only).
func shellwords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, in = true, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case c == ' ':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// A crashing C program's report carries a symbolized backtrace.
func TestCrashBacktrace(t *testing.T) {
	dir := t.TempDir()
	prog := compile(t, dir, "crash", "crash.c", "-O2")
	r := command(t, dir, runikraft, "run", prog)
	if r.code != 139 || r.stdout != "crashing\n" {
		t.Fatalf("exit %d stdout %q; want 139 and the program's line", r.code, r.stdout)
	}
	want := []string{"app killed by SIGSEGV (signal 11) at pc", "backtrace of thread 1", "#0 0x", " poke+0x", "#1 0x", " inner+0x", "#2 0x", " outer+0x"}
	rest := r.stderr
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("crash report lacks %q (in order):\n%s", w, r.stderr)
		}
		rest = rest[i+len(w):]
	}
}

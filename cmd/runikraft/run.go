package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/bootargs"
	rkimage "github.com/runikraft/runikraft/internal/image"
	"github.com/runikraft/runikraft/internal/qemu"
	"github.com/runikraft/runikraft/internal/rootfs"
	"github.com/runikraft/runikraft/internal/toolchain"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

const (
	exitUsage   = 2   // bad flags, bad image, no QEMU
	exitTimeout = 124 // as timeout(1)
	exitOutput  = 74  // the application's output could not be written: EX_IOERR
)

func runCommand(stdin *os.File) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "boot a riscv64 image on QEMU and exit with its status",
		ArgsUsage: "IMAGE [ARGS...]",
		Description: `Boots IMAGE on qemu-system-riscv64 -M virt under OpenSBI. IMAGE is either a
Runikraft image (a kernel, possibly with its application baked in) or a
static riscv64 Linux program, which then runs on the stock kernel.

A program on the stock kernel gets stdin, stdout and stderr as its own,
byte for byte (virtio-console ports on sockets): end of file on stdin
reaches it, and stdout carries nothing but its output. A terminal on stdin
is read in its usual mode (line by line; ^D ends the input). The kernel's
own messages go to stderr; the firmware banner is dropped (--debug shows
it on stderr). A Runikraft image's console is the UART, on stdin/stdout
byte for byte once the firmware banner is past. runikraft's and QEMU's
own messages go to stderr.

With --share-cwd, the application starts in a copy of the current
directory, at the same path: its regular files, not its subdirectories.
When it exits, the files it created or changed there are written back
into the directory (each only if its content differs, by atomic rename);
deletions are not. Started through binfmt_misc, runikraft shares the
current directory with every application that has no root filesystem of
its own (a program, or an image baked without --rootfs); an image with
one runs in it, and a machine image runs as is.

ARGS (after IMAGE, never parsed as flags) and -e variables reach the
guest on the kernel command line (see internal/bootargs); the guest's
argv[0] is IMAGE.

The exit status is the guest's: it powers off through the virt test
finisher, writing (code<<16)|0x3333 (or 0x5555 for 0) to 0x100000.
124 means --timeout expired, 128+N that QEMU ended on signal N, 2 a
problem found before starting QEMU. Works as go test -exec 'runikraft run'.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Value: "512M", Usage: "guest RAM: MiB number or with unit M, MiB, G, GiB (QEMU allocates host memory only as the guest touches it)"},
			&cli.IntFlag{Name: "cpus", Value: 1, Usage: "number of harts"},
			&cli.DurationFlag{Name: "timeout", Usage: "kill QEMU and exit 124 after this long (0: never)"},
			&cli.StringFlag{Name: "qemu", EnvVars: []string{"RUNIKRAFT_QEMU"}, Usage: "QEMU executable (default: " + qemu.DefaultBinary + " from PATH)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the QEMU command line and exit"},
			// Only -e: urfave/cli v2 rejects mixing two names of one flag, which
			// would make -e A=1 --env B=2 fail.
			&cli.StringSliceFlag{Name: "e", KeepSpace: true, Usage: "set guest environment variable `KEY=VALUE` (repeatable; the value is kept byte for byte, blanks too)"},
			&cli.BoolFlag{Name: "rng", Value: true, Usage: "attach a virtio-rng device (--rng=false to omit)"},
			&cli.StringFlag{Name: "rootfs", Usage: "pack directory `DIR` as the application's root filesystem (the application itself becomes /init)"},
			&cli.BoolFlag{Name: "share-cwd", Usage: shareCwdUsage},
			&cli.BoolFlag{Name: "binfmt", Hidden: true, Usage: "started by binfmt_misc: --share-cwd where the image has no root filesystem of its own"},
			&cli.StringFlag{Name: "kernel", EnvVars: []string{"RUNIKRAFT_KERNEL"}, Usage: "kernel image that runs an application IMAGE (default: runikraft-kernel.img next to runikraft)"},
			&cli.BoolFlag{Name: "debug", Usage: "have QEMU log guest errors and unimplemented device accesses; show the OpenSBI banner on stderr"},
		},
		OnUsageError: usageError("run "),
		Action:       func(c *cli.Context) error { return run(c, stdin) },
	}
}

func run(c *cli.Context, stdin *os.File) error {
	sweepStale()
	stopCatching := catchSignals()
	defer stopCatching()
	defer removeTemps()
	if c.NArg() == 0 {
		return fail(exitUsage, "run: missing IMAGE (usage: runikraft run [flags] IMAGE [ARGS...])")
	}
	image := c.Args().First()

	mem, err := qemu.ParseMemory(c.String("memory"))
	if err != nil {
		return fail(exitUsage, "--memory: %v", err)
	}
	timeout := c.Duration("timeout")
	if timeout < 0 {
		return fail(exitUsage, "--timeout: negative duration %v", timeout)
	}
	env := c.StringSlice("e")
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fail(exitUsage, "-e %q: want KEY=VALUE", kv)
		}
	}
	if n := c.Int("cpus"); n < 1 || n > qemu.MaxCPUs {
		return fail(exitUsage, "--cpus: %d out of range 1..%d", n, qemu.MaxCPUs)
	}
	if _, err := qemu.CheckImage(image); err != nil {
		return fail(exitUsage, "%v", err)
	}
	kernel, initrd, err := kernelFor(image, c.String("kernel"))
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	// The guest's argv is the image name followed by ARGS, as exec would
	// do. An application image brings default ARGS and environment.
	args := c.Args().Slice()
	appMode := initrd != ""
	baked, err := appimage.Read(image)
	switch {
	case err == nil:
		appMode = true
		if len(args) == 1 {
			args = append(args, baked.Manifest.Args...)
		}
		env = mergeEnv(baked.Manifest.Env, env)
	case initrd == "" && !errors.Is(err, appimage.ErrNotApp) && !errors.Is(err, appimage.ErrNotRunikraft):
		return fail(exitUsage, "%v", err)
	}
	cmdline, err := bootargs.Encode(args, env)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if dir := c.String("rootfs"); dir != "" {
		if baked != nil {
			return fail(exitUsage, "--rootfs: %s already carries its application and root filesystem; bake the directory in with runikraft-ld --rootfs", image)
		}
		if !appMode {
			return fail(exitUsage, "--rootfs: %s is a machine image; a root filesystem goes with an application run on the stock kernel", image)
		}
		archive, err := packRootfs(dir, image)
		if err != nil {
			return fail(exitUsage, "--rootfs: %v", err)
		}
		defer os.Remove(archive)
		initrd = archive
	}
	var shared *sharing
	share := c.Bool("share-cwd") ||
		c.Bool("binfmt") && appMode && (baked == nil || !baked.Rootfs) && c.String("rootfs") == ""
	if share {
		if !appMode {
			return fail(exitUsage, "--share-cwd: %s is a machine image; the current directory goes with an application run on the stock kernel", image)
		}
		note := func(msg string) { fmt.Fprintf(c.App.ErrWriter, "runikraft: note: --share-cwd: %s\n", msg) }
		if shared, err = shareCwd(image, initrd, c.String("rootfs") != "", baked, note); err != nil {
			return fail(exitUsage, "--share-cwd: %v", err)
		}
		defer shared.remove()
		key, err := bootargs.EncodeKey(bootargs.CwdKey, []string{shared.dir})
		if err != nil {
			return fail(exitUsage, "--share-cwd: %s: %v", shared.dir, err)
		}
		initrd, cmdline = shared.archive, cmdline+" "+key
	}
	cfg := qemu.Config{
		Kernel:    kernel,
		Initrd:    initrd,
		MemoryMiB: mem,
		CPUs:      c.Int("cpus"),
		Append:    cmdline,
		RNG:       c.Bool("rng"),
		Debug:     c.Bool("debug"),
		// The stock kernel gives an app its own streams; a machine image's
		// output is the UART itself.
		AppConsole: appMode,
	}
	if shared != nil {
		cfg.Export = shared.export
	}
	if err := cfg.Validate(); err != nil {
		return fail(exitUsage, "%v", err)
	}
	im, err := qemu.CheckImage(kernel)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if im.EntryMismatch() {
		fmt.Fprintf(c.App.ErrWriter, "runikraft: warning: %s: entry point %#x is not its lowest load address %#x; QEMU starts the image at the latter\n", image, im.Entry, im.LoadBase)
	}

	path, err := qemu.Find(c.String("qemu"))
	if err != nil && !(c.Bool("dry-run") && c.String("qemu") == "") {
		if c.String("qemu") == "" {
			return fail(exitUsage, "%s not found in PATH; run ./install.sh to install QEMU", qemu.DefaultBinary)
		}
		return fail(exitUsage, "QEMU %q (from --qemu or RUNIKRAFT_QEMU): %v; fix the path or run ./install.sh", c.String("qemu"), rootCause(err))
	}
	if c.Bool("dry-run") {
		if path == "" {
			path = qemu.DefaultBinary // not installed; show the command anyway
		}
		fmt.Fprintln(c.App.Writer, qemu.CommandLine(append([]string{path}, qemu.Args(cfg)...)))
		return nil
	}

	opts := qemu.Options{
		Path:       path,
		Args:       qemu.Args(cfg),
		AppConsole: cfg.AppConsole,
		Stdin:      stdin,
		Stdout:     c.App.Writer,
		Stderr:     c.App.ErrWriter,
		Log:        c.App.ErrWriter,
		Timeout:    timeout,
	}
	if cfg.Debug {
		opts.Banner = c.App.ErrWriter
	}
	// A closed pipe on our stdout must be an error we report (EPIPE),
	// not SIGPIPE killing us with QEMU left behind.
	signal.Ignore(syscall.SIGPIPE)
	stopCatching() // qemu.Run forwards the signals from here on
	res, err := qemu.Run(context.Background(), opts)
	if err != nil {
		return fail(exitUsage, "starting %s: %v", path, err)
	}
	if shared != nil && !res.TimedOut && res.Signal == 0 {
		// A guest stopped from outside sent nothing, or not all of it.
		shared.writeBack(c.App.ErrWriter)
	}
	code, msg := exitStatus(res, timeout, filepath.Base(path))
	if res.OutputErr != nil {
		// The application was told (its writes failed once QEMU closed
		// the port), but one that ignores write errors would exit 0.
		lost := fmt.Sprintf("the application's output could not be written (%v); the rest of it was lost", res.OutputErr)
		if code == 0 {
			code, msg = exitOutput, lost
		} else {
			fmt.Fprintln(c.App.ErrWriter, "runikraft: "+lost)
		}
	}
	if code == 0 {
		return nil
	}
	return &exitError{code: code, msg: msg}
}

// mergeEnv returns base with over applied: a key set in both takes
// over's value at base's position (the guest's libc would otherwise see
// the first of two entries).
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// exitStatus maps how QEMU ended to runikraft's exit status and message.
func exitStatus(res qemu.Result, timeout time.Duration, name string) (int, string) {
	switch {
	case res.TimedOut:
		return exitTimeout, fmt.Sprintf("timeout after %v", timeout)
	case res.Signal != 0 && res.Forwarded:
		return 128 + int(res.Signal), "" // the user sent it and knows why
	case res.Signal != 0:
		return 128 + int(res.Signal), fmt.Sprintf("%s ended by signal %d (%v)", name, int(res.Signal), res.Signal)
	case res.ExitCode != 0 && res.QEMUError == "" && res.Silent:
		// No firmware banner, no console byte: the guest never ran, so
		// the status is the program's own, not an application's.
		return res.ExitCode, fmt.Sprintf("%s exited with status %d before the machine started (no firmware output); is it qemu-system-riscv64? (--qemu, RUNIKRAFT_QEMU)", name, res.ExitCode)
	case res.ExitCode == 1 && res.QEMUError != "":
		// The guest can exit 1 too; QEMU's own complaint on stderr is
		// what tells the two apart.
		return 1, fmt.Sprintf("%s failed (exit status 1, a QEMU error, not the guest's): %s", name, res.QEMUError)
	}
	return res.ExitCode, ""
}

// rootCause strips exec's and os's wrappers, whose text repeats the path
// the message already names.
func rootCause(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err
}

// kernelFor decides how to boot image: a Runikraft image boots as is; an
// application runs on the stock kernel, which finds it in the initrd.
func kernelFor(image, kernelFlag string) (kernel, initrd string, err error) {
	bare, err := rkimage.IsMachineImage(image)
	if err != nil {
		return "", "", fmt.Errorf("%s is not a riscv64 image or program: %w", image, rootCause(err))
	}
	if bare {
		return image, "", nil
	}
	kernel, err = stockKernel(kernelFlag)
	if err != nil {
		return "", "", fmt.Errorf("%s is an application, and %w", image, err)
	}
	return kernel, image, nil
}

// stockKernel returns the kernel that runs applications: flag if set,
// else $RUNIKRAFT_KERNEL, else runikraft-kernel.img next to this executable.
func stockKernel(flag string) (string, error) {
	return toolchain.DefaultHost().Kernel(flag)
}

// packRootfs writes dir plus the application (as /init, which the stock
// kernel runs when argv[0] is not in the archive) to a temporary cpio
// archive and returns its path.
func packRootfs(dir, app string) (string, error) {
	init, err := rootfs.FileEntry("init", app, 0o755)
	if err != nil {
		return "", err
	}
	f, err := createTemp("rootfs")
	if err != nil {
		return "", err
	}
	if err := rootfs.Pack(dir, f, rootfs.Options{Extra: []cpio.Entry{init}}); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

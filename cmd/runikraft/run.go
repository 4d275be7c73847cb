package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	exitUsage    = 2   // bad flags, bad image, no QEMU
	exitBadImage = 97  // an ELF that would only hang: neither a machine image nor an application
	exitTimeout  = 124 // as timeout(1)
	exitOutput   = 74  // the application's output could not be written: EX_IOERR
)

func runCommand(stdin *os.File) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "boot a riscv64 image on QEMU and exit with its status",
		ArgsUsage: "IMAGE [ARGS...]",
		Description: `Boots IMAGE on qemu-system-riscv64 -M virt and exits with its status.

IMAGE may be:
  - an application image, from runikraft-cc, runikraft-ld or
    runikraft go build (the kernel and the program in one file);
  - any static riscv64 Linux program (Go, C on musl or glibc...), which
    then runs on the stock kernel (--kernel picks another);
  - a machine image: a Runikraft kernel, or any program linked in RAM;
  - an OCI image reference (runikraft pkg, push, pull): a name that is
    not a file and that names a registry (host.example/..., host:port/...,
    localhost/...) or an image in the local store, pulled first if needed.
ARGS after IMAGE go to the application as they are (never read as flags
or commands); its argv[0] is IMAGE. An image's baked arguments are used
when no ARGS are given, and -e adds to its baked environment.

The application's stdin, stdout and stderr are runikraft's, byte for
byte; end of file on stdin reaches it. The kernel's own log (unsupported
system calls, crash reports) is kept apart: --log FILE writes it, --debug
or --strace shows it on stderr, and otherwise it is shown only when the
kernel ends the run (a crash), after the application's output. A
machine image's console is the UART, on stdin and stdout once the
firmware banner (shown by --debug) is past.

Files: --rootfs DIR gives the application DIR as its root filesystem;
-v HOSTDIR:GUESTDIR[:ro] shares a host directory over virtio-9p;
--host-view shows it the host's files live at their own paths (with
the kernel's own /dev, /proc and /tmp), starts it in the current
directory and gives it this process's environment, as qemu-user would
(the default when started through binfmt_misc; go test -exec
'runikraft run --host-view').

Network: a program that uses sockets boots the kernel with the TCP/IP
stack and gets the loopback network; -p [HOSTIP:]HOSTPORT:GUESTPORT
publishes a port through QEMU's user networking (--net user: the guest
is 10.0.2.15 and reaches the host as 10.0.2.2).

Debugging: --strace prints every system call; --gdb[=PORT] starts QEMU
halted with a gdb stub and prints the gdb-multiarch command that loads
the kernel's and the application's symbols.

Exit status: the application's; 124 --timeout expired; 128+N the
application was killed by signal N (or QEMU was); 126 the program cannot
run (e.g. dynamically linked); 70 the kernel failed; 97 an unusable
image; 2 a problem found before booting (bad flag, missing file, no QEMU).

Examples:
  runikraft run ./hello --greeting=Hi
  runikraft run -e TZ=Europe/Paris --rootfs ./www ./server
  runikraft run --timeout 30s --log kernel.log ./app < input
  runikraft run -p 8080:80 ./server
  go test -exec 'runikraft run' ./...   (GOOS=linux GOARCH=riscv64)`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Value: "512M", Usage: "guest RAM: MiB number or with unit M, MiB, G, GiB (QEMU allocates host memory only as the guest touches it)"},
			&cli.IntFlag{Name: "cpus", EnvVars: []string{"RUNIKRAFT_CPUS"}, Value: 1, Usage: "number of harts (the kernel uses up to 32); 1 by default: a second hart makes a short single-threaded program's boot to exit slower (see the README's SMP notes); RUNIKRAFT_CPUS sets it where no flag can be given (binfmt_misc, go test -exec)"},
			&cli.DurationFlag{Name: "timeout", EnvVars: []string{"RUNIKRAFT_TIMEOUT"}, Usage: "kill QEMU and exit 124 after this long (0: never; RUNIKRAFT_TIMEOUT sets it where no flag can be given, as through binfmt_misc)"},
			&cli.StringFlag{Name: "qemu", EnvVars: []string{"RUNIKRAFT_QEMU"}, Usage: "QEMU executable (default: " + qemu.DefaultBinary + " from PATH)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the QEMU command line and exit"},
			// Only -e: urfave/cli v2 rejects mixing two names of one flag, which
			// would make -e A=1 --env B=2 fail.
			&cli.StringSliceFlag{Name: "e", KeepSpace: true, Usage: "set guest environment variable `KEY=VALUE` (repeatable; the value is kept byte for byte, blanks too)"},
			&cli.BoolFlag{Name: "rng", Value: true, Usage: "attach a virtio-rng device (--rng=false to omit)"},
			&cli.StringFlag{Name: "rootfs", Usage: "pack directory `DIR` as the application's root filesystem (the application itself becomes /init)"},
			&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: volumeUsage},
			&cli.GenericFlag{Name: "host-view", Value: &hostViewFlag{}, Usage: hostViewUsage},
			&cli.StringFlag{Name: "argv0", Hidden: true, Usage: "the application's argv[0] instead of IMAGE (binfmt_misc's P flag gives the name the program was started under)"},
			&cli.BoolFlag{Name: "binfmt", Hidden: true, Usage: "started by binfmt_misc: the host's environment, and --host-view where the image has no root filesystem of its own"},
			&cli.StringFlag{Name: "kernel", EnvVars: []string{"RUNIKRAFT_KERNEL"}, Usage: "kernel image that runs an application IMAGE (default: runikraft-kernel.img next to runikraft)"},
			&cli.StringFlag{Name: "log", Usage: logUsage},
			&cli.BoolFlag{Name: "strace", Usage: "log every system call of the application, strace style, on the kernel's log (stderr, or --log FILE)"},
			&cli.GenericFlag{Name: "gdb", Value: &gdbFlag{}, Usage: gdbUsage},
			&cli.BoolFlag{Name: "debug", Usage: "show the kernel's log (with its boot timeline and own memory) and the firmware banner on stderr, have QEMU report the guest's invalid device accesses, and end with the host's timeline (QEMU's start, the firmware's first byte, the application's first output, QEMU's exit) and CPU"},
			netFlags[0], netFlags[1],
			&cli.BoolFlag{Name: "kvm-nested", Usage: "boot under real KVM, nested: QEMU TCG with the H extension runs Debian's riscv64 Linux, whose KVM runs the image (the rig is built into ~/.cache/runikraft/kvm-rig on first use; console on the UART, no stdin)"},
		},
		OnUsageError: usageError("run "),
		Action:       func(c *cli.Context) error { return run(c, stdin) },
	}
}

func run(c *cli.Context, stdin *os.File) error {
	stopCatching := catchSignals()
	defer stopCatching()
	defer removeTemps()
	if c.NArg() == 0 {
		return fail(exitUsage, "run: missing IMAGE (usage: runikraft run [flags] IMAGE [ARGS...])")
	}
	image, err := refImage(c, c.Args().First())
	if err != nil {
		return fail(exitUsage, "%v", err)
	}

	mem, err := qemu.ParseMemory(c.String("memory"))
	if err != nil {
		return fail(exitUsage, "--memory: %v (give MiB, or a size such as 512M or 2G)", err)
	}
	timeout := c.Duration("timeout")
	if timeout < 0 {
		return fail(exitUsage, "--timeout: negative duration %v (give e.g. 30s or 5m; 0 means no limit)", timeout)
	}
	env := c.StringSlice("e")
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fail(exitUsage, "-e %q: want KEY=VALUE", kv)
		}
	}
	if n := c.Int("cpus"); n < 1 || n > qemu.MaxCPUs {
		return fail(exitUsage, "--cpus: %d out of range 1..%d (give a number of harts in that range)", n, qemu.MaxCPUs)
	}
	if _, err := qemu.CheckImage(image); err != nil {
		return fail(exitUsage, "%v (runikraft run boots an image from runikraft-cc, runikraft-ld or runikraft go build, or a static riscv64 Linux program)", err)
	}
	kernel, initrd, err := kernelFor(image, c.String("kernel"))
	if errors.Is(err, rkimage.ErrUnusable) {
		return fail(exitBadImage, "%v", err)
	}
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	args, env, baked, appMode, err := guestArgs(c, image, initrd, env)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	view, err := chooseHostView(c, image, baked, appMode)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	hostEnvOn := view != nil || c.Bool("binfmt") && appMode
	if hostEnvOn {
		// The host's environment, as qemu-user passes it: over the
		// image's baked one, under -e.
		root, tmp := "/", ""
		if view != nil {
			root, tmp = view.root, view.tmp
		}
		host, dropped := hostEnv(os.Environ(), root, tmp)
		if c.Bool("debug") {
			for _, d := range dropped {
				fmt.Fprintf(c.App.ErrWriter, "runikraft: host view: not passed to the application: %s\n", d)
			}
		}
		var bakedEnv []string
		if baked != nil {
			bakedEnv = baked.Manifest.Env
		}
		env = mergeEnv(mergeEnv(bakedEnv, host), c.StringSlice("e"))
	}
	cmdline, err := bootargs.Encode(args, env)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if dir := c.String("rootfs"); dir != "" {
		app := image
		switch {
		case baked != nil && baked.Rootfs:
			from := ""
			if baked.Manifest.Rootfs != "" {
				from = " (packed from " + baked.Manifest.Rootfs + ")"
			}
			return fail(exitUsage, "--rootfs: %s already has a root filesystem baked in%s; rebuild it with runikraft-ld --rootfs %s (or runikraft go build --rootfs), or run it without --rootfs", image, from, dir)
		case baked != nil:
			// The application baked into the image goes into the
			// archive as /init; QEMU's -initrd wins over the baked one.
			if app, err = writeTemp("runikraft-app-*", baked.Initrd); err != nil {
				return fail(exitUsage, "--rootfs: %v", err)
			}
			defer os.Remove(app)
		case !appMode:
			return fail(exitUsage, "--rootfs: %s is a machine image, which has no application to give a root filesystem; --rootfs goes with a program run on the stock kernel or an application image", image)
		}
		archive, err := packRootfs(dir, app)
		if err != nil {
			return fail(exitUsage, "--rootfs: %v", err)
		}
		defer os.Remove(archive)
		initrd = archive
	}
	nested := c.Bool("kvm-nested")
	vols, volKey, err := volumes(c.StringSlice("volume"), baked)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if len(vols) > 0 && !appMode {
		return fail(exitUsage, "-v: %s is a machine image; volumes are mounted by the stock kernel for an application", image)
	}
	if volKey != "" {
		cmdline += " " + volKey
	}
	if view != nil {
		qv, key, err := view.volumes()
		if err != nil {
			return fail(exitUsage, "--host-view: %v", err)
		}
		vols = append(vols, qv...)
		cmdline += " " + key
	}
	if c.Bool("strace") {
		if !appMode {
			return fail(exitUsage, "--strace: %s is a machine image; --strace traces an application run on the stock kernel", image)
		}
		cmdline += " " + bootargs.StraceKey + "=1"
	}
	if c.Bool("debug") && appMode {
		cmdline += " " + bootargs.DebugKey + "=1" // the kernel logs its boot timeline
	}
	var gdb *gdbSession
	if g := c.Generic("gdb").(*gdbFlag); g.port != 0 {
		if gdb, err = newGDBSession(g.port, image, baked, appMode); err != nil {
			return fail(exitUsage, "--gdb: %v", err)
		}
		defer gdb.remove()
		if gdb.base != 0 {
			cmdline += fmt.Sprintf(" %s=%#x", bootargs.LoadBaseKey, gdb.base)
		}
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
		// output is the UART itself, as is everything in the nested rig.
		AppConsole: appMode && !nested,
		Volumes:    vols,
	}
	// A log shown only at the end (see kernellog.go) goes to a file QEMU
	// writes, not through runikraft byte by byte.
	cfg.HeldLog = cfg.AppConsole && c.String("log") == "" && !c.Bool("debug") && !c.Bool("strace") && qemu.CanHoldLog()
	if gdb != nil {
		cfg.GDBPort = gdb.port
	}
	app := "" // an application on a kernel runikraft picks
	if appMode && baked == nil && c.String("kernel") == "" {
		app = image
	}
	gnet, err := network(c, app)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if err := gnet.apply(&cfg, app != ""); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if err := cfg.Validate(); err != nil {
		if hostEnvOn && len(cfg.Append) > qemu.MaxCmdline/2 {
			return fail(exitUsage, "%v: %s", err, envHint(env))
		}
		return fail(exitUsage, "%v", err)
	}
	if err := checkFit(cfg, image); err != nil {
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
	if nested {
		return runNested(c, path, cfg, timeout)
	}
	if c.Bool("dry-run") {
		if path == "" {
			path = qemu.DefaultBinary // not installed; show the command anyway
		}
		fmt.Fprintln(c.App.Writer, qemu.CommandLine(append([]string{path}, qemu.Args(cfg)...)))
		return nil
	}

	klog, err := openKernelLog(c.String("log"), cfg.Debug || c.Bool("strace"), c.App.ErrWriter)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	klog.noNote = c.Bool("binfmt")
	opts := qemu.Options{
		Path:       path,
		Args:       qemu.Args(cfg),
		AppConsole: cfg.AppConsole,
		HeldLog:    cfg.HeldLog,
		Stdin:      stdin,
		Stdout:     c.App.Writer,
		Stderr:     c.App.ErrWriter,
		Log:        klog.writer(),
		Timeout:    timeout,
	}
	if cfg.Debug {
		opts.Banner = c.App.ErrWriter
	}
	if gdb != nil {
		// gdb reads the kernel's symbols from the kernel image an
		// application image was baked from (the image leaves them out).
		syms, _ := symbolFile(kernel)
		fmt.Fprintf(c.App.ErrWriter, "runikraft: --gdb: QEMU waits, halted, for gdb on 127.0.0.1:%d; in another terminal run:\n  %s\n", gdb.port, gdb.command(syms))
		if gdb.noDWARF {
			fmt.Fprintf(c.App.ErrWriter, "runikraft: --gdb: note: the application has no debugging information (images drop it to save the guest's RAM), so gdb knows its functions but not its lines or variables; for those, build the program alone with -g (runikraft-cc --app-only -g, or go build with GOOS=linux GOARCH=riscv64) and run that: runikraft run --gdb PROGRAM\n")
		}
		if gdb.mainAt != 0 {
			fmt.Fprintf(c.App.ErrWriter, "runikraft: --gdb: the application's %s is at %#x (the kernel, a Go program, has a %[1]s too): \"break *%#[2]x\", then \"continue\"\n", gdb.main, gdb.mainAt)
		}
	}
	// A closed pipe on our stdout must be an error we report (EPIPE),
	// not SIGPIPE killing us with QEMU left behind.
	signal.Ignore(syscall.SIGPIPE)
	stopCatching() // qemu.Run forwards the signals from here on
	// Other runs' leftovers are swept while QEMU starts, not before: the
	// directory read is a millisecond of a short run's start.
	go sweepStale()
	res, err := qemu.Run(context.Background(), opts)
	if err != nil {
		klog.finish(0, false, c.App.ErrWriter)
		return fail(exitUsage, "starting %s: %v", path, err)
	}
	if c.Bool("debug") {
		fmt.Fprintln(c.App.ErrWriter, hostTimeline(res))
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
	if err := klog.finish(code, res.TimedOut, c.App.ErrWriter); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "runikraft: --log: %v\n", err)
	}
	if code == 0 {
		return nil
	}
	return &exitError{code: code, msg: msg}
}

// guestArgs is what the guest gets for image: its argv, the image name
// followed by ARGS as exec would do, or by an application image's baked
// defaults when no ARGS are given; the environment, -e over the baked
// one; the baked image, if it is one; and whether an application runs
// (baked in, or the initrd on a kernel runikraft picks).
func guestArgs(c *cli.Context, image, initrd string, env []string) (args, outEnv []string, baked *appimage.Info, appMode bool, err error) {
	args = c.Args().Slice()
	if a0 := c.String("argv0"); a0 != "" {
		args[0] = a0
	}
	if initrd != "" {
		// kernelFor found a program that QEMU cannot boot by itself: an
		// application image is a machine image (its kernel loads in
		// RAM), so this is not one, and reading it as one would only
		// search its symbol table for the kernel's bootInfo.
		return args, env, nil, true, nil
	}
	baked, err = appimage.Read(image)
	switch {
	case err == nil:
		appMode = true
		if len(args) == 1 {
			args = append(args, baked.Manifest.Args...)
		}
		env = mergeEnv(baked.Manifest.Env, env)
	case !errors.Is(err, appimage.ErrNotApp) && !errors.Is(err, appimage.ErrNotRunikraft):
		return nil, nil, nil, false, err
	default:
		baked = nil
	}
	return args, env, baked, appMode, nil
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
	if errors.Is(err, rkimage.ErrUnusable) {
		return "", "", err
	}
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

// writeTemp writes data to a new temporary file and returns its name.
func writeTemp(pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
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

// plainELF reports whether the initrd file is an ELF program rather than
// a root filesystem's archive.
func plainELF(initrd string) bool {
	f, err := os.Open(initrd)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "\x7fELF"
}

// checkFit refuses, with the RAM it would need, a run whose image and
// initrd (application, root filesystem) QEMU could
// not place in -m: QEMU would only say "Some ROM regions are overlapping".
func checkFit(cfg qemu.Config, image string) error {
	l, err := qemu.ReadLayout(cfg.Kernel, cfg.Initrd)
	if err != nil {
		return nil // CheckImage reports a bad image; an unknown layout is QEMU's to judge
	}
	need := l.NeedMiB()
	if cfg.AppConsole && need > 0 {
		// The stock kernel also copies the initrd (the application's
		// pages, or the root filesystem unpacked into its heap, an eighth
		// more for the heap's own overhead) and needs a few MiB of its
		// own. Measured: a C hello runs from 10 MiB.
		const kernelMiB = 3
		copies := 2*l.InitrdSize + l.InitrdSize/8
		if plainELF(cfg.Initrd) {
			// A program alone is loaded from its own pages (its
			// read-only ones become the application's) and the rest
			// given back: at most the file and its writable part's copy.
			copies = l.InitrdSize + l.InitrdSize/8
		}
		need = max(need, (l.KernelHi-qemu.RAMBase+copies+(1<<20-1))>>20+kernelMiB)
	}
	// Where QEMU puts the initrd moves with -m, so a size above the
	// estimate may still not fit: ask for one that does.
	for need > 0 && !l.Fits(need) {
		if need++; need > qemu.MaxMemoryMiB {
			need = 0
		}
	}
	if need > 0 && cfg.MemoryMiB >= need && l.Fits(cfg.MemoryMiB) {
		return nil
	}
	what, verb := fmt.Sprintf("the %.1f MiB image", float64(l.KernelHi-l.KernelLo)/(1<<20)), "does"
	if l.InitrdSize > 0 {
		what += fmt.Sprintf(" and its %.1f MiB initrd (application and root filesystem)", float64(l.InitrdSize)/(1<<20))
		verb = "do"
	}
	if need > 0 {
		return fmt.Errorf("%s: %s %s not fit in -m %s: it needs -m %dM or more", image, what, verb, qemu.FormatMemory(cfg.MemoryMiB), need)
	}
	return fmt.Errorf("%s: %s %s not fit in any memory size QEMU's loader can place it in", image, what, verb)
}

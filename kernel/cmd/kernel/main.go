//go:build riscv64

// Command kernel is the stock Runikraft kernel: it runs the application
// QEMU placed in RAM as the initrd (runikraft run does that), with the
// arguments and environment from the kernel command line, and powers off
// with the application's exit status.
//
// The initrd is either the application's ELF file, or a cpio newc
// archive (magic "070701"): the root filesystem, unpacked into / before
// the application starts, whose regular file at argv[0] (or, failing
// that, /init) is the application.
//
// With runikraft.cwd on the command line (runikraft run's host view),
// the application starts in that directory; with runikraft.hostview
// and runikraft.volumes, host directories are mounted over virtio-9p
// (hostview.go, volumes.go).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/runikraft/runikraft/internal/bootargs"
	_ "github.com/runikraft/runikraft/kernel" // devices: virtio-rng reseeds the generator before the app starts
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/console"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
	"github.com/runikraft/runikraft/kernel/hart"
	"github.com/runikraft/runikraft/kernel/loader"
	"github.com/runikraft/runikraft/posix"
)

// Exit statuses of the kernel's own refusals, as a shell reports them.
const (
	exitCannotExecute = 126 // the application is not a program we can run
)

// report is whether the command line has bootargs.ReportKey, once run
// has parsed it (nil before: then main looks for the key itself).
var report *bool

func main() {
	status := run()
	if report == nil {
		// run ended before the command line was parsed.
		_, ok, _ := bootargs.DecodeKey(hart.Bootargs(), bootargs.ReportKey)
		report = &ok
	}
	if *report {
		fmt.Fprintf(os.Stderr, "%s%d\n", bootargs.ExitReport, status)
	}
	os.Exit(status)
}

func run() int {
	hart.Stamp(hart.PhaseMain)
	logw := os.Stderr
	app := hart.Initrd()
	if len(app) == 0 {
		fmt.Fprintln(logw, "runikraft: no application in this image (boot it with runikraft run APP, or bake one in)")
		return abi.ExitBadImage
	}
	cl, base, args, env, cwd, err := commandLine(logw)
	if err == nil {
		// From the parse run just did: a second scan at exit ran
		// code (QEMU translated it) for one flag.
		_, ok := cl.Params[bootargs.ReportKey]
		report = &ok
	}
	if err != nil {
		fmt.Fprintf(logw, "runikraft: %v\n", err)
		return abi.ExitBadImage
	}
	var archive []byte
	if bytes.HasPrefix(app, []byte("070701")) {
		archive = app
		if app, err = appFromArchive(app, args[0]); err != nil {
			fmt.Fprintf(logw, "runikraft: root filesystem: %v\n", err)
			return abi.ExitBadImage
		}
	}
	var rootfs io.Reader
	if archive != nil {
		rootfs = bytes.NewReader(archive)
	}
	mounts, err := zoneMounts(archive)
	if err != nil {
		fmt.Fprintf(logw, "runikraft: time zones: %v\n", err)
		return abi.ExitKernelPanic
	}
	vols, err := volumes(cl, base)
	if err != nil {
		fmt.Fprintf(logw, "runikraft: kernel command line: %v\n", err)
		return abi.ExitBadImage
	}
	view, err := hostView(cl)
	if err != nil {
		fmt.Fprintf(logw, "runikraft: kernel command line: %v\n", err)
		return abi.ExitBadImage
	}
	// A plain program is loaded from its file's pages (loader.File): its
	// read-only segments' whole pages become the application's instead
	// of being copied. An archive's files stay the filesystems' own.
	var r io.ReaderAt = loader.File(app)
	if archive != nil {
		r = bytes.NewReader(app)
	}
	img, err := loader.Parse(r, int64(len(app)))
	if err != nil {
		fmt.Fprintf(logw, "runikraft: cannot run %s: %v\n", args[0], err)
		return exitCannotExecute
	}
	// runikraft run --gdb chooses the (random) base itself, to tell gdb.
	var loadBase uint64
	if v, ok := cl.Params[bootargs.LoadBaseKey]; ok {
		if loadBase, err = strconv.ParseUint(v, 0, 64); err != nil || loadBase%4096 != 0 {
			fmt.Fprintf(logw, "runikraft: warning: kernel command line: ignoring %s=%s: want a page-aligned address\n", bootargs.LoadBaseKey, v)
			loadBase = 0
		}
	}
	l, err := loader.LoadAt(img, r, args, env, hart.RandomReader, loadBase)
	if err != nil {
		fmt.Fprintf(logw, "runikraft: cannot load %s: %v\n", args[0], err)
		return exitCannotExecute
	}
	symbols, released := app, uint64(0)
	if archive == nil {
		// The program is loaded; keep what crash reports read of its
		// file and give the file's other pages to the allocator: on a
		// small machine the file is a good part of the application's
		// room (2.3 MiB of 16 for a Go program). The symbols are copied
		// from pages no segment adopted (the tables lie after them).
		symbols = loader.KeepSymbols(app)
		released = hart.ReleaseInitrd()
	}
	hart.Stamp(hart.PhaseLoader)
	if loadBase != 0 {
		fmt.Fprintf(logw, "runikraft: %s loaded at %#x (load bias %#x) for the debugger\n", args[0], l.Base, l.Bias)
	}
	var trace io.Writer
	if cl.Params[bootargs.StraceKey] == "1" {
		trace = logw
	}
	var ram uint64
	m := hart.Machine()
	for i := 0; i < m.NMem; i++ {
		ram += m.Mem[i].Size
	}
	mounts = withHostView(view, mounts, volumeMounts(vols, ram, logw), ram, logw)
	p, err := posix.Start(posix.Config{
		CPU:         posix.HartCPU{},
		Stdin:       console.Stdin(),
		Stdout:      console.Stdout(),
		Stderr:      console.Stderr(),
		Log:         logw,
		Trace:       trace,
		Random:      hart.RandomReader,
		Entry:       l.Entry,
		SP:          l.SP,
		BrkStart:    uintptr(l.Brk),
		Args:        args,
		Symbolize:   symbolizer(symbols, l.Bias),
		MemoryBytes: ram,
		MemoryRoom:  hart.MemoryRoom,
		MemoryFree: func() uint64 {
			s := hart.ReadMemStats()
			return s.Total - min(s.InUse, s.Total)
		},
		MemoryResident: func() (uint64, uint64) {
			s := hart.ReadMemStats()
			return s.App, max(s.AppPeak, s.App)
		},
		MemoryReport: func() string {
			s := hart.ReadMemStats()
			return fmt.Sprintf("RAM %s, application resident %s, kernel %s", mib(ram), mib(s.App), mib(s.InUse-min(s.InUse, s.App)))
		},
		RootFS: rootfs,
		Mounts: mounts,
		Cwd:    cwd,
		Net:    netStack(logw),
	})
	if err != nil && rootfs != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, io.ErrShortWrite)) {
		fmt.Fprintf(logw, "runikraft: %v: the root filesystem does not fit in RAM next to its archive; give the machine more memory (runikraft run -m)\n", err)
		return abi.ExitBadImage
	}
	if err != nil {
		fmt.Fprintf(logw, "runikraft: %v\n", err)
		return abi.ExitKernelPanic
	}
	hart.Stamp(hart.PhaseRootFS)
	var booted chan struct{}
	if cl.Params[bootargs.DebugKey] == "1" {
		booted = make(chan struct{})
		go func() { logBoot(logw, ram, uint64(len(app)), released); close(booted) }()
	}
	status := p.Wait()
	if booted != nil {
		<-booted // a short-lived application's timeline still comes out
		logAccount(logw, "at the application's exit")
	}
	return status
}

// commandLine returns the application's argv and environment and the
// shared working directory from the kernel command line laid over the
// defaults baked into the image (see internal/bootargs: runikraft run's
// encoded form, or Linux's KEY=VALUE ... -- ARGS). Words it cannot use
// are logged, one line each, and skipped.
func commandLine(logw io.Writer) (cl, base bootargs.Cmdline, args, env []string, cwd string, err error) {
	cl, err = bootargs.Parse(hart.Bootargs())
	if err != nil {
		return cl, base, nil, nil, "", fmt.Errorf("kernel command line: %w", err)
	}
	for _, w := range cl.Warnings {
		fmt.Fprintf(logw, "runikraft: warning: kernel command line: %s\n", w)
	}
	if d := hart.DefaultBootargs(); d != "" {
		if base, err = bootargs.Parse(d); err != nil {
			return cl, base, nil, nil, "", fmt.Errorf("the image's baked command line: %w", err)
		}
	}
	args, env = cl.Over(base)
	if len(args) == 0 {
		args = []string{"app"}
	}
	if cwd, err = sharedDir(cl); err != nil {
		return cl, base, nil, nil, "", fmt.Errorf("kernel command line: %w", err)
	}
	return cl, base, args, env, cwd, nil
}

// symbolizer names the function around a PC from the application's own
// symbol table, read only when a crash is reported.
func symbolizer(app []byte, bias uint64) func(pc uint64) string {
	var once sync.Once
	var funcs []loader.Func
	return func(pc uint64) string {
		once.Do(func() { funcs = loader.Funcs(app) }) // a backtrace asks about many addresses
		return loader.FuncAt(funcs, pc-bias)
	}
}

// appFromArchive returns the regular file at name (else "init") in a
// newc archive. A hard-linked file's data is on its last link, so a
// data-less match is followed to the entry of the same inode that has it.
func appFromArchive(archive []byte, name string) ([]byte, error) {
	want := map[string]bool{strings.TrimLeft(name, "/"): true, "init": true}
	found := map[string][]byte{}
	var pending []cpio.Header // data-less links we matched
	r := cpio.NewReader(bytes.NewReader(archive), cpio.MaxSize)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !h.Mode.IsRegular() {
			continue
		}
		if !want[h.Name] && !linked(pending, h) {
			continue
		}
		if h.Size == 0 && h.Nlink > 1 {
			pending = append(pending, *h)
			continue
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		found[h.Name] = body
		for _, p := range pending {
			if p.Ino == h.Ino && p.DevMajor == h.DevMajor && p.DevMinor == h.DevMinor {
				found[p.Name] = body
			}
		}
	}
	for _, n := range []string{strings.TrimLeft(name, "/"), "init"} {
		if b, ok := found[n]; ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no application: neither /%s nor /init is a file in the archive", strings.TrimLeft(name, "/"))
}

// linked reports whether h is another link of a file we are waiting for.
func linked(pending []cpio.Header, h *cpio.Header) bool {
	for _, p := range pending {
		if p.Ino == h.Ino && p.DevMajor == h.DevMajor && p.DevMinor == h.DevMinor {
			return true
		}
	}
	return false
}

// mib renders a byte count for the out-of-memory report.
func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

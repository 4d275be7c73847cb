// Package linuxguest is the benchmarks' measuring stick: the same program
// run in a small Linux VM on the same QEMU, which is what a user would
// pick instead of a Runikraft image.
//
// The guest is Linux 6.1 from Debian 12's source package (tinyconfig plus
// guest.config: 64-bit, SMP, virtio-mmio devices, 9P, serial console,
// initramfs, sockets, syscon power-off, optimised for speed) and a tiny
// static init (init.c). Ensure builds both once into the user's cache
// directory (about 10-15 minutes on two cores, logged to build.log there);
// Run packs the program, its files and a run spec into an initramfs per
// run and boots it:
//
//	g, err := linuxguest.Ensure(ctx, linuxguest.Options{Log: os.Stderr})
//	res, err := g.Run(ctx, "./calls", []string{"20000"}, nil, linuxguest.RunOptions{})
//	fmt.Print(string(res.Output), res.Status, res.Wall)
//
// Nothing here runs in CI: building a Linux kernel is far too slow for it.
package linuxguest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runikraft/runikraft/internal/flock"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

var (
	//go:embed guest/build-kernel.sh
	buildScript []byte
	//go:embed guest/guest.config
	guestConfig []byte
	//go:embed guest/init.c
	initSource []byte
)

// recipe changes whenever the way the guest is built changes in a way the
// embedded files do not show, so a cached guest built the old way is
// rebuilt.
const recipe = "linux-guest 1"

// Guest is a built Linux guest.
type Guest struct {
	Dir    string // the cache directory
	Kernel string // arch/riscv/boot/Image, for -kernel
	Init   string // the static init
	// Version is the Debian source package's directory, e.g. linux-6.1.176.
	Version string
}

// Options for Ensure.
type Options struct {
	// Dir is the cache directory; "" is DefaultDir().
	Dir string
	// Log receives progress lines and the build's output; nil discards
	// them (the build also logs to build.log in Dir).
	Log io.Writer
	// Jobs is make's -j; 0 is 2.
	Jobs int
}

// DefaultDir is $RUNIKRAFT_CACHE/linux-guest, or runikraft/linux-guest in
// the user's cache directory (next to the other downloads the project
// keeps there).
func DefaultDir() (string, error) {
	if d := os.Getenv("RUNIKRAFT_CACHE"); d != "" {
		return filepath.Join(d, "linux-guest"), nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("linux guest: no cache directory: %w", err)
	}
	return filepath.Join(c, "runikraft", "linux-guest"), nil
}

func stamp(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Ensure returns the guest in the cache, building the kernel and the init
// first if they are missing or were built from other inputs. Concurrent
// callers wait for one build.
func Ensure(ctx context.Context, o Options) (*Guest, error) {
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	unlock, err := flock.LockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("linux guest: %w", err)
	}
	defer unlock()

	g := &Guest{Dir: dir, Kernel: filepath.Join(dir, "Image"), Init: filepath.Join(dir, "init")}
	kstamp := stamp([]byte(recipe), buildScript, guestConfig)
	if !current(filepath.Join(dir, "kernel.stamp"), kstamp, g.Kernel) {
		if err := buildKernel(ctx, dir, kstamp, o.Jobs, log); err != nil {
			return nil, err
		}
	}
	istamp := stamp([]byte(recipe), initSource)
	if !current(filepath.Join(dir, "init.stamp"), istamp, g.Init) {
		if err := buildInit(ctx, dir, istamp); err != nil {
			return nil, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "version")); err == nil {
		g.Version = strings.TrimSpace(string(b))
	}
	return g, nil
}

// current reports whether the stamp file holds want and the built file
// exists.
func current(stampFile, want, built string) bool {
	b, err := os.ReadFile(stampFile)
	if err != nil || string(b) != want {
		return false
	}
	fi, err := os.Stat(built)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

func buildKernel(ctx context.Context, dir, kstamp string, jobs int, log io.Writer) error {
	os.Remove(filepath.Join(dir, "kernel.stamp"))
	os.Remove(filepath.Join(dir, "Image"))
	rdir := filepath.Join(dir, "recipe")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(rdir, "build-kernel.sh"), buildScript, 0o755); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(rdir, "guest.config"), guestConfig, 0o644); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	lf, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	defer lf.Close()
	if jobs <= 0 {
		jobs = 2
	}
	start := time.Now()
	fmt.Fprintf(log, "linuxguest: building the Linux guest kernel in %s (once; about 10-15 minutes at -j2; log: %s)\n", dir, lf.Name())
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(rdir, "build-kernel.sh"), dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("RUNIKRAFT_LINUX_JOBS=%d", jobs))
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("linux guest: building the kernel failed (%w); see %s", err, lf.Name())
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.stamp"), []byte(kstamp), 0o644); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	fmt.Fprintf(log, "linuxguest: kernel built in %v\n", time.Since(start).Round(time.Second))
	return nil
}

func buildInit(ctx context.Context, dir, istamp string) error {
	src := filepath.Join(dir, "recipe", "init.c")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	if err := os.WriteFile(src, initSource, 0o644); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	out := filepath.Join(dir, "init")
	cmd := exec.CommandContext(ctx, "riscv64-linux-gnu-gcc", "-static", "-O2", "-Wall", "-o", out+".tmp", src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("linux guest: compiling the init: %w\n%s", err, b)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "init.stamp"), []byte(istamp), 0o644); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	return nil
}

// Share is a host directory the guest mounts over virtio-9p.
type Share struct {
	HostDir  string
	GuestDir string
	// ReadOnly makes QEMU refuse writes to the share.
	ReadOnly bool
}

// RunOptions shape the VM and what the init sets up.
type RunOptions struct {
	Mem  string // -m; "" is 256M
	CPUs int    // -smp; 0 is 1
	// Net gives the guest a virtio-net device on QEMU user networking with
	// QEMU's addresses (10.0.2.15/24, gateway 10.0.2.2); Forwards are
	// hostfwd rules such as "tcp:127.0.0.1:8080-:80" and imply Net.
	Net      bool
	Forwards []string
	Shares   []Share
	// Files are extra files for the initramfs: guest path -> host path.
	Files map[string]string
	// Rootfs is a newc cpio archive (a Runikraft image's root filesystem)
	// unpacked before the init's own archive, whose /init, /run.spec and
	// program replace any of the same name in it.
	Rootfs []byte
	Cwd    string // the program's working directory; "" is /
	// Timeout bounds the whole run; 0 is 10 minutes.
	Timeout time.Duration
	// QEMUArgs are appended to QEMU's command line.
	QEMUArgs []string
}

// Result is one finished run.
type Result struct {
	Output []byte // what the program wrote to its stdout and stderr (the console), \r\n as \n
	Status int    // its exit status; 128+N for signal N
	// Wall is QEMU's start to QEMU's exit; Started is QEMU's start to the
	// init's "start" line (just before the program is forked).
	Wall, Started time.Duration
	// CPU is the host CPU time QEMU used (user and system): under load
	// it moves far less than Wall.
	CPU     time.Duration
	Console []byte // the whole console: firmware, kernel, init, program
}

// Process is a run in progress (Start); Wait for its Result.
type Process struct {
	cmd     *exec.Cmd
	start   time.Time
	nonce   string
	tmp     string
	cancel  context.CancelFunc
	console bytes.Buffer
	mu      sync.Mutex
	started time.Duration
	startCh chan struct{}
	done    chan struct{}
	readErr error
}

// Run boots the guest with program (a static riscv64 Linux ELF on the
// host) as /bin/NAME, argv[0] that path, then args; env is the program's
// whole environment.
func (g *Guest) Run(ctx context.Context, program string, args, env []string, o RunOptions) (*Result, error) {
	p, err := g.Start(ctx, program, args, env, o)
	if err != nil {
		return nil, err
	}
	return p.Wait()
}

// GuestPath is where Run and Start put program in the guest.
func GuestPath(program string) string { return "/bin/" + filepath.Base(program) }

// Start boots the guest like Run but returns at once.
func (g *Guest) Start(ctx context.Context, program string, args, env []string, o RunOptions) (*Process, error) {
	nb := make([]byte, 8)
	if _, err := rand.Read(nb); err != nil {
		return nil, fmt.Errorf("linux guest: %w", err)
	}
	nonce := "lg-" + hex.EncodeToString(nb)
	tmp, err := os.MkdirTemp("", "runikraft-linuxguest-")
	if err != nil {
		return nil, fmt.Errorf("linux guest: %w", err)
	}
	fail := func(err error) (*Process, error) {
		os.RemoveAll(tmp)
		return nil, err
	}
	spec, err := Spec(nonce, append([]string{GuestPath(program)}, args...), env, o)
	if err != nil {
		return fail(err)
	}
	files := map[string]string{GuestPath(program): program}
	for gp, hp := range o.Files {
		if _, dup := files[gp]; dup {
			return fail(fmt.Errorf("linux guest: %s given twice", gp))
		}
		files[gp] = hp
	}
	initrd := filepath.Join(tmp, "initramfs.cpio")
	if err := writeInitramfs(initrd, o.Rootfs, g.Init, spec, files); err != nil {
		return fail(err)
	}

	mem, cpus := o.Mem, o.CPUs
	if mem == "" {
		mem = "256M"
	}
	if cpus <= 0 {
		cpus = 1
	}
	argv := []string{"-M", "virt", "-m", mem, "-smp", fmt.Sprint(cpus), "-nographic", "-bios", "default",
		"-no-reboot", "-kernel", g.Kernel, "-initrd", initrd,
		"-append", "console=ttyS0 quiet rdinit=/init panic=-1",
		"-device", "virtio-rng-device"}
	if o.Net || len(o.Forwards) > 0 {
		nd := "user,id=n0"
		for _, f := range o.Forwards {
			if strings.ContainsAny(f, ", ") {
				return fail(fmt.Errorf("linux guest: bad forward %q", f))
			}
			nd += ",hostfwd=" + f
		}
		argv = append(argv, "-netdev", nd, "-device", "virtio-net-device,netdev=n0")
	}
	for i, s := range o.Shares {
		if strings.Contains(s.HostDir, ",") {
			return fail(fmt.Errorf("linux guest: share path %q has a comma", s.HostDir))
		}
		fsdev := fmt.Sprintf("local,id=fs%d,path=%s,security_model=none", i, s.HostDir)
		if s.ReadOnly {
			fsdev += ",readonly=on"
		}
		argv = append(argv, "-fsdev", fsdev, "-device", fmt.Sprintf("virtio-9p-device,fsdev=fs%d,mount_tag=share%d", i, i))
	}
	argv = append(argv, o.QEMUArgs...)

	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	cmd := exec.CommandContext(cctx, "qemu-system-riscv64", argv...)
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return fail(err)
	}
	cmd.Stderr = cmd.Stdout
	p := &Process{cmd: cmd, nonce: nonce, tmp: tmp, cancel: cancel, startCh: make(chan struct{}), done: make(chan struct{})}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		return fail(fmt.Errorf("linux guest: %w", err))
	}
	go p.read(out)
	return p, nil
}

// read collects the console and notes when the init's start line shows.
func (p *Process) read(r io.Reader) {
	defer close(p.done)
	marker := []byte(p.nonce + " start")
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.console.Write(buf[:n])
			if p.started == 0 && bytes.Contains(p.console.Bytes(), marker) {
				p.started = time.Since(p.start)
				close(p.startCh)
			}
			p.mu.Unlock()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				p.readErr = err
			}
			return
		}
	}
}

// Started is closed when the init is about to run the program.
func (p *Process) Started() <-chan struct{} { return p.startCh }

// PID is QEMU's process id (benchmarks read its threads' CPU time).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Kill ends the VM (Wait then reports the run as failed unless the
// program had already exited).
func (p *Process) Kill() { p.cmd.Process.Kill() }

// Wait waits for QEMU to exit and returns the run's result. An error
// means the run gave no exit status (QEMU failed, the timeout hit, the
// init never reported).
func (p *Process) Wait() (*Result, error) {
	defer p.cancel()
	defer os.RemoveAll(p.tmp)
	<-p.done
	werr := p.cmd.Wait()
	wall := time.Since(p.start)
	p.mu.Lock()
	console := append([]byte(nil), p.console.Bytes()...)
	started := p.started
	p.mu.Unlock()
	res := &Result{Wall: wall, Started: started, Console: console}
	if ps := p.cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
	}
	prog, status, err := ParseConsole(console, p.nonce)
	if err != nil {
		return res, fmt.Errorf("linux guest: %w (qemu: %v)\n%s", err, werr, tail(console, 2000))
	}
	res.Output, res.Status = prog, status
	// The finisher carries the same status as QEMU's exit status; a
	// disagreement means the power-off path broke, worth knowing.
	if code := p.cmd.ProcessState.ExitCode(); code != status&0xff {
		return res, fmt.Errorf("linux guest: the init reported status %d but QEMU exited %d (qemu: %v)", status, code, werr)
	}
	return res, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// ParseConsole finds the init's "NONCE start" and "NONCE exit STATUS"
// lines in a console transcript and returns what the program wrote in
// between (\r\n turned to \n, as the console's tty adds \r) and STATUS.
func ParseConsole(console []byte, nonce string) ([]byte, int, error) {
	if nonce == "" {
		return nil, 0, errors.New("empty nonce")
	}
	startMark := []byte(nonce + " start\r\n")
	i := bytes.Index(console, startMark)
	skip := len(startMark)
	if i < 0 {
		startMark = startMark[:len(startMark)-2]
		if i = bytes.Index(console, append(startMark, '\n')); i < 0 {
			return nil, 0, errors.New("the init never started the program")
		}
		skip = len(startMark) + 1
	}
	rest := console[i+skip:]
	exitMark := []byte(nonce + " exit ")
	j := bytes.LastIndex(rest, exitMark)
	if j < 0 {
		return nil, 0, errors.New("the init never reported an exit status")
	}
	num := rest[j+len(exitMark):]
	status, digits := 0, 0
	for digits < len(num) && num[digits] >= '0' && num[digits] <= '9' {
		status = status*10 + int(num[digits]-'0')
		digits++
		if digits > 3 {
			return nil, 0, errors.New("exit status out of range")
		}
	}
	if digits == 0 || status > 255 {
		return nil, 0, errors.New("malformed exit status line")
	}
	out := bytes.ReplaceAll(rest[:j], []byte("\r\n"), []byte("\n"))
	return out, status, nil
}

// Spec encodes the init's /run.spec (see init.c).
func Spec(nonce string, argv, env []string, o RunOptions) ([]byte, error) {
	var b bytes.Buffer
	add := func(k, v string) error {
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("linux guest: %s value %q contains NUL", k, v)
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte(0)
		return nil
	}
	if err := add("nonce", nonce); err != nil {
		return nil, err
	}
	for _, a := range argv {
		if err := add("arg", a); err != nil {
			return nil, err
		}
	}
	for _, e := range env {
		if !strings.Contains(e, "=") {
			return nil, fmt.Errorf("linux guest: environment entry %q has no =", e)
		}
		if err := add("env", e); err != nil {
			return nil, err
		}
	}
	if o.Cwd != "" {
		if err := add("cwd", o.Cwd); err != nil {
			return nil, err
		}
	}
	if o.Net || len(o.Forwards) > 0 {
		add("net", "1")
	}
	for i, s := range o.Shares {
		if !path.IsAbs(s.GuestDir) || strings.Contains(s.GuestDir, "=") {
			return nil, fmt.Errorf("linux guest: share's guest directory %q must be absolute and have no =", s.GuestDir)
		}
		if err := add("9p", fmt.Sprintf("share%d=%s", i, s.GuestDir)); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// writeInitramfs writes rootfs (if any), padded to four bytes as the
// kernel wants between archives, then a newc archive with /init,
// /run.spec, /dev/console and files (guest path -> host path), with their
// parent directories.
func writeInitramfs(out string, rootfs []byte, init string, spec []byte, files map[string]string) error {
	entries := []cpio.Entry{
		{Header: cpio.Header{Name: "dev", Mode: cpio.TypeDir | 0o755}},
		{Header: cpio.Header{Name: "dev/console", Mode: cpio.TypeChar | 0o600, RdevMajor: 5, RdevMinor: 1}},
		{Header: cpio.Header{Name: "run.spec", Mode: cpio.TypeReg | 0o644, Size: int64(len(spec))}, Body: spec},
	}
	dirs := map[string]bool{"dev": true}
	all := map[string]string{"/init": init}
	for gp, hp := range files {
		all[gp] = hp
	}
	for gp, hp := range all {
		name := strings.TrimPrefix(path.Clean("/"+gp), "/")
		if name == "" || name == "run.spec" || name == "dev" || strings.HasPrefix(name, "dev/") {
			return fmt.Errorf("linux guest: cannot place a file at %q", gp)
		}
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			entries = append(entries, cpio.Entry{Header: cpio.Header{Name: d, Mode: cpio.TypeDir | 0o755}})
		}
		fi, err := os.Stat(hp)
		if err != nil {
			return fmt.Errorf("linux guest: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("linux guest: %s is not a regular file", hp)
		}
		hp := hp
		entries = append(entries, cpio.Entry{
			Header: cpio.Header{Name: name, Mode: cpio.TypeReg | cpio.Mode(fi.Mode().Perm()|0o500), Size: fi.Size()},
			Open:   func() (io.ReadCloser, error) { return os.Open(hp) },
		})
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	if len(rootfs) > 0 {
		pad := make([]byte, (4-len(rootfs)%4)%4)
		if _, err := f.Write(append(rootfs[:len(rootfs):len(rootfs)], pad...)); err != nil {
			f.Close()
			return fmt.Errorf("linux guest: %w", err)
		}
	}
	if err := cpio.WriteArchive(f, entries, cpio.ArchiveOptions{}); err != nil {
		f.Close()
		return fmt.Errorf("linux guest: writing the initramfs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("linux guest: %w", err)
	}
	return nil
}

package toolchain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mattn/go-shellwords"

	"github.com/runikraft/runikraft/internal/appimage"
)

// ExitError is a failure a tool has already reported on stderr (gcc's own
// diagnostics, the linker's undefined references): the wrapper exits with
// Code and adds nothing.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "exit status " + strconv.Itoa(e.Code) }

// ExitStatus is a wrapper's exit status for how its work ended, reporting
// err on stderr unless a tool already did.
func ExitStatus(tool string, err error, stderr io.Writer) int {
	var ee *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	}
	fmt.Fprintf(stderr, "%s: %v\n", tool, err)
	return 1
}

// maxCmdline is the command-line size above which gcc gets its arguments
// in a response file; Linux allows more, but one argument may not exceed
// 128 KiB and the whole environment counts too.
const maxCmdline = 100 << 10

// Builder runs the cross tools for one runikraft-cc or runikraft-ld
// invocation. Close removes its temporary files.
type Builder struct {
	Tool   string // "runikraft-cc" or "runikraft-ld", for messages
	Host   Host
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	gcc        string
	sysroot    string
	gccInclude string
	tmp        string
}

// Close removes the temporary directory, if any.
func (b *Builder) Close() {
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
		b.tmp = ""
	}
}

// Notef prints a one-line note on stderr, prefixed with the tool's name.
func (b *Builder) Notef(format string, a ...any) {
	fmt.Fprintf(b.Stderr, "%s: note: %s\n", b.Tool, fmt.Sprintf(format, a...))
}

// GCC returns the cross gcc.
func (b *Builder) GCC() (string, error) {
	if b.gcc == "" {
		g, err := b.Host.CrossGCC()
		if err != nil {
			return "", err
		}
		b.gcc = g
	}
	return b.gcc, nil
}

// Sysroot returns the checked sysroot.
func (b *Builder) Sysroot() (string, error) {
	if b.sysroot == "" {
		s, err := b.Host.Sysroot()
		if err != nil {
			return "", err
		}
		b.sysroot = s
	}
	return b.sysroot, nil
}

// Paths returns the sysroot and gcc's own include directory.
func (b *Builder) Paths() (Paths, error) {
	s, err := b.Sysroot()
	if err != nil {
		return Paths{}, err
	}
	if b.gccInclude == "" {
		out, err := b.Query("-print-file-name=include")
		if err != nil {
			return Paths{}, err
		}
		if !filepath.IsAbs(out) {
			return Paths{}, fmt.Errorf("%s does not know its include directory (-print-file-name=include gave %q)", b.gcc, out)
		}
		b.gccInclude = out
	}
	return Paths{Sysroot: s, GCCInclude: b.gccInclude}, nil
}

// ExtraFlags splits the environment variable name (RUNIKRAFT_CFLAGS,
// RUNIKRAFT_LDFLAGS) with shell quoting rules.
func (b *Builder) ExtraFlags(name string) ([]string, error) {
	v := b.Host.getenv(name)
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	f, err := shellwords.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", name, err)
	}
	return f, nil
}

// TempDir returns the invocation's private temporary directory.
func (b *Builder) TempDir() (string, error) {
	if b.tmp == "" {
		d, err := os.MkdirTemp("", "runikraft-cc-")
		if err != nil {
			return "", fmt.Errorf("creating a temporary directory: %w", err)
		}
		b.tmp = d
	}
	return b.tmp, nil
}

// Query runs the cross gcc with args and returns its trimmed output.
func (b *Builder) Query(args ...string) (string, error) {
	gcc, err := b.GCC()
	if err != nil {
		return "", err
	}
	return Output(gcc, args...)
}

// Output runs a program and returns its trimmed standard output; its
// standard error goes into the error.
func Output(name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", ShellJoin(append([]string{name}, args...)), rootCause(err), strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// RunGCC runs the cross gcc with args and the builder's streams. A long
// command line goes through a response file, as the build system's own
// @file may have.
func (b *Builder) RunGCC(args []string) error {
	gcc, err := b.GCC()
	if err != nil {
		return err
	}
	if b.Host.getenv("RUNIKRAFT_VERBOSE") != "" {
		fmt.Fprintf(b.Stderr, "%s: running %s\n", b.Tool, ShellJoin(append([]string{gcc}, args...)))
	}
	n := 0
	for _, a := range args {
		n += len(a) + 1
	}
	if n > maxCmdline {
		dir, err := b.TempDir()
		if err != nil {
			return err
		}
		f, err := os.CreateTemp(dir, "args-*.rsp")
		if err != nil {
			return fmt.Errorf("writing a response file: %w", err)
		}
		for _, a := range args {
			fmt.Fprintln(f, QuoteResponseArg(a))
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing a response file: %w", err)
		}
		args = []string{"@" + f.Name()}
	}
	return b.run(gcc, args)
}

// run runs a program to completion, passing on the signals that would end
// the wrapper so its temporary files are still removed afterwards.
func (b *Builder) run(name string, args []string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = b.Stdin, b.Stdout, b.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, rootCause(err))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case err := <-done:
			return exitStatus(err)
		}
	}
}

// exitStatus turns a finished command's error into an ExitError.
func exitStatus(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal())}
	}
	return &ExitError{Code: ee.ExitCode()}
}

var errShared = errors.New("-shared: shared libraries are not supported yet (unikernel apps link statically)")

// LinkApp compiles the sources of a link-mode command to temporary
// objects, links everything into a temporary static-pie application,
// checks it and returns its path.
func (b *Builder) LinkApp(c *Command) (string, error) {
	if c.Shared {
		return "", errShared
	}
	p, err := b.Paths()
	if err != nil {
		return "", err
	}
	tmp, err := b.TempDir()
	if err != nil {
		return "", err
	}
	cflags, err := b.ExtraFlags("RUNIKRAFT_CFLAGS")
	if err != nil {
		return "", err
	}
	ldflags, err := b.ExtraFlags("RUNIKRAFT_LDFLAGS")
	if err != nil {
		return "", err
	}
	objs := map[int]string{}
	for i, a := range c.Args {
		if !a.IsSource() {
			continue
		}
		base := filepath.Base(a.Tokens[0])
		obj := filepath.Join(tmp, fmt.Sprintf("%d-%s.o", i, strings.TrimSuffix(base, filepath.Ext(base))))
		if err := b.RunGCC(ObjectArgs(c, p, cflags, a, obj)); err != nil {
			return "", err
		}
		objs[i] = obj
	}
	specs := filepath.Join(tmp, "link.specs")
	if err := os.WriteFile(specs, []byte(NoSearchDirsSpecs), 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", specs, err)
	}
	localMap := filepath.Join(tmp, "local.map")
	if err := os.WriteFile(localMap, []byte(LocalVersionScript), 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", localMap, err)
	}
	app := filepath.Join(tmp, "app")
	gccLib := filepath.Dir(p.GCCInclude)
	err = b.RunGCC(LinkArgs(c, LinkSpec{
		Sysroot: p.Sysroot, GCCLib: gccLib, Specs: specs, LocalMap: localMap, Output: app, Objects: objs,
		HaveGCCEH:  isFile(filepath.Join(p.Sysroot, "lib", "libgcc_eh.a")),
		HaveAtomic: isFile(filepath.Join(gccLib, "libatomic.a")),
		Extra:      ldflags,
	}))
	if err != nil {
		return "", err
	}
	if err := CheckApp(app); err != nil {
		return "", fmt.Errorf("the linked program is no unikernel application: %w", err)
	}
	return app, nil
}

// Finish puts the application app at out: as it is with AppOnly, else
// baked into a bootable image with the kernel. out appears complete or
// not at all.
func (b *Builder) Finish(app string, o LinkOptions, out string) error {
	// A device such as /dev/null (configure-style link tests) is written
	// into, never replaced: renaming over it as root would break the host.
	if fi, err := os.Stat(out); err == nil && !fi.Mode().IsRegular() {
		tmp, err := b.TempDir()
		if err != nil {
			return err
		}
		img := filepath.Join(tmp, filepath.Base(out))
		if err := b.Finish(app, o, img); err != nil {
			return err
		}
		return copyInto(img, out)
	}
	if o.AppOnly {
		if err := markApp(app); err != nil {
			return err
		}
		return installFile(app, out)
	}
	if _, err := appimage.Write(appimage.Options{
		Kernel: o.Kernel, App: app, Rootfs: o.Rootfs, Args: o.Args, Env: o.Env, Volumes: o.Volumes, Name: filepath.Base(out),
	}, out); err != nil {
		return fmt.Errorf("baking %s into %s: %w", app, out, err)
	}
	return nil
}

// copyInto writes src's contents into the existing non-regular file dst.
func copyInto(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	_, err = io.Copy(f, in)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// installFile copies src to dst through a temporary file in dst's
// directory, so dst is replaced whole or not at all.
func installFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err = tmp.Chmod(0o755); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

// Link makes what a link-mode command asks for at its -o (default a.out):
// a bootable image of the kernel and the application, or with AppOnly the
// application alone. With Bake set, that program is the application and
// nothing is compiled or linked.
func (b *Builder) Link(c *Command, o LinkOptions) error {
	if c.Shared {
		return b.LinkShared(c)
	}
	out := c.Output
	if out == "" {
		out = "a.out"
	}
	chosen := o.Kernel != "" || b.Host.getenv("RUNIKRAFT_KERNEL") != ""
	if !o.AppOnly {
		// Before the link, so a missing kernel costs no compile time.
		k, err := b.Host.Kernel(o.Kernel)
		if err != nil {
			return err
		}
		o.Kernel = k
	}
	app := o.Bake
	if app == "" {
		var err error
		if app, err = b.LinkApp(c); err != nil {
			return err
		}
	} else {
		if o.AppOnly {
			return errors.New("--bake with --app-only: the program is already linked; there is nothing to do")
		}
		if in := c.Inputs(); len(in) > 0 {
			return fmt.Errorf("--bake takes a program that is already linked: drop the other inputs (%s)", in[0].Tokens[0])
		}
		if err := CheckApp(app); err != nil {
			return fmt.Errorf("--bake: %w", err)
		}
	}
	if !o.AppOnly && !chosen {
		// A program that uses sockets gets the kernel with the TCP/IP
		// stack (when it was built); one that never reads the zone
		// database gets the kernel without it; the others the stock one.
		if uses, err := UsesSockets(app); err == nil && uses {
			if k, err := b.Host.NetKernel(); err == nil {
				o.Kernel = k
			}
		} else if reads, err := ReadsZoneinfo(app); err == nil && !reads && o.Rootfs == "" {
			// (A root filesystem may hold other programs that do.)
			if k, err := b.Host.NoZonesKernel(); err == nil {
				o.Kernel = k
			}
		}
	}
	return b.Finish(app, o, out)
}

// markApp writes appimage's mark into a linked program's ELF
// identification padding (zero, and ignored by every loader), so that
// binfmt_misc and runikraft-binfmt tell a program built by runikraft-cc
// from other riscv64 programs, as they tell application images.
func markApp(app string) error {
	f, err := os.OpenFile(app, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var pad [16 - appimage.IdentMarkOffset]byte
	if _, err := f.ReadAt(pad[:], appimage.IdentMarkOffset); err != nil {
		return fmt.Errorf("marking %s: %w", app, err)
	}
	if pad != [len(pad)]byte{} {
		return nil // padding in use: leave it
	}
	if _, err := f.WriteAt([]byte(appimage.IdentMark), appimage.IdentMarkOffset); err != nil {
		return fmt.Errorf("marking %s: %w", app, err)
	}
	return f.Close()
}

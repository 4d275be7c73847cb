//go:build !runikraft_lite

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/libvirt"
	"github.com/runikraft/runikraft/internal/oci"
	"github.com/runikraft/runikraft/internal/qemu"
)

func libvirtCommand() *cli.Command {
	return &cli.Command{
		Name:      "libvirt",
		Usage:     shipCommands["libvirt"].usage,
		ArgsUsage: shipCommands["libvirt"].args,
		Description: `IMAGE is a file or an OCI image reference (as for runikraft run). The
domain boots it directly (kernel, command line and devices as runikraft
run gives QEMU): the virt machine, under KVM when this host has /dev/kvm
and TCG otherwise. runikraft run's console sockets become files: the
UART (the kernel's log, ending with the line "` + bootargs.ExitReport + `N")
and, for an application, its stdout and stderr; stdin is empty. They go
to --dir (default: runikraft/libvirt/NAME in the user's cache directory),
which QEMU must be able to write.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "domain name (default: runikraft-IMAGE's base name)"},
			&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Value: "512M", Usage: "guest RAM, as for runikraft run"},
			&cli.IntFlag{Name: "cpus", Value: 1, Usage: "number of vCPUs"},
			&cli.StringSliceFlag{Name: "e", Usage: "set guest environment variable `KEY=VALUE` (repeatable)"},
			&cli.BoolFlag{Name: "rng", Value: true, Usage: "attach a virtio-rng device"},
			&cli.StringFlag{Name: "kernel", EnvVars: []string{"RUNIKRAFT_KERNEL"}, Usage: "kernel image that runs an application IMAGE (default: runikraft-kernel.img next to runikraft)"},
			&cli.StringFlag{Name: "qemu", EnvVars: []string{"RUNIKRAFT_QEMU"}, Usage: "emulator (default: " + qemu.DefaultBinary + " from PATH)"},
			&cli.StringFlag{Name: "dir", Usage: "directory for the console, stdout and stderr files"},
			&cli.BoolFlag{Name: "define", Usage: "define the domain with virsh instead of printing it"},
			&cli.StringFlag{Name: "connect", Aliases: []string{"c"}, Usage: "libvirt `URI` for --define (default: virsh's)"},
		},
		OnUsageError: usageError("libvirt "),
		Action:       libvirtAction,
	}
}

var domainNameOK = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$`)

func libvirtAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return fail(exitUsage, "libvirt: missing IMAGE")
	}
	image := c.Args().First()
	if ref, ok := imageRef(image); ok {
		p, err := resolveRef(c, ref)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		image = p
	}
	mem, err := qemu.ParseMemory(c.String("memory"))
	if err != nil {
		return fail(exitUsage, "--memory: %v", err)
	}
	env := c.StringSlice("e")
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fail(exitUsage, "-e %q: want KEY=VALUE", kv)
		}
	}
	if _, err := qemu.CheckImage(image); err != nil {
		return fail(exitUsage, "%v", err)
	}
	kernel, initrd, err := kernelFor(image, c.String("kernel"))
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	args, env, _, appMode, err := guestArgs(c, image, initrd, env)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	cmdline, err := bootargs.Encode(args, env)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}

	name := c.String("name")
	if name == "" {
		name = "runikraft-" + strings.Map(func(r rune) rune {
			if r < 0x80 && domainNameOK.MatchString(string(r)) {
				return r
			}
			return '-'
		}, filepath.Base(c.Args().First()))
		if len(name) > 63 {
			name = name[:63]
		}
	}
	if !domainNameOK.MatchString(name) {
		return fail(exitUsage, "--name %q: want letters, digits and _.+- (at most 63)", name)
	}
	dir := c.String("dir")
	if dir == "" {
		d, err := oci.DefaultDir()
		if err != nil {
			return fail(1, "libvirt: %v", err)
		}
		dir = filepath.Join(d, "libvirt", name)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return fail(1, "libvirt: %v", err)
	}
	emulator, err := qemu.Find(c.String("qemu"))
	if err != nil {
		return fail(exitUsage, "libvirt: %s: %v", qemu.DefaultBinary, rootCause(err))
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	cfg := libvirt.Config{
		Name:      name,
		Emulator:  abs(emulator),
		Kernel:    abs(kernel),
		Initrd:    abs(initrd),
		Cmdline:   cmdline,
		MemoryMiB: mem,
		CPUs:      c.Int("cpus"),
		KVM:       libvirt.HostHasKVM(),
		RNG:       c.Bool("rng"),
		Console:   filepath.Join(dir, "console.log"),
		Report:    true,
	}
	if appMode {
		cfg.Stdout, cfg.Stderr = filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
		cfg.Stdin = filepath.Join(dir, "stdin")
	}
	xml, err := libvirt.XML(cfg)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	// The directory and the stdin files must be there when the domain
	// starts, defined here or not.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(1, "libvirt: %v", err)
	}
	if cfg.Stdin != "" {
		if err := libvirt.StdinFiles(cfg.Stdin); err != nil {
			return fail(1, "libvirt: %v", err)
		}
	}
	if !c.Bool("define") {
		fmt.Fprint(c.App.Writer, xml)
		return nil
	}
	f := filepath.Join(dir, "domain.xml")
	if err := os.WriteFile(f, []byte(xml), 0o644); err != nil {
		return fail(1, "libvirt: %v", err)
	}
	var vargs []string
	if u := c.String("connect"); u != "" {
		vargs = append(vargs, "-c", u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "virsh", append(vargs, "define", f)...)
	cmd.Stdout, cmd.Stderr = c.App.ErrWriter, c.App.ErrWriter
	if err := cmd.Run(); err != nil {
		return fail(1, "libvirt: virsh define %s: %v", f, err)
	}
	fmt.Fprintf(c.App.Writer, "%s\n", name)
	return nil
}

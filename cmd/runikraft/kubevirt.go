//go:build !runikraft_lite

package main

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/kubevirt"
	"github.com/runikraft/runikraft/internal/oci"
	"github.com/runikraft/runikraft/internal/qemu"
)

func kubevirtCommand() *cli.Command {
	return &cli.Command{
		Name:      "kubevirt",
		Usage:     shipCommands["kubevirt"].usage,
		ArgsUsage: shipCommands["kubevirt"].args,
		Description: `IMAGE is the image file (or an OCI reference, as for runikraft run) that
--image names in a registry (runikraft pkg -t REF IMAGE && runikraft push
REF). The VirtualMachine boots the kernel at ` + oci.KernelPath + ` of that image
(kernelBoot.container) with the image's default arguments and environment
(or ARGS and -e), on riscv64 nodes; run strategy Once, or Always when
ports are published. -p publishes a port through a Service, and the first
TCP one is probed for readiness and liveness. The application's output and
the kernel's "` + bootargs.ExitReport + `N" line are on the serial console.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Usage: "the image's OCI reference in a registry the cluster pulls from (required)"},
			&cli.StringFlag{Name: "name", Usage: "VirtualMachine and Service name (default: from IMAGE's application name)"},
			&cli.StringFlag{Name: "namespace", Usage: "namespace of the objects (default: none, kubectl's)"},
			&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Value: "512M", Usage: "guest RAM, as for runikraft run"},
			&cli.IntFlag{Name: "cpus", Value: 1, Usage: "number of vCPUs"},
			&cli.StringSliceFlag{Name: "e", Usage: "set guest environment variable `KEY=VALUE` (repeatable)"},
			&cli.StringSliceFlag{Name: "p", Usage: "publish guest port `[PORT:]GUESTPORT[/tcp|/udp]` through a Service (repeatable)"},
		},
		OnUsageError: usageError("kubevirt "),
		Action:       kubevirtAction,
	}
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func kubevirtAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return fail(exitUsage, "kubevirt: missing IMAGE")
	}
	if c.String("image") == "" {
		return fail(exitUsage, "kubevirt: --image REF is required: the reference the cluster pulls (runikraft pkg -t REF IMAGE, runikraft push REF)")
	}
	if _, err := oci.ParseRef(c.String("image")); err != nil {
		return fail(exitUsage, "--image: %v", err)
	}
	image := c.Args().First()
	if ref, ok := imageRef(image); ok {
		p, err := resolveRef(c, ref)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		image = p
	}
	meta, err := oci.Describe(image)
	if err != nil {
		return fail(exitUsage, "kubevirt: %v", err)
	}
	mem, err := qemu.ParseMemory(c.String("memory"))
	if err != nil {
		return fail(exitUsage, "--memory: %v", err)
	}
	if n := c.Int("cpus"); n < 1 || n > qemu.MaxCPUs {
		return fail(exitUsage, "--cpus: %d out of range 1..%d", n, qemu.MaxCPUs)
	}
	env := c.StringSlice("e")
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fail(exitUsage, "-e %q: want KEY=VALUE", kv)
		}
	}
	var ports []kubevirt.Port
	for _, s := range c.StringSlice("p") {
		p, err := kubevirt.ParsePort(s)
		if err != nil {
			return fail(exitUsage, "-p: %v", err)
		}
		ports = append(ports, p)
	}
	// The kernel command line wins over the baked one, so it carries the
	// whole argv and environment, as runikraft run's does.
	var cmdline string
	if !meta.Machine {
		args := append([]string{meta.App}, c.Args().Tail()...)
		if len(args) == 1 {
			args = append(args, meta.Args...)
		}
		if cmdline, err = bootargs.Encode(args, mergeEnv(meta.Env, env)); err != nil {
			return fail(exitUsage, "%v", err)
		}
	}
	name := c.String("name")
	if name == "" {
		base := meta.App
		if base == "" {
			base = filepath.Base(c.Args().First())
		}
		name = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(base), "-"), "-")
		if len(name) > 63 {
			name = strings.TrimRight(name[:63], "-")
		}
		if name == "" || name[0] < 'a' || name[0] > 'z' {
			name = "rk-" + name
		}
	}
	y, err := kubevirt.YAML(kubevirt.Options{
		Name:      name,
		Namespace: c.String("namespace"),
		Image:     c.String("image"),
		Meta:      meta,
		Cmdline:   cmdline,
		MemoryMiB: mem,
		CPUs:      uint32(c.Int("cpus")),
		Ports:     ports,
	})
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	_, err = c.App.Writer.Write(y)
	return err
}

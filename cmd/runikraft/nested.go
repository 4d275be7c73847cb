package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/kvmrig"
	"github.com/runikraft/runikraft/internal/qemu"
)

// exitRig is runikraft run --kvm-nested's status when the rig itself
// failed (could not be built, or its outer machine never reported the
// nested guest's status): sysexits' EX_SOFTWARE, as for a failed kernel.
const exitRig = 70

// runNested boots cfg under KVM in the nested rig (package kvmrig).
func runNested(c *cli.Context, qemuPath string, cfg qemu.Config, timeout time.Duration) error {
	ctx := context.Background()
	if c.Bool("dry-run") {
		// The nested QEMU's command with the host's paths: what a RISC-V
		// host with KVM runs.
		args, err := kvmrig.KVMArgs(cfg)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		fmt.Fprintln(c.App.Writer, qemu.CommandLine(append([]string{"qemu-system-riscv64"}, args...)))
		return nil
	}
	if cfg.MemoryMiB > kvmrig.MaxNestedMemoryMiB {
		return fail(exitUsage, "--kvm-nested: -m %s is more than the nested guest can have (%s)", qemu.FormatMemory(cfg.MemoryMiB), qemu.FormatMemory(kvmrig.MaxNestedMemoryMiB))
	}
	rig, err := kvmrig.Ensure(ctx, kvmrig.Options{Log: c.App.ErrWriter})
	if err != nil {
		return fail(exitRig, "--kvm-nested: %v", err)
	}
	o := kvmrig.RunOptions{
		Rig:     rig,
		QEMU:    qemuPath,
		Nested:  cfg,
		Timeout: timeout,
		Stdout:  c.App.Writer,
		Stderr:  c.App.ErrWriter,
	}
	if cfg.Debug {
		o.Banner = c.App.ErrWriter
	}
	start := time.Now()
	res, err := kvmrig.Run(ctx, o)
	if cfg.Debug && res.NestedTime > 0 {
		fmt.Fprintf(c.App.ErrWriter, "runikraft: kvm: the nested QEMU ran %v of %v\n",
			res.NestedTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	switch {
	case res.TimedOut:
		return fail(exitTimeout, "timeout after %v", timeout)
	case err != nil && errors.Is(err, kvmrig.ErrNoStatus) && res.Outer.Signal != 0:
		return &exitError{code: 128 + int(res.Outer.Signal), msg: err.Error()}
	case err != nil:
		return fail(exitRig, "--kvm-nested: %v", err)
	case res.Code != 0:
		return &exitError{code: res.Code}
	}
	return nil
}

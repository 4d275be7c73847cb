//go:build runikraft_lite

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// The lite build (see ship.go): these commands and OCI references are
// runikraft-ship's.

func pkgCommand() *cli.Command      { return shipCommand("pkg") }
func pushCommand() *cli.Command     { return shipCommand("push") }
func pullCommand() *cli.Command     { return shipCommand("pull") }
func libvirtCommand() *cli.Command  { return shipCommand("libvirt") }
func kubevirtCommand() *cli.Command { return shipCommand("kubevirt") }
func syscallsCommand() *cli.Command { return shipCommand("syscalls") }

// shipCommand lists the command in runikraft's help and, run, hands its
// whole command line to runikraft-ship (flags and --help included).
func shipCommand(name string) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           shipCommands[name].usage,
		ArgsUsage:       shipCommands[name].args,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			return execShip(append([]string{name}, c.Args().Slice()...))
		},
	}
}

// refImage hands run to runikraft-ship when IMAGE is not a file and could
// be an OCI reference: that binary decides, pulls, and runs, or reports
// the missing file as run always did.
func refImage(c *cli.Context, image string) (string, error) {
	if _, err := os.Stat(image); err == nil || image == "" || strings.HasPrefix(image, ".") || strings.HasPrefix(image, "/") {
		return image, nil
	}
	return "", execShip(runArgs)
}

// execShip replaces this process with runikraft-ship, found next to this
// executable, running args. It returns only on failure.
func execShip(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fail(exitUsage, "cannot find runikraft-ship: %v", err)
	}
	ship := filepath.Join(filepath.Dir(self), "runikraft-ship")
	err = syscall.Exec(ship, append([]string{ship}, args...), os.Environ())
	if errors.Is(err, syscall.ENOENT) {
		return fail(exitUsage, "%s is missing: OCI images, libvirt and KubeVirt are handled by it; run ./install.sh", ship)
	}
	return fail(exitUsage, "%s: %v", ship, fmt.Errorf("exec: %w", err))
}

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/toolchain"
)

func toolchainCommand() *cli.Command {
	// find locates the tools next to this runikraft binary.
	find := func() (toolchain.ToolPaths, error) {
		t, err := toolchain.FindToolPaths(toolchain.DefaultHost())
		if err != nil {
			return t, fail(1, "toolchain: %v", err)
		}
		return t, nil
	}
	return &cli.Command{
		Name:  "toolchain",
		Usage: "point build systems at the C toolchain (runikraft-cc, runikraft-ld, the musl sysroot)",
		Description: `runikraft-cc and runikraft-ld compile and link C programs against the
musl sysroot into bootable application images.`,
		OnUsageError: usageError("toolchain "),
		Subcommands: []*cli.Command{
			{
				Name:  "cmake",
				Usage: "print the path of the CMake toolchain file (written into the sysroot if missing or stale)",
				Description: `Use it as
   cmake -DCMAKE_TOOLCHAIN_FILE="$(runikraft toolchain cmake)" -S . -B build`,
				OnUsageError: usageError("toolchain cmake "),
				Action: func(c *cli.Context) error {
					t, err := find()
					if err != nil {
						return err
					}
					path, err := toolchain.WriteCMakeToolchain(t)
					if err != nil {
						return fail(1, "toolchain cmake: %v", err)
					}
					fmt.Fprintln(c.App.Writer, path)
					return nil
				},
			},
			{
				Name:  "env",
				Usage: "print export lines (CC, LD, AR, ..., PKG_CONFIG_LIBDIR) for eval in a shell",
				Description: `Use it as
   eval "$(runikraft toolchain env)"; ./configure --host=riscv64-linux-musl`,
				OnUsageError: usageError("toolchain env "),
				Action: func(c *cli.Context) error {
					t, err := find()
					if err != nil {
						return err
					}
					fmt.Fprint(c.App.Writer, toolchain.EnvScript(t))
					return nil
				},
			},
		},
	}
}

package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/kbuild"
)

func buildKernelCommand() *cli.Command {
	return &cli.Command{
		Name:      "build-kernel",
		Usage:     "build a Go program that imports the kernel into a bootable image",
		ArgsUsage: "[PACKAGE]",
		Description: `Builds PACKAGE (default: the stock kernel, which runs an application
given to runikraft run) for linux/riscv64, links it where the boot stub
expects, and bakes it: every ECALL becomes a trap into the hart layer.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "o", Value: "kernel.img", Usage: "output image `FILE`"},
			&cli.StringFlag{Name: "tags", Usage: "extra build tags, comma separated"},
		},
		OnUsageError: usageError("build-kernel "),
		Action: func(c *cli.Context) error {
			pkg := "github.com/runikraft/runikraft/kernel/cmd/kernel"
			if c.NArg() > 1 {
				return fail(exitUsage, "build-kernel: one package at most")
			}
			if c.NArg() == 1 {
				pkg = c.Args().First()
			}
			res, err := kbuild.Build(context.Background(), kbuild.Options{
				Dir: ".", Pkg: pkg, Out: c.String("o"), Tags: c.String("tags"), Stderr: c.App.ErrWriter,
			})
			if err != nil {
				return fail(1, "%v", err)
			}
			fmt.Fprintf(c.App.ErrWriter, "runikraft: %s: %d system-call sites redirected, loads %#x-%#x\n",
				c.String("o"), len(res.Sites), res.StubAddr, res.ImageEnd)
			return nil
		},
	}
}

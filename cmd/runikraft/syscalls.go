//go:build !runikraft_lite

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/posix"
)

func syscallsCommand() *cli.Command {
	return &cli.Command{
		Name:  "syscalls",
		Usage: shipCommands["syscalls"].usage,
		Action: func(c *cli.Context) error {
			return posix.WriteTable(c.App.Writer)
		},
	}
}

// Command runikraft is the host-side tool for Runikraft unikernels.
//
//	runikraft run [flags] IMAGE [ARGS...]   boot IMAGE on QEMU
//	runikraft version                       print the version
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

// BinfmtName is the name under which binfmt_misc starts runikraft for a
// riscv64 program (install.sh links it to runikraft and registers it):
// the kernel passes the program's path and its arguments, which become
// runikraft run --binfmt PATH ARGS, so configure's test programs just
// run, reading and writing files in the current directory.
const BinfmtName = "runikraft-binfmt"

func main() {
	mainStart = time.Now()
	args := os.Args
	if len(args) > 1 && filepath.Base(args[0]) == BinfmtName {
		preserved := preservedArgv0()
		if handled, code := binfmtDispatch(args[1:], preserved, os.Stderr); handled {
			os.Exit(code)
		}
		args = binfmtArgs(args, preserved)
	}
	os.Exit(Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// binfmtArgs turns the command line binfmt_misc gives BinfmtName into
// runikraft run's: PATH ARGS, or with the entry's P flag (preserved)
// PATH ARGV0 ARGS, where ARGV0 is the name the program was started
// under (a test script's "sed", not "./sed/sed") and becomes the
// guest's argv[0].
func binfmtArgs(args []string, preserved bool) []string {
	if len(args) < 2 {
		return args
	}
	run := []string{"runikraft", "run", "--binfmt"}
	if preserved && len(args) >= 3 {
		return append(append(run, "--argv0", args[2], args[1]), args[3:]...)
	}
	return append(append(run, args[1]), args[2:]...)
}

// exitError ends the program with a status and an optional message; actions
// return it so that only Main decides what reaches os.Exit.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}

// usageError is what a malformed command line gets: status 2, as with
// other Unix tools, and the message on stderr so stdout stays the guest's.
func usageError(cmd string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		return fail(2, "%v (see 'runikraft %s--help')", err, cmd)
	}
}

// Main runs the CLI with the given arguments and streams and returns the
// exit status. stdin is a file so QEMU can be handed the descriptor itself.
func Main(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		runArgs = args[1:]
	}
	app := &cli.App{
		Name:      "runikraft",
		Usage:     "build and run riscv64 unikernels whose kernel is written in Go",
		Writer:    stdout,
		ErrWriter: stderr,
		// Keep commas inside -e values: KEY=a,b is one variable.
		DisableSliceFlagSeparator: true,
		HideVersion:               true,
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              usageError(""),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fail(2, "unknown command %q (see 'runikraft --help')", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			runCommand(stdin),
			buildKernelCommand(),
			syscallsCommand(),
			toolchainCommand(),
			goCommand(),
			inspectCommand(),
			pkgCommand(),
			pushCommand(),
			pullCommand(),
			libvirtCommand(),
			kubevirtCommand(),
			{
				Name:  "version",
				Usage: "print the runikraft version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(c.App.Writer, versionString())
					return nil
				},
			},
		},
	}
	noHelpOperands(app.Commands)
	err := app.Run(args)
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "runikraft: %s\n", ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "runikraft: %v\n", err)
		return 2
	}
}

// noHelpOperands keeps every command that takes operands (IMAGE, ARGS,
// PACKAGE...) from treating them as subcommands: urfave/cli gives each
// command a "help" (alias "h") subcommand, so "runikraft run h" showed
// help instead of booting a file named h. Only commands that group
// subcommands (runikraft go) keep it; -h/--help before the operands still
// shows help. It walks the tree, so commands added later get the same.
func noHelpOperands(cmds []*cli.Command) {
	for _, c := range cmds {
		if len(c.Subcommands) == 0 {
			c.HideHelpCommand = true
		}
		noHelpOperands(c.Subcommands)
	}
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			var rev, dirty string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value[:min(12, len(s.Value))]
				case "vcs.modified":
					if s.Value == "true" {
						dirty = "-dirty"
					}
				}
			}
			if rev != "" {
				v += " (" + rev + dirty + ")"
			}
		}
	}
	return strings.Join([]string{"runikraft", v, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}, " ")
}

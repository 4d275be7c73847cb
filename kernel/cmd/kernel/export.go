//go:build riscv64

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/kernel/console"
	vconsole "github.com/runikraft/runikraft/kernel/drivers/virtio/console"
	"github.com/runikraft/runikraft/posix"
)

// sharedDir is the working directory runikraft run --share-cwd asks for
// (bootargs.CwdKey): the host's, whose files it packed at the same path.
// "" when there is none.
func sharedDir(cl bootargs.Cmdline) (string, error) {
	v, ok := cl.Params[bootargs.CwdKey]
	var list []string
	var err error
	if ok {
		list, err = bootargs.DecodeList(v)
	}
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: %w", bootargs.CwdKey, err)
	case !ok:
		return "", nil
	case len(list) != 1 || len(list[0]) == 0 || list[0][0] != '/':
		return "", fmt.Errorf("%s: want one absolute path, have %q", bootargs.CwdKey, list)
	}
	return list[0], nil
}

// exportDir sends the files the application created or changed in dir
// to the host on the port console.ExportPort, if the host gave one. It
// returns once QEMU has written every byte to its file (Port.Write
// waits until the device has taken the data), so powering off right
// after loses nothing. Failures are logged: the exit status stays the
// application's.
func exportDir(p *posix.Process, dir string, log io.Writer) {
	port, err := vconsole.Open(console.ExportPort)
	if errors.Is(err, vconsole.ErrNoDevice) || errors.Is(err, vconsole.ErrNoPort) {
		return // no write-back asked for
	}
	if err != nil {
		fmt.Fprintf(log, "runikraft: changed files of %s not sent back: %v\n", dir, err)
		return
	}
	if !port.HostConnected() {
		// QEMU would drop the data.
		fmt.Fprintf(log, "runikraft: changed files of %s not sent back: %v has no host side\n", dir, port)
		return
	}
	if err := p.ExportDir(dir, p.Started(), port); err != nil {
		fmt.Fprintf(log, "runikraft: changed files not sent back: %v\n", err)
	}
}

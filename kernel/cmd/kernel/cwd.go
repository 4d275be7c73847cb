//go:build riscv64

package main

import (
	"fmt"

	"github.com/runikraft/runikraft/internal/bootargs"
)

// sharedDir is the working directory runikraft run asks for
// (bootargs.CwdKey): in a host view, the host's current directory, at
// the same path. "" when there is none.
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

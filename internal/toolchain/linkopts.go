package toolchain

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// LinkOptions are runikraft-ld's own options; runikraft-cc takes them too
// (no gcc option is spelled like them).
type LinkOptions struct {
	Rootfs  string   // --rootfs DIR: the application's root filesystem
	Args    []string // --arg A: default arguments
	Env     []string // --env K=V: default environment
	Kernel  string   // --kernel IMG
	AppOnly bool     // --app-only or RUNIKRAFT_APP_ONLY: the linked program, no kernel
	Bake    string   // --bake APP: bake this program instead of linking
	Volumes []string // --volume DIR: guest directories declared as 9p mount points
}

// linkOptNames take a value; --app-only does not.
var linkOptNames = map[string]bool{"--rootfs": true, "--arg": true, "--env": true, "--kernel": true, "--bake": true, "--volume": true}

// SplitLinkOptions takes runikraft's own link options out of args and
// returns them with the rest, in order. appOnlyEnv is $RUNIKRAFT_APP_ONLY.
func SplitLinkOptions(args []string, appOnlyEnv string) (LinkOptions, []string, error) {
	var o LinkOptions
	switch appOnlyEnv {
	case "", "0", "false", "no":
	default:
		o.AppOnly = true
	}
	var rest []string
	var err error
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--app-only" {
			o.AppOnly = true
			continue
		}
		name, val, joined := strings.Cut(a, "=")
		if !linkOptNames[name] {
			rest = append(rest, a)
			continue
		}
		if !joined {
			if i+1 >= len(args) {
				return o, nil, fmt.Errorf("%s needs a value", name)
			}
			i++
			val = args[i]
		}
		switch name {
		case "--rootfs":
			o.Rootfs = val
		case "--arg":
			o.Args = append(o.Args, val)
		case "--env":
			if k, _, ok := strings.Cut(val, "="); !ok || k == "" {
				return o, nil, fmt.Errorf("--env %q: want KEY=VALUE", val)
			}
			o.Env = append(o.Env, val)
		case "--kernel":
			o.Kernel = val
		case "--bake":
			o.Bake = val
		case "--volume":
			if o.Volumes, err = AddVolume(o.Volumes, val); err != nil {
				return o, nil, err
			}
		}
	}
	if o.Rootfs != "" {
		fi, err := os.Stat(o.Rootfs)
		if err != nil {
			return o, nil, fmt.Errorf("--rootfs: %w", err)
		}
		if !fi.IsDir() {
			return o, nil, fmt.Errorf("--rootfs %s: not a directory", o.Rootfs)
		}
	}
	if o.AppOnly && (o.Rootfs != "" || len(o.Args) > 0 || len(o.Env) > 0 || len(o.Volumes) > 0) {
		return o, nil, fmt.Errorf("--app-only makes a plain program: --rootfs, --arg, --env and --volume go into a baked image (give them to runikraft run instead)")
	}
	return o, rest, nil
}

// AddVolume checks a --volume directory (absolute, below /, no ':', not
// given before) and appends it, cleaned, to vols.
func AddVolume(vols []string, dir string) ([]string, error) {
	if !strings.HasPrefix(dir, "/") || strings.Contains(dir, ":") || path.Clean(dir) == "/" {
		return vols, fmt.Errorf("--volume %q: want an absolute guest directory below / without ':'", dir)
	}
	dir = path.Clean(dir)
	if slices.Contains(vols, dir) {
		return vols, fmt.Errorf("--volume %s given twice", dir)
	}
	return append(vols, dir), nil
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellJoin quotes and joins a command line.
func ShellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = ShellQuote(a)
	}
	return strings.Join(q, " ")
}

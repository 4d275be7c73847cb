package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/bootargs"
	"github.com/runikraft/runikraft/internal/qemu"
)

// The host view (runikraft run --host-view[=DIR], and every run that
// binfmt_misc starts): the application sees the host's files live at
// their own paths, starts in the host's current directory and gets the
// host process's environment, as it would under qemu-user. The files
// come over virtio-9p: the host directory DIR (default /) is a volume
// mounted at the same path in the guest; for / the kernel keeps its own
// /dev, /proc, /tmp and an empty /sys over the host's (kernel/cmd/kernel).

const hostViewUsage = "show the application the host's files live at the same paths (`DIR`, default /, over virtio-9p; " +
	"the kernel keeps its own /dev, /proc and /tmp), start it in the current directory and give it this process's " +
	"environment (-e adds to it); on when started through binfmt_misc"

// hostViewFlag is --host-view[=DIR]: alone it shares /, with a value
// that directory (absolute after the flag is parsed).
type hostViewFlag struct{ root string }

func (h *hostViewFlag) IsBoolFlag() bool { return true }

func (h *hostViewFlag) Set(s string) error {
	switch s {
	case "true":
		h.root = "/"
	case "false":
		h.root = ""
	default:
		if s == "" {
			return fmt.Errorf("want a directory, have an empty name")
		}
		abs, err := filepath.Abs(s)
		if err != nil {
			return err
		}
		// The guest path is the host's: take the one without symbolic
		// links, which is what a working directory below it resolves to.
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return fmt.Errorf("%s: %w", s, rootCause(err))
		}
		fi, err := os.Stat(real)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", s)
		}
		h.root = real
	}
	return nil
}

func (h *hostViewFlag) String() string {
	if h == nil {
		return ""
	}
	return h.root
}

// hostView is what a run in the host view gives the guest.
type hostView struct {
	root string // host directory shared at the same path ("/": all of it)
	cwd  string // the directory the application starts in
	// tmp, in a view of /, is a host directory in /tmp shown at its own
	// path over the kernel's /tmp, as a second volume: "/tmp" itself when
	// the application starts there, else the program's own directory
	// when the program is in /tmp (go test's binaries are), so that it
	// finds itself at /proc/self/exe. "" shows nothing of the host's /tmp.
	tmp string
}

// newHostView checks that the working directory is inside root (the
// guest could not start there otherwise) and returns the view for
// running program (a host path).
func newHostView(root, program string) (*hostView, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	if root != "/" && !within(root, cwd) {
		// $PWD may reach the directory through a symbolic link.
		if real, err := filepath.EvalSymlinks(cwd); err == nil && within(root, real) {
			cwd = real
		} else {
			return nil, fmt.Errorf("the current directory %s is not inside %s, so the application could not start there: share a directory that holds it", cwd, root)
		}
	}
	v := &hostView{root: root, cwd: cwd}
	if root != "/" {
		return v, nil
	}
	// The application must start in the current directory, so a view of
	// / whose current directory is in the host's /tmp (a build in a
	// temporary directory) shows the host's /tmp rather than the kernel's.
	if within("/tmp", cwd) {
		v.tmp = "/tmp"
		return v, nil
	}
	if abs, err := filepath.Abs(program); err == nil {
		if real, err := filepath.EvalSymlinks(abs); err == nil && within("/tmp", filepath.Dir(real)) {
			v.tmp = filepath.Dir(real)
		}
	}
	return v, nil
}

// within reports whether path is dir or below it (both clean and absolute).
func within(dir, path string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// kernelDirs are the directories the kernel keeps its own in a host view
// of / (kernel/cmd/kernel mounts them over the host's).
var kernelDirs = []string{"/dev", "/proc", "/sys", "/tmp"}

// guestSees reports whether the application in a host view of root finds
// the host's path at the same place: below root and not in a directory
// the kernel keeps its own (but tmp, of the host's /tmp, is shown).
func guestSees(root, tmp, path string) bool {
	if !filepath.IsAbs(path) {
		return false
	}
	path = filepath.Clean(path)
	if !within(root, path) {
		return false
	}
	if root == "/" {
		for _, d := range kernelDirs {
			if within(d, path) && path != d && !(d == "/tmp" && tmp != "" && within(tmp, path)) {
				return false
			}
		}
	}
	return true
}

// hostEnv is the environment the application gets from this process
// (environ) in a host view of root (or through binfmt_misc): all of it, as qemu-user passes it,
// except what cannot mean the same in the guest, which is dropped with a
// reason:
//   - entries that are not KEY=VALUE with a non-empty KEY (execve allows
//     them; no libc can look them up);
//   - TMPDIR when it names a directory the guest does not have: below
//     the host's /tmp, which the kernel's own /tmp hides (programs would
//     fail to create their temporary files there; without TMPDIR they
//     use the kernel's /tmp), or outside a shared DIR.
func hostEnv(environ []string, root, tmp string) (env []string, dropped []string) {
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case !ok || k == "":
			dropped = append(dropped, fmt.Sprintf("%q (not KEY=VALUE)", kv))
		case k == "TMPDIR" && v != "" && !guestSees(root, tmp, v):
			dropped = append(dropped, fmt.Sprintf("TMPDIR=%s (the guest has no such directory: it is outside the shared one, or in /tmp, which is the kernel's)", v))
		default:
			env = append(env, kv)
		}
	}
	return env, dropped
}

// chooseHostView decides whether a run shows the host's files: with
// --host-view, or when binfmt_misc started it for an application whose
// image has no root filesystem of its own (one that has keeps it, as
// a program in a container image would).
func chooseHostView(c *cli.Context, image string, baked *appimage.Info, appMode bool) (*hostView, error) {
	root := c.Generic("host-view").(*hostViewFlag).root
	ownRoot := c.String("rootfs") != "" || baked != nil && baked.Rootfs
	if root == "" && c.Bool("binfmt") && appMode && !ownRoot {
		root = "/"
	}
	switch {
	case root == "":
		return nil, nil
	case !appMode:
		return nil, fmt.Errorf("--host-view: %s is a machine image; the host view goes with an application run on the stock kernel", image)
	case c.Bool("kvm-nested"):
		return nil, errors.New("--host-view: not supported in the nested-KVM rig")
	case root == "/" && ownRoot:
		return nil, fmt.Errorf("--host-view: %s has a root filesystem of its own (--rootfs, or baked in), so the host's / cannot be its root: give --host-view=DIR to see DIR at its own path in it", image)
	}
	return newHostView(root, image)
}

// volumes are the view's virtio-9p devices and its kernel parameters:
// the mounts (bootargs.HostViewKey) and the working directory.
func (v *hostView) volumes() ([]qemu.Volume, string, error) {
	bv := []bootargs.Volume{{Tag: bootargs.HostViewTag, Dir: v.root}}
	qv := []qemu.Volume{{HostDir: v.root, Tag: bootargs.HostViewTag}}
	if v.tmp != "" {
		bv = append(bv, bootargs.Volume{Tag: bootargs.HostViewTag + "-tmp", Dir: v.tmp})
		qv = append(qv, qemu.Volume{HostDir: v.tmp, Tag: bootargs.HostViewTag + "-tmp"})
	}
	list, err := bootargs.EncodeVolumes(bv)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", v.root, err)
	}
	cwd, err := bootargs.EncodeKey(bootargs.CwdKey, []string{v.cwd})
	if err != nil {
		return nil, "", fmt.Errorf("current directory %s: %w", v.cwd, err)
	}
	return qv, bootargs.HostViewKey + "=" + list + " " + cwd, nil
}

// envHint says what to do when the environment a host view passes does
// not fit on the kernel command line, naming its largest variables.
func envHint(env []string) string {
	total := 0
	big := slices.Clone(env)
	for _, kv := range env {
		total += len(kv) + 1
	}
	slices.SortFunc(big, func(a, b string) int { return len(b) - len(a) })
	var names []string
	for _, kv := range big[:min(3, len(big))] {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, fmt.Sprintf("%s (%d bytes)", k, len(kv)))
	}
	return fmt.Sprintf("the application gets this process's environment, %d variables in %d bytes (a third more once encoded), largest %s; unset what it does not need (env -u NAME ...)",
		len(env), total, strings.Join(names, ", "))
}

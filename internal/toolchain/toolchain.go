// Package toolchain is the C toolchain behind runikraft-cc and runikraft-ld:
// it finds the musl sysroot, the stock kernel and the riscv64 cross gcc,
// rewrites gcc-driver command lines for the sysroot, links static-pie
// applications, checks them and bakes them into bootable images.
//
// The command-line work (Parse, CompileArgs, LinkArgs, ...) is pure so it
// can be tested on any host; Builder runs the tools.
package toolchain

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
)

const (
	// Triple is what runikraft-cc answers to -dumpmachine: the libc is musl,
	// whatever the cross gcc was built for.
	Triple = "riscv64-linux-musl"
	// DefaultCross is the cross gcc used when RUNIKRAFT_CROSS is unset
	// (Debian's gcc-riscv64-linux-gnu).
	DefaultCross = "riscv64-linux-gnu-gcc"
	// KernelName is the stock kernel's file name next to the tools.
	KernelName = "runikraft-kernel.img"
	// NetKernelName is the kernel built with the TCP/IP stack (tag
	// runikraft_net), for applications that use sockets.
	NetKernelName = "runikraft-kernel-net.img"
	// NoZonesKernelName is the stock kernel without the time-zone
	// database (tag runikraft_notz), for applications that never read
	// /usr/share/zoneinfo.
	NoZonesKernelName = "runikraft-kernel-notz.img"
)

// Host is what the tools read from their surroundings; tests fake it.
type Host struct {
	Getenv func(string) string
	// Exe is the running executable; the sysroot, the kernel and the other
	// tools are found relative to its directory.
	Exe string
}

// DefaultHost is the real environment and executable.
func DefaultHost() Host {
	exe, err := os.Executable()
	if err == nil {
		// A symlink in some PATH directory must still find the repository.
		if p, err := filepath.EvalSymlinks(exe); err == nil {
			exe = p
		}
	}
	return Host{Getenv: os.Getenv, Exe: exe}
}

func (h Host) getenv(k string) string {
	if h.Getenv == nil {
		return ""
	}
	return h.Getenv(k)
}

// BinDir is the directory holding the runikraft tools.
func (h Host) BinDir() string { return filepath.Dir(h.Exe) }

// SysrootPath is where the sysroot should be: $RUNIKRAFT_SYSROOT, else
// <bin>/../sysroot. It does not check that it exists.
func (h Host) SysrootPath() string {
	if s := h.getenv("RUNIKRAFT_SYSROOT"); s != "" {
		return filepath.Clean(s)
	}
	return filepath.Join(filepath.Dir(h.BinDir()), "sysroot")
}

// Sysroot returns the musl sysroot, checking that it has headers and libc.
func (h Host) Sysroot() (string, error) {
	s := h.SysrootPath()
	if _, err := os.Stat(s); err != nil {
		return "", fmt.Errorf("sysroot not found at %s: run ./install.sh (or set RUNIKRAFT_SYSROOT)", s)
	}
	for _, need := range []string{"include/stdio.h", "lib/libc.a", "lib/rcrt1.o"} {
		if _, err := os.Stat(filepath.Join(s, need)); err != nil {
			return "", fmt.Errorf("sysroot at %s is incomplete (no %s): run ./install.sh", s, need)
		}
	}
	return s, nil
}

// Kernel returns the kernel image to bake applications with: flag if set,
// else $RUNIKRAFT_KERNEL, else <bin>/runikraft-kernel.img.
func (h Host) Kernel(flag string) (string, error) {
	k, from := flag, "--kernel"
	if k == "" {
		k, from = h.getenv("RUNIKRAFT_KERNEL"), "RUNIKRAFT_KERNEL"
	}
	if k == "" {
		k = filepath.Join(h.BinDir(), KernelName)
		if _, err := os.Stat(k); err != nil {
			return "", fmt.Errorf("kernel not found at %s: run ./install.sh (or pass --kernel, set RUNIKRAFT_KERNEL, or link with --app-only)", k)
		}
		return k, nil
	}
	if _, err := os.Stat(k); err != nil {
		return "", fmt.Errorf("kernel %s (from %s): %w", k, from, rootCause(err))
	}
	return k, nil
}

// NoZonesKernel returns the kernel built without the zone database,
// next to the tools.
func (h Host) NoZonesKernel() (string, error) {
	k := filepath.Join(h.BinDir(), NoZonesKernelName)
	if _, err := os.Stat(k); err != nil {
		return "", fmt.Errorf("the kernel without time zones is not at %s: run ./install.sh", k)
	}
	return k, nil
}

// NetKernel returns the kernel built with networking, next to the tools.
func (h Host) NetKernel() (string, error) {
	k := filepath.Join(h.BinDir(), NetKernelName)
	if _, err := os.Stat(k); err != nil {
		return "", fmt.Errorf("the kernel with networking is not at %s: run ./install.sh", k)
	}
	return k, nil
}

// CrossGCC returns the cross gcc: $RUNIKRAFT_CROSS (a path or a name in
// PATH), else riscv64-linux-gnu-gcc from PATH.
func (h Host) CrossGCC() (string, error) {
	name := h.getenv("RUNIKRAFT_CROSS")
	if name == "" {
		p, err := exec.LookPath(DefaultCross)
		if err != nil {
			return "", fmt.Errorf("%s not found in PATH: run ./install.sh (or set RUNIKRAFT_CROSS to a riscv64 gcc)", DefaultCross)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("cross compiler %s (from RUNIKRAFT_CROSS): %w", name, rootCause(err))
	}
	return p, nil
}

// ToolPrefix is the binutils prefix belonging to a cross gcc path:
// /usr/bin/riscv64-linux-gnu-gcc-12 → /usr/bin/riscv64-linux-gnu-. A gcc
// whose name has no "gcc" in it gets its directory, so tools still resolve
// to something a caller can report.
func ToolPrefix(gcc string) string {
	dir, base := filepath.Split(gcc)
	if i := strings.LastIndex(base, "gcc"); i >= 0 {
		return dir + base[:i]
	}
	return dir
}

// CrossTool returns the binutils program name (ar, ranlib, ld, ...) that
// goes with gcc.
func CrossTool(gcc, name string) string { return ToolPrefix(gcc) + name }

// Version is the runikraft version baked into the running binary, without
// spaces so it fits in a --version line: a module version, or "devel"
// with the VCS revision.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := "devel"
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
		v += "-" + rev + dirty
	}
	return v
}

// rootCause strips os's and exec's wrappers, whose text repeats a path the
// message already names.
func rootCause(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err
}

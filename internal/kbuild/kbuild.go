// Package kbuild builds a Go program that imports the hart layer into a
// bootable kernel image: a linux/riscv64 build linked where the image
// expects it, then baked by package image.
package kbuild

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/runikraft/runikraft/internal/image"
	"github.com/runikraft/runikraft/kernel/tzdata"
)

// LDFlags are the linker flags every kernel needs: the link address,
// -checklinkname=0 because the fault reporter names functions with the
// runtime's own (nosplit) symbol lookup, -R 0x1000: segments start on
// the next page rather than the next 64 KiB (the padding was 80 KiB of
// file and RAM), and -w: no DWARF, which nothing
// reads at run time (crash reports name functions from the runtime's
// pclntab) and which was a quarter of the image. The ELF symbol table
// stays: the image builder, runikraft inspect and gdb read it, and it is
// not loaded into the guest's RAM.
var LDFlags = fmt.Sprintf("-T %#x -R 0x1000 -checklinkname=0 -w", image.TextAddr)

// Env is the environment for building kernels (and riscv64 apps).
func Env() []string {
	return append(os.Environ(), "GOOS=linux", "GOARCH=riscv64", "CGO_ENABLED=0")
}

// Options say what to build.
type Options struct {
	Dir    string    // directory to run go build in (module root or below)
	Pkg    string    // package path or pattern, e.g. ./tests/boot/selftest
	Out    string    // image path
	Tags   string    // extra build tags, comma separated
	Stderr io.Writer // go build's diagnostics
}

// Build compiles and bakes the kernel.
func Build(ctx context.Context, o Options) (*image.Result, error) {
	tmp, err := os.MkdirTemp("", "runikraft-kbuild-")
	if err != nil {
		return nil, fmt.Errorf("kbuild: %w", err)
	}
	defer os.RemoveAll(tmp)
	linked := filepath.Join(tmp, "kernel.elf")
	ldflags := LDFlags
	// RUNIKRAFT_KBUILD_ELF=PATH keeps the linked ELF, with its DWARF,
	// at PATH: bench/pgoprof reads the inlining and line tables there
	// to turn the calls counted in this kernel into a PGO profile.
	keepELF := os.Getenv("RUNIKRAFT_KBUILD_ELF")
	if keepELF != "" {
		ldflags = strings.TrimSuffix(ldflags, " -w")
	}
	args := []string{"build", "-o", linked, "-ldflags", ldflags}
	overlay, err := writeOverlay(ctx, o, tmp)
	if err != nil {
		return nil, fmt.Errorf("kbuild: %w", err)
	}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	modfile, err := gvisorBits(ctx, o.Dir, tmp)
	if err != nil {
		return nil, fmt.Errorf("kbuild: %w", err)
	}
	if modfile != "" {
		args = append(args, "-modfile", modfile)
	}
	if o.Tags != "" {
		args = append(args, "-tags", o.Tags)
	}
	if p := netProfile(ctx, o); p != "" {
		args = append(args, "-pgo", p)
	}
	args = append(args, o.Pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.Dir
	cmd.Env = Env()
	cmd.Stdout = o.Stderr
	cmd.Stderr = o.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kbuild: go build %s: %w", o.Pkg, err)
	}
	if keepELF != "" {
		elf, err := os.ReadFile(linked)
		if err == nil {
			err = os.WriteFile(keepELF, elf, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("kbuild: %w", err)
		}
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, fmt.Errorf("kbuild: %w", err)
	}
	return image.BakeFile(linked, out)
}

// NetTag builds a kernel with networking.
const NetTag = "runikraft_net"

// netProfile is the PGO profile of a kernel with networking: net.pgo
// beside the main package's default.pgo (which go build takes by
// itself), when there is one and GOFLAGS sets no -pgo. net.pgo is
// counted in the guest under the network servers (kernel/cmd/kernel/
// pgo.sh); the kernels without networking keep default.pgo, as the
// network path's inlining would only make them larger (the hello
// image's notz kernel by 8 KiB).
func netProfile(ctx context.Context, o Options) string {
	if !hasTag(o.Tags, NetTag) || strings.Contains(os.Getenv("GOFLAGS"), "-pgo") {
		return ""
	}
	dir := pkgDir(ctx, o.Dir, o.Pkg)
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, "net.pgo")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// NoZonesTag builds a kernel without the time-zone database (UTC only):
// the one runikraft-cc picks for programs that never read
// /usr/share/zoneinfo, 400 KiB smaller.
const NoZonesTag = "runikraft_notz"

func hasTag(tags, tag string) bool {
	for _, t := range strings.Split(tags, ",") {
		if strings.TrimSpace(t) == tag {
			return true
		}
	}
	return false
}

// writeOverlay writes, into tmp, the go build overlay of a kernel build
// and returns its path; "" when there is nothing to replace. (Go takes no
// overlay of a file in the module cache: see gvisorBits for gVisor's.)
func writeOverlay(ctx context.Context, o Options, tmp string) (string, error) {
	replace := map[string]string{}
	if !hasTag(o.Tags, NoZonesTag) {
		if err := tzOverlay(ctx, o.Dir, tmp, replace); err != nil {
			return "", fmt.Errorf("time zones: %w", err)
		}
	}
	if len(replace) == 0 {
		return "", nil
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": replace})
	if err != nil {
		return "", err
	}
	path := filepath.Join(tmp, "overlay.json")
	return path, os.WriteFile(path, ov, 0o644)
}

// pkgDir is the directory of package pkg as a kernel build in dir sees
// it; "" when that build does not see the package (another module's
// kernel, or one without networking's dependencies).
func pkgDir(ctx context.Context, dir, pkg string) string {
	return goList(ctx, dir, "{{.Dir}}", pkg)
}

// goList runs go list -f format pkg in dir as kernel builds see it; ""
// on failure.
func goList(ctx context.Context, dir, format, pkg string) string {
	cmd := exec.CommandContext(ctx, "go", "list", "-f", format, pkg)
	cmd.Dir = dir
	cmd.Env = Env()
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// tzOverlay adds to replace a file that gives package kernel/tzdata Go's
// zone database as generated source (see there), written into tmp;
// nothing when the build does not see that package.
func tzOverlay(ctx context.Context, dir, tmp string, replace map[string]string) error {
	pkg := pkgDir(ctx, dir, tzdataPkg)
	if pkg == "" {
		return nil // another module's kernel without our packages
	}
	cmd := exec.CommandContext(ctx, "go", "env", "GOROOT")
	cmd.Dir = dir
	goroot, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	zip, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return err
	}
	gen := filepath.Join(tmp, "zz_zipdata.go")
	if err := os.WriteFile(gen, tzdata.Source(zip), 0o644); err != nil {
		return err
	}
	replace[filepath.Join(pkg, "zz_zipdata.go")] = gen
	return nil
}

const tzdataPkg = "github.com/runikraft/runikraft/kernel/tzdata"

package kbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gVisor's package bits has, for riscv64, a file that finds a word's
// lowest or highest 1 bit by testing one bit at a time, up to 64 rounds
// (the kernel's network buffers ask for every packet: some 3,400
// instructions a Redis request). Kernel builds that see gVisor compile
// our own file, gvisorbits/bits.go (math/bits), in its place.
//
// go build refuses an -overlay of a file in the module cache, so the
// build instead gets a copy of go.mod (-modfile) that replaces gVisor's
// module with a directory of symbolic links to the module cache's copy,
// all but that one file, which is ours: see gvisorBits.
const (
	gvisorModule   = "gvisor.dev/gvisor"
	gvisorBitsPkg  = gvisorModule + "/pkg/bits"
	gvisorBitsFile = "uint64_arch_generic.go"
	// gvisorBitsConstraint is the replaced file's build constraint, which
	// its replacement keeps (the test checks that gVisor's still says so).
	gvisorBitsConstraint = "//go:build !amd64 && !arm64"
)

//go:embed gvisorbits/bits.go
var gvisorBitsSource []byte

// gvisorBitsText is the replacement file: our source under the build
// constraint of the file it stands in for.
func gvisorBitsText() []byte {
	var b bytes.Buffer
	b.WriteString(gvisorBitsConstraint + "\n\n")
	b.WriteString("// Runikraft's internal/kbuild/gvisorbits/bits.go, put here by internal/kbuild.\n\n")
	b.Write(gvisorBitsSource)
	return b.Bytes()
}

// gvisorBits returns the -modfile, written into tmp, under which a kernel
// build in dir compiles gVisor with gvisorBitsText in place of its
// file; "" when the build does not see gVisor, vendors it, or works in
// a Go workspace (where -modfile is not allowed): such a kernel keeps
// gVisor's own file. An error when gVisor no longer has the file, so that an
// upgrade that moved it fails here rather than silently losing the
// replacement or defining the functions twice.
func gvisorBits(ctx context.Context, dir, tmp string) (string, error) {
	pkg := pkgDir(ctx, dir, gvisorBitsPkg)
	if pkg == "" {
		return "", nil
	}
	if _, err := os.Stat(filepath.Join(pkg, gvisorBitsFile)); err != nil {
		return "", fmt.Errorf("gVisor's %s/%s, which kernel builds replace, is gone: %w", gvisorBitsPkg, gvisorBitsFile, err)
	}
	mod := goList(ctx, dir, "{{with .Module}}{{.Dir}}{{end}}", gvisorBitsPkg)
	if mod == "" {
		return "", nil // vendored: no module directory to stand in for
	}
	if rel, err := filepath.Rel(mod, pkg); err != nil || filepath.ToSlash(rel) != "pkg/bits" {
		return "", fmt.Errorf("%s is in %s, not in its module's pkg/bits (module %q)", gvisorBitsPkg, pkg, mod)
	}
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD", "GOWORK")
	cmd.Dir = dir
	cmd.Env = Env()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD GOWORK: %w", err)
	}
	env := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(env) != 2 || env[0] == "" || env[0] == os.DevNull {
		return "", fmt.Errorf("go env GOMOD GOWORK: %q", out)
	}
	if env[1] != "" && env[1] != "off" {
		return "", nil
	}
	farm, err := gvisorFarm(mod, tmp)
	if err != nil {
		return "", fmt.Errorf("gVisor with our %s: %w", gvisorBitsFile, err)
	}
	gomod, gosum := env[0], strings.TrimSuffix(env[0], ".mod")+".sum"
	modfile := filepath.Join(tmp, "kernel.mod")
	if err := copyFile(gomod, modfile); err != nil {
		return "", err
	}
	if err := copyFile(gosum, filepath.Join(tmp, "kernel.sum")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	cmd = exec.CommandContext(ctx, "go", "mod", "edit", "-replace="+gvisorModule+"="+farm, modfile)
	cmd.Dir = tmp
	cmd.Env = Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go mod edit: %w\n%s", err, out)
	}
	return modfile, nil
}

// gvisorFarm returns a directory that looks like gVisor's module in mod
// but for package bits' gvisorBitsFile, which is ours: symbolic links to
// mod's entries, except pkg and pkg/bits, which are directories of
// links, and the file. It is made once and kept in the user's cache
// directory under a name from mod's path and our file's text, so that
// go build's cache, which keys packages outside the module cache by
// directory, keeps gVisor's compiled packages from one kernel build to
// the next; made aside and renamed into place, so concurrent builds see
// it whole or not at all. Without a usable cache directory it is made in
// tmp, for this build only.
func gvisorFarm(mod, tmp string) (string, error) {
	text := gvisorBitsText()
	h := sha256.New()
	h.Write([]byte(mod + "\x00"))
	h.Write(text)
	name := hex.EncodeToString(h.Sum(nil))[:20]
	parent := ""
	if cache, err := os.UserCacheDir(); err == nil {
		parent = filepath.Join(cache, "runikraft", "kbuild-gvisor")
		if os.MkdirAll(parent, 0o755) != nil {
			parent = ""
		}
	}
	if parent == "" {
		farm := filepath.Join(tmp, "gvisor")
		if err := os.Mkdir(farm, 0o755); err != nil {
			return "", err
		}
		return farm, linkFarm(mod, farm, []string{"pkg", "bits"}, text)
	}
	farm := filepath.Join(parent, name)
	if farmWhole(farm) {
		return farm, nil
	}
	// Absent, or its links lead nowhere (the module cache was cleaned
	// and not refilled): make it anew. RemoveAll removes the links,
	// not what they point to.
	os.RemoveAll(farm)
	work, err := os.MkdirTemp(parent, "new-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work) // nothing left there once renamed
	if err := linkFarm(mod, work, []string{"pkg", "bits"}, text); err != nil {
		return "", err
	}
	if err := os.Rename(work, farm); err != nil && !farmWhole(farm) {
		return "", err
	} // else another build got there first: its copy is the same
	return farm, nil
}

// farmWhole says whether farm has our file and its links lead to the
// module.
func farmWhole(farm string) bool {
	for _, p := range []string{filepath.Join("pkg", "bits", gvisorBitsFile), "go.mod", filepath.Join("pkg", "bits", "bits.go")} {
		if _, err := os.Stat(filepath.Join(farm, p)); err != nil {
			return false
		}
	}
	return true
}

// linkFarm fills dst with links to src's entries but path[0], which it
// makes a directory and fills the same way with the rest of path; at the
// end of path, gvisorBitsFile is written with text instead of linked.
func linkFarm(src, dst string, path []string, text []byte) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		switch {
		case len(path) > 0 && e.Name() == path[0]:
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			if err := linkFarm(s, d, path[1:], text); err != nil {
				return err
			}
		case len(path) == 0 && e.Name() == gvisorBitsFile:
			if err := os.WriteFile(d, text, 0o644); err != nil {
				return err
			}
		default:
			if err := os.Symlink(s, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

package kvmrig

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// libDirs are where the dynamic loader looks, relative to the root
// (Debian's multiarch directory first).
var libDirs = []string{"usr/lib/riscv64-linux-gnu", "usr/lib"}

// maxLinks bounds symlink chains inside the unpacked tree.
const maxLinks = 16

// closure returns, relative to root, the programs bins, their program
// interpreter and every shared library they need transitively, with each
// symlink on the way: all a dynamically linked program needs of the tree.
// Only these go into the initramfs: the packages apt pulls in with QEMU
// (passwd, debconf, ...) bring 40 MB the outer machine would otherwise
// copy and unpack under TCG on every boot.
func closure(root string, bins []string) (map[string]bool, error) {
	keep := map[string]bool{}
	queue := append([]string(nil), bins...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		real, err := resolve(root, p, keep)
		if err != nil {
			return nil, err
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		f, err := elf.Open(filepath.Join(root, real))
		if err != nil {
			return nil, fmt.Errorf("kvm rig: %s: %w", real, err)
		}
		libs, err := f.ImportedLibraries()
		var interp string
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				b := make([]byte, min(prog.Filesz, 4096))
				if _, err := prog.ReadAt(b, 0); err == nil {
					interp = strings.TrimRight(string(b), "\x00")
				}
			}
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("kvm rig: %s: %w", real, err)
		}
		if interp != "" {
			queue = append(queue, strings.TrimPrefix(path.Clean(interp), "/"))
		}
		for _, lib := range libs {
			found := ""
			for _, d := range libDirs {
				if _, err := os.Lstat(filepath.Join(root, d, lib)); err == nil {
					found = path.Join(d, lib)
					break
				}
			}
			if found == "" {
				return nil, fmt.Errorf("kvm rig: %s needs %s, which no unpacked package has", real, lib)
			}
			queue = append(queue, found)
		}
	}
	return keep, nil
}

// resolve follows symlinks from p (relative to root, the root's own
// symlinks such as lib -> usr/lib included), marks every path it passes
// in keep and returns the regular file's path.
func resolve(root, p string, keep map[string]bool) (string, error) {
	p = path.Clean(p)
	for i := 0; i < maxLinks; i++ {
		// A symlinked directory on the way (lib -> usr/lib).
		dir, base := path.Split(p)
		if dir != "" {
			d, err := resolveDir(root, strings.TrimSuffix(dir, "/"), keep)
			if err != nil {
				return "", err
			}
			p = path.Join(d, base)
		}
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			return "", fmt.Errorf("kvm rig: %w", err)
		}
		keep[p] = true
		if fi.Mode()&os.ModeSymlink == 0 {
			if !fi.Mode().IsRegular() {
				return "", fmt.Errorf("kvm rig: %s is not a regular file", p)
			}
			return p, nil
		}
		t, err := os.Readlink(filepath.Join(root, p))
		if err != nil {
			return "", fmt.Errorf("kvm rig: %w", err)
		}
		if path.IsAbs(t) {
			p = path.Clean(strings.TrimPrefix(t, "/"))
		} else {
			p = path.Join(path.Dir(p), t)
		}
		if p == ".." || strings.HasPrefix(p, "../") {
			return "", fmt.Errorf("kvm rig: symlink to %s leaves the tree", t)
		}
	}
	return "", fmt.Errorf("kvm rig: %s: too many levels of symlinks", p)
}

// resolveDir resolves the directory d's symlinked components.
func resolveDir(root, d string, keep map[string]bool) (string, error) {
	out := ""
	for _, c := range strings.Split(d, "/") {
		next := path.Join(out, c)
		for i := 0; ; i++ {
			fi, err := os.Lstat(filepath.Join(root, next))
			if err != nil || fi.Mode()&os.ModeSymlink == 0 {
				break
			}
			if i >= maxLinks {
				return "", fmt.Errorf("kvm rig: %s: too many levels of symlinks", next)
			}
			keep[next] = true
			t, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				return "", fmt.Errorf("kvm rig: %w", err)
			}
			if path.IsAbs(t) {
				next = path.Clean(strings.TrimPrefix(t, "/"))
			} else {
				next = path.Join(path.Dir(next), t)
			}
			if next == ".." || strings.HasPrefix(next, "../") {
				return "", fmt.Errorf("kvm rig: symlink to %s leaves the tree", t)
			}
		}
		out = next
	}
	return out, nil
}

// moveKept moves the paths in keep from src to a fresh tree dst.
func moveKept(src, dst string, keep map[string]bool) error {
	for p := range keep {
		to := filepath.Join(dst, p)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fmt.Errorf("kvm rig: %w", err)
		}
		fi, err := os.Lstat(filepath.Join(src, p))
		if err != nil {
			return fmt.Errorf("kvm rig: %w", err)
		}
		if fi.IsDir() {
			continue // a kept symlinked directory is recreated as its link only
		}
		if err := os.Rename(filepath.Join(src, p), to); err != nil {
			return fmt.Errorf("kvm rig: %w", err)
		}
	}
	return nil
}

package share

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// exported is one acceptable entry of an export archive.
type exported struct {
	name string
	perm os.FileMode
	size int64
	sum  [sha256.Size]byte
}

// Apply writes the regular files of the export archive r (what the
// kernel sent on runikraft.export) into dir and returns the names it
// wrote or changed the mode of.
//
// The guest is not trusted with the host's files: only entries named by
// a plain file name (no '/', not "." or "..") are taken, so nothing
// outside dir is touched, and only permission bits (0777: no setuid,
// setgid or sticky) are kept. Each file is written by atomic rename,
// and only if its content differs from the host file's; a host file of
// that name that is not a regular file (a symlink, a directory) is left
// alone. Refused entries are reported to warn.
//
// The whole archive is read once before anything is written: if it is
// malformed (or truncated), Apply returns the error and writes nothing.
// An empty r is an empty export.
func Apply(r io.ReadSeeker, dir string, warn func(string)) ([]string, error) {
	if warn == nil {
		warn = func(string) {}
	}
	var files []exported
	err := walk(r, func(h *cpio.Header, body io.Reader) error {
		if !plainName(h.Name) {
			warn(fmt.Sprintf("refusing exported file %q: not a plain file name in the directory", h.Name))
			return nil
		}
		if !h.Mode.IsRegular() {
			warn(fmt.Sprintf("refusing exported %s: not a regular file (mode %s)", h.Name, h.Mode))
			return nil
		}
		d := sha256.New()
		n, err := io.Copy(d, body)
		if err != nil {
			return err
		}
		e := exported{name: h.Name, perm: os.FileMode(h.Mode.Perm()) & os.ModePerm, size: n}
		d.Sum(e.sum[:0])
		files = append(files, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export archive: %w", err)
	}
	if len(files) == 0 {
		return nil, nil
	}

	// Decide, then write: a file that needs writing is streamed from its
	// entry on the second pass.
	todo := map[int]bool{}
	var changed []string
	for i, e := range files {
		target := filepath.Join(dir, e.name)
		switch same, err := sameContent(target, e); {
		case err != nil:
			warn(fmt.Sprintf("not writing back %s: %v", e.name, err))
		case !same:
			todo[i] = true
		default:
			fi, err := os.Lstat(target)
			if err == nil && fi.Mode().Perm() != e.perm {
				if err := os.Chmod(target, e.perm); err != nil {
					warn(fmt.Sprintf("not changing the mode of %s: %v", e.name, err))
				} else {
					changed = append(changed, e.name)
				}
			}
		}
	}
	if len(todo) == 0 {
		return changed, nil
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return changed, fmt.Errorf("export archive: %w", err)
	}
	i := 0
	err = walk(r, func(h *cpio.Header, body io.Reader) error {
		if !plainName(h.Name) || !h.Mode.IsRegular() {
			return nil
		}
		k := i
		i++
		if k >= len(files) || files[k].name != h.Name {
			return errors.New("changed between two reads")
		}
		if !todo[k] {
			return nil
		}
		if err := writeAtomic(dir, files[k], body); err != nil {
			warn(fmt.Sprintf("not writing back %s: %v", h.Name, err))
			return nil
		}
		changed = append(changed, h.Name)
		return nil
	})
	if err != nil {
		return changed, fmt.Errorf("export archive: %w", err)
	}
	return changed, nil
}

// walk calls fn with each entry of the archive and its body. An empty
// input is an archive without entries.
func walk(r io.Reader, fn func(*cpio.Header, io.Reader) error) error {
	br := &countingReader{r: r}
	cr := cpio.NewReader(br, cpio.MaxSize)
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if br.n == 0 {
				return nil // nothing was exported
			}
			return err
		}
		if err := fn(h, cr); err != nil {
			return err
		}
	}
}

// countingReader counts the bytes read, to tell an empty export (the
// guest had nothing to send, or never got to it) from a damaged one.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// plainName reports whether name is a file name in the directory
// itself, not a path.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// sameContent reports whether the host file target already holds e's
// content. A missing file differs; a non-regular one is an error.
func sameContent(target string, e exported) (bool, error) {
	fi, err := os.Lstat(target)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("the host has a %s there, not a regular file", kind(fi.Mode()))
	}
	if fi.Size() != e.size {
		return false, nil
	}
	f, err := os.Open(target)
	if err != nil {
		return false, err
	}
	defer f.Close()
	d := sha256.New()
	if _, err := io.Copy(d, f); err != nil {
		return false, err
	}
	return bytes.Equal(d.Sum(nil), e.sum[:]), nil
}

func kind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

// writeAtomic writes body as dir/e.name with e.perm: a temporary file in
// dir, renamed over the name (which replaces a symlink rather than
// writing through it).
func writeAtomic(dir string, e exported, body io.Reader) error {
	tmp, err := os.CreateTemp(dir, ".runikraft-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	n, err := io.Copy(tmp, body)
	if err == nil && n != e.size {
		err = fmt.Errorf("%d bytes, not %d", n, e.size)
	}
	if err == nil {
		err = tmp.Chmod(e.perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, e.name))
}

// Package share gives an application on the stock kernel the host's
// current directory by copy (runikraft run --share-cwd), until real host
// shares (9p) exist.
//
// Pack puts the regular files at the top level of the directory into the
// root filesystem archive, at the same absolute path, so that a program
// started there (an autoconf test program reading confdefs.h) finds them.
// After the application exits, the kernel sends the files of that
// directory it created or changed back as a newc archive on the port
// runikraft.export; Apply writes them into the host directory. Deleted
// files and subdirectories are not propagated.
package share

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// Default limits of Pack: the files live in the guest's memory, and
// sharing is a copy made for every run.
const (
	DefaultMaxFileSize  = 16 << 20
	DefaultMaxTotalSize = 128 << 20
)

// Options configures Pack.
type Options struct {
	// Base, if set, is a newc or crc archive whose entries come first (a
	// root filesystem); shared files whose names it has are left out.
	Base io.Reader
	// Extra are regular-file entries written after Base's (the
	// application as init), with Body or Open; Ino and Nlink are assigned.
	Extra []cpio.Entry
	// Skip, if set, leaves out the files of the directory it accepts
	// (e.g. the image being run).
	Skip func(os.FileInfo) bool
	// Note is told about each file left out for its size or an error;
	// nil drops the notes.
	Note func(string)
	// MaxFileSize bounds one shared file and MaxTotalSize all of them
	// (Base and Extra not counted); 0 means the defaults.
	MaxFileSize, MaxTotalSize int64
}

// Pack writes a newc archive to w: opts.Base's entries, opts.Extra, then
// dir and each of its ancestors as directories and the regular files at
// the top level of dir (not its subdirectories, symlinks or special
// files). Entries are named by their absolute path without the leading
// slash, so the guest sees the files where the host has them. dir must
// be absolute.
func Pack(w io.Writer, dir string, opts Options) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("share: %s is not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	maxFile, maxTotal := opts.MaxFileSize, opts.MaxTotalSize
	if maxFile <= 0 {
		maxFile = DefaultMaxFileSize
	}
	if maxTotal <= 0 {
		maxTotal = DefaultMaxTotalSize
	}
	note := opts.Note
	if note == nil {
		note = func(string) {}
	}
	// List before anything is written: w may be a file in dir.
	var (
		ents []os.DirEntry
		err  error
	)
	if pseudo(dir) {
		// Reading files there can block (/proc/kmsg) or act.
		note(fmt.Sprintf("not sharing %s: a kernel pseudo-filesystem", dir))
	} else if ents, err = os.ReadDir(dir); err != nil {
		return fmt.Errorf("share: %w", err)
	}

	cw := cpio.NewWriter(w, nil)
	base := map[string]cpio.Mode{} // names in Base and Extra → their mode
	var ino uint32
	if opts.Base != nil {
		if ino, err = copyArchive(cw, opts.Base, base); err != nil {
			return fmt.Errorf("share: root filesystem: %w", err)
		}
	}
	for _, e := range opts.Extra {
		if _, dup := base[e.Name]; dup {
			return fmt.Errorf("share: the root filesystem already has %s", e.Name)
		}
		ino++
		if err := writeEntry(cw, e, ino); err != nil {
			return fmt.Errorf("share: %w", err)
		}
		base[e.Name] = e.Mode
	}

	// dir and its ancestors, unless the base has them already.
	prefix := strings.TrimPrefix(filepath.ToSlash(dir), "/")
	if prefix != "" {
		parts := strings.Split(prefix, "/")
		for i := range parts {
			name := strings.Join(parts[:i+1], "/")
			if m, ok := base[name]; ok {
				if !m.IsDir() {
					note(fmt.Sprintf("not sharing %s: the root filesystem has /%s, and not as a directory", dir, name))
					return closeWriter(cw)
				}
				continue
			}
			ino++
			if err := cw.WriteHeader(dirHeader(name, "/"+name, ino)); err != nil {
				return fmt.Errorf("share: %w", err)
			}
		}
	}

	var total int64
	var over []string
	for _, d := range ents {
		if !d.Type().IsRegular() {
			continue
		}
		name := path.Join(prefix, d.Name())
		if name == "" || len(name) >= cpio.MaxNameSize {
			note(fmt.Sprintf("not sharing %q: its path is too long", d.Name()))
			continue
		}
		if _, ok := base[name]; ok {
			note(fmt.Sprintf("not sharing %s: the root filesystem has its own /%s", d.Name(), name))
			continue
		}
		fi, err := d.Info()
		if err != nil {
			continue // gone since the listing
		}
		if opts.Skip != nil && opts.Skip(fi) {
			continue
		}
		if fi.Size() > maxFile {
			note(fmt.Sprintf("not sharing %s: %d bytes, more than the limit of %d MiB per file", d.Name(), fi.Size(), maxFile>>20))
			continue
		}
		if total+fi.Size() > maxTotal {
			over = append(over, d.Name())
			continue
		}
		body, err := readRegular(filepath.Join(dir, d.Name()), fi, maxFile)
		if err != nil {
			note(fmt.Sprintf("not sharing %s: %v", d.Name(), err))
			continue
		}
		if int64(len(body)) > maxFile || total+int64(len(body)) > maxTotal {
			over = append(over, d.Name())
			continue
		}
		total += int64(len(body))
		ino++
		h := cpio.Header{
			Name: name, Mode: cpio.TypeReg | cpio.Mode(fi.Mode().Perm()),
			Mtime: clampMtime(fi.ModTime().Unix()), Size: int64(len(body)),
		}
		if err := writeEntry(cw, cpio.Entry{Header: h, Body: body}, ino); err != nil {
			return fmt.Errorf("share: %w", err)
		}
	}
	if len(over) > 0 {
		note(fmt.Sprintf("not sharing %d file(s) past the total limit of %d MiB: %s", len(over), maxTotal>>20, strings.Join(over, ", ")))
	}
	return closeWriter(cw)
}

func closeWriter(cw *cpio.Writer) error {
	if err := cw.Close(); err != nil {
		return fmt.Errorf("share: %w", err)
	}
	return nil
}

// copyArchive copies r's entries to cw, recording each name's mode in
// names, and returns the largest inode number, so that new entries can
// take numbers no hard link of r's uses.
func copyArchive(cw *cpio.Writer, r io.Reader, names map[string]cpio.Mode) (uint32, error) {
	cr := cpio.NewReader(r, cpio.MaxSize)
	var maxIno uint32
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return maxIno, nil
		}
		if err != nil {
			return 0, err
		}
		h.Check = 0 // written as newc, which has no checksums
		if err := cw.WriteHeader(h); err != nil {
			return 0, err
		}
		if _, err := io.Copy(cw, cr); err != nil {
			return 0, err
		}
		names[h.Name] = h.Mode
		maxIno = max(maxIno, h.Ino)
	}
}

// writeEntry writes a regular file or directory entry with inode ino.
func writeEntry(cw *cpio.Writer, e cpio.Entry, ino uint32) error {
	h := e.Header
	h.Ino, h.Nlink, h.Check = ino, 1, 0
	if err := cw.WriteHeader(&h); err != nil {
		return err
	}
	var body io.Reader
	switch {
	case e.Body != nil:
		body = bytes.NewReader(e.Body)
	case e.Open != nil:
		rc, err := e.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		body = io.LimitReader(rc, h.Size)
	}
	if body != nil {
		if _, err := io.Copy(cw, body); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return nil
}

// dirHeader is the entry of directory name, with the host directory
// at hostPath's permissions (0755 if it cannot be read).
func dirHeader(name, hostPath string, ino uint32) *cpio.Header {
	h := &cpio.Header{Name: name, Mode: cpio.TypeDir | 0o755, Ino: ino, Nlink: 2}
	if fi, err := os.Stat(hostPath); err == nil && fi.IsDir() {
		h.Mode = cpio.TypeDir | cpio.Mode(fi.Mode().Perm())
		h.Mtime = clampMtime(fi.ModTime().Unix())
	}
	return h
}

// readRegular reads the file at p, up to limit+1 bytes, if it is still
// the regular file that was listed (not replaced by a symlink or a device
// meanwhile).
func readRegular(p string, listed os.FileInfo, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(fi, listed) {
		return nil, errors.New("replaced while packing")
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// pseudo reports whether dir is in Linux's /proc or /sys.
func pseudo(dir string) bool {
	for _, p := range []string{"/proc", "/sys"} {
		if dir == p || strings.HasPrefix(dir, p+"/") {
			return true
		}
	}
	return false
}

// clampMtime keeps a timestamp in the archive's unsigned 32-bit range.
func clampMtime(sec int64) int64 {
	return min(max(sec, 0), cpio.MaxSize)
}

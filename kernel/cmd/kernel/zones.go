//go:build riscv64

package main

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
	"github.com/runikraft/runikraft/kernel/tzdata"
)

// withZones returns the root filesystem the application gets: the
// kernel's time-zone database at /usr/share/zoneinfo (package tzdata),
// then archive (the image's own root filesystem, nil if none) unpacked
// over it. A root filesystem with its own /usr/share/zoneinfo keeps it
// alone. The zones are written as archive entries without a trailer, so
// the two read as one archive without copying the image's.
func withZones(archive []byte) (io.Reader, error) {
	var own io.Reader
	if archive != nil {
		own = bytes.NewReader(archive)
	}
	zones, err := tzdata.Zones()
	if err != nil || len(zones) == 0 || hasZoneinfo(archive) {
		return own, err
	}
	var b bytes.Buffer
	w := cpio.NewWriter(&b, nil)
	ino := uint32(1 << 30) // clear of the inode numbers of the image's archive
	dirs := map[string]bool{}
	dir := func(name string) error {
		if dirs[name] {
			return nil
		}
		dirs[name] = true
		ino++
		return w.WriteHeader(&cpio.Header{Name: name, Mode: cpio.TypeDir | 0o755, Nlink: 2, Ino: ino})
	}
	for _, d := range []string{"usr", "usr/share", tzdata.Dir} {
		if err := dir(d); err != nil {
			return nil, err
		}
	}
	for _, z := range zones {
		name := tzdata.Dir + "/" + z.Name
		if _, err := cpio.CleanName(name); err != nil {
			continue
		}
		if i := strings.LastIndexByte(name, '/'); i > len(tzdata.Dir) {
			// Parents first; the archive lists Africa/... after Africa/.
			parts := strings.Split(name[len(tzdata.Dir)+1:i], "/")
			for k := range parts {
				if err := dir(tzdata.Dir + "/" + strings.Join(parts[:k+1], "/")); err != nil {
					return nil, err
				}
			}
		}
		ino++
		if err := w.WriteHeader(&cpio.Header{Name: name, Mode: cpio.TypeReg | 0o644, Nlink: 1, Size: int64(len(z.Data)), Ino: ino}); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, z.Data); err != nil {
			return nil, err
		}
	}
	if own == nil {
		if err := w.Close(); err != nil {
			return nil, err
		}
		return &b, nil
	}
	// A last directory entry (again: it exists already) pads the last
	// file; the image's archive and its trailer follow.
	delete(dirs, tzdata.Dir)
	if err := dir(tzdata.Dir); err != nil {
		return nil, err
	}
	return io.MultiReader(&b, own), nil
}

// hasZoneinfo reports whether a root filesystem archive brings its own
// /usr/share/zoneinfo.
func hasZoneinfo(archive []byte) bool {
	if archive == nil {
		return false
	}
	r := cpio.NewReader(bytes.NewReader(archive), cpio.MaxSize)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) || err != nil {
			return false
		}
		if h.Name == tzdata.Dir || strings.HasPrefix(h.Name, tzdata.Dir+"/") {
			return true
		}
	}
}

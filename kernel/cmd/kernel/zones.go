//go:build riscv64

package main

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
	"github.com/runikraft/runikraft/kernel/tzdata"
	"github.com/runikraft/runikraft/posix"
)

// zoneMounts returns the mount of the kernel's time-zone database at
// /usr/share/zoneinfo (package tzdata: served from the kernel image,
// read-only), unless the image's root filesystem archive brings its own.
func zoneMounts(archive []byte) ([]posix.Mount, error) {
	if hasZoneinfo(archive) {
		return nil, nil
	}
	z, err := tzdata.FS()
	if err != nil || z == nil {
		return nil, err
	}
	return []posix.Mount{{Path: "/" + tzdata.Dir, FS: z}}, nil
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

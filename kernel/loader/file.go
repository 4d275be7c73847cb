package loader

import (
	"fmt"
	"io"
)

// File is a program file held in RAM that the kernel may hand over page
// by page: the initrd, or the application baked into the image. Loaded
// from a File, whole pages of read-only segments are not copied: the
// file's own page backs the application's (hart.AdoptInitrdPage), which
// is possible because a segment's file offset and address are equal
// modulo the page size and the file starts on a page. The caller must
// not read the file's bytes after loading (the adopted pages are the
// application's) and must not give the File of a root filesystem's
// archive, which the filesystems still read.
type File []byte

// ReadAt implements io.ReaderAt.
func (f File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("loader: negative offset %d", off)
	}
	if off >= int64(len(f)) {
		return 0, io.EOF
	}
	n := copy(p, f[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// wholePages returns the part of c that is whole pages at both ends: its
// offset into c and its length (a multiple of PageSize, maybe 0). Only
// when c's address and file offset are congruent modulo the page size
// can a page of the file back a page of the image.
func wholePages(c Copy) (skip, n uint64) {
	if (c.Addr-c.FileOff)%PageSize != 0 {
		return 0, 0
	}
	skip = (PageSize - c.Addr%PageSize) % PageSize
	if skip >= c.Len {
		return 0, 0
	}
	if n = (c.Len - skip) &^ (PageSize - 1); n == 0 {
		return 0, 0
	}
	return skip, n
}

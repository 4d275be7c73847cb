package cpio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// fieldNames labels the 13 header fields, in archive order, for errors.
var fieldNames = [13]string{
	"ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
	"devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
}

// Reader reads a newc or crc archive entry by entry. Next advances to an
// entry and Read returns its body. A Reader keeps the first error it meets
// and returns it from every later call, so a damaged archive cannot be
// half-read by accident.
type Reader struct {
	r       io.Reader
	maxSize int64

	entry int // number of the current entry, from 1, for errors
	name  string
	off   int64 // bytes consumed from r, for errors
	start int64 // offset of the current entry's header

	remain int64  // body bytes not yet consumed
	pad    int    // zero bytes that follow the body
	verify bool   // compare the body sum with want at its end
	sum    uint32 // running byte sum of the body
	want   uint32

	format Format // of the first header; later ones must match
	link   bool   // the current entry is a symlink
	done   bool
	err    error

	// symlinks holds the names of symlink entries seen so far, so that
	// a later entry cannot be written through one of them (for example
	// "etc" -> "/host/etc" followed by "etc/passwd").
	symlinks map[string]struct{}

	hdr [headerSize]byte
	// buf holds a name while it is validated and serves as scratch for
	// skipping bodies; it is fixed-size so no header field sizes memory.
	buf [MaxNameSize]byte
}

// NewReader returns a Reader for the archive in r. Regular files whose size
// exceeds maxSize are rejected with ErrTooLarge; pass MaxSize for the
// format's own limit. A negative maxSize is treated as 0.
func NewReader(r io.Reader, maxSize int64) *Reader {
	if maxSize < 0 {
		maxSize = 0
	}
	return &Reader{r: r, maxSize: maxSize}
}

// errorf builds an error that names the entry being read and wraps kind.
func (r *Reader) errorf(kind error, format string, args ...any) error {
	where := fmt.Sprintf("cpio: entry #%d", r.entry)
	if r.name != "" {
		where += fmt.Sprintf(" %q", r.name)
	}
	where += fmt.Sprintf(" (header at offset %d)", r.start)
	return fmt.Errorf("%s: %w: %s", where, kind, fmt.Sprintf(format, args...))
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// readFull fills p from the archive, reporting truncation in terms of what.
func (r *Reader) readFull(p []byte, what string) error {
	n, err := io.ReadFull(r.r, p)
	r.off += int64(n)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.fail(r.errorf(ErrTruncated, "%s ends after %d of %d bytes", what, n, len(p)))
	}
	return r.fail(r.errorf(ErrFormat, "reading %s: %v", what, err))
}

// readPad consumes n padding bytes, which must be zero.
func (r *Reader) readPad(n int, what string) error {
	if n == 0 {
		return nil
	}
	p := r.buf[:n]
	if err := r.readFull(p, "padding after "+what); err != nil {
		return err
	}
	for _, b := range p {
		if b != 0 {
			return r.fail(r.errorf(ErrFormat, "non-zero padding after %s", what))
		}
	}
	return nil
}

// Next skips the rest of the current entry and returns the next header.
// At the trailer it returns io.EOF; bytes after the trailer are not read.
func (r *Reader) Next() (*Header, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	if r.entry > 0 {
		if err := r.finishBody(); err != nil {
			return nil, err
		}
	}

	r.entry++
	r.name = ""
	r.link = false
	r.remain = 0
	r.pad = 0
	r.start = r.off
	n, err := io.ReadFull(r.r, r.hdr[:])
	r.off += int64(n)
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, r.fail(r.errorf(ErrTruncated, "archive ends without %s", Trailer))
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, r.fail(r.errorf(ErrTruncated, "header ends after %d of %d bytes", n, headerSize))
		}
		return nil, r.fail(r.errorf(ErrFormat, "reading header: %v", err))
	}

	magic := string(r.hdr[:6])
	var format Format
	switch magic {
	case magicNewc:
		format = FormatNewc
	case magicCRC:
		format = FormatCRC
	default:
		return nil, r.fail(r.errorf(ErrFormat, "bad magic %q (want %q or %q)", magic, magicNewc, magicCRC))
	}
	// One archive is one format; a switch means damage or splicing.
	if r.entry == 1 {
		r.format = format
	} else if format != r.format {
		return nil, r.fail(r.errorf(ErrFormat, "magic %q differs from the archive's %s format", magic, r.format))
	}
	var f [13]uint32
	for i := range f {
		field := r.hdr[6+8*i : 14+8*i]
		v, ok := parseHex8(field)
		if !ok {
			return nil, r.fail(r.errorf(ErrFormat, "%s field %q is not 8 hex digits", fieldNames[i], field))
		}
		f[i] = v
	}
	h := Header{
		Ino: f[0], Mode: Mode(f[1]), UID: f[2], GID: f[3], Nlink: f[4],
		Mtime: int64(f[5]), Size: int64(f[6]),
		DevMajor: f[7], DevMinor: f[8], RdevMajor: f[9], RdevMinor: f[10],
		Check: f[12],
	}
	nameSize := f[11]
	if nameSize == 0 {
		return nil, r.fail(r.errorf(ErrFormat, "name size is 0"))
	}
	if nameSize > MaxNameSize {
		return nil, r.fail(r.errorf(ErrFormat, "name size %d exceeds %d", nameSize, MaxNameSize))
	}
	raw := r.buf[:nameSize]
	if err := r.readFull(raw, "name"); err != nil {
		return nil, err
	}
	if raw[nameSize-1] != 0 {
		return nil, r.fail(r.errorf(ErrFormat, "name is not NUL-terminated"))
	}
	raw = raw[:nameSize-1]
	for _, b := range raw {
		if b == 0 {
			return nil, r.fail(r.errorf(ErrFormat, "name contains NUL"))
		}
	}
	rawName := string(raw)
	r.name = rawName
	if err := r.readPad(pad4(headerSize+int64(nameSize)), "name"); err != nil {
		return nil, err
	}

	if rawName == Trailer {
		if h.Size != 0 {
			return nil, r.fail(r.errorf(ErrFormat, "trailer has size %d", h.Size))
		}
		r.done = true
		return nil, io.EOF
	}
	if err := r.validate(&h, rawName, format); err != nil {
		return nil, r.fail(err)
	}
	r.name = h.Name
	r.remain = h.Size
	r.pad = pad4(h.Size)
	r.sum = 0
	r.want = h.Check
	r.verify = format == FormatCRC && h.Mode.IsRegular()
	r.link = h.Mode.IsSymlink()
	return &h, nil
}

// validate checks a parsed header and fills in its cleaned name.
func (r *Reader) validate(h *Header, rawName string, format Format) error {
	name, why := cleanName(rawName)
	if why != "" {
		return r.errorf(ErrUnsafe, "name %s", why)
	}
	h.Name = name
	r.name = name
	if kind, why := checkEntry(h, r.maxSize); kind != nil {
		return r.errorf(kind, "%s", why)
	}
	// Only regular files carry a checksum: GNU cpio and Linux write and
	// check none for symlinks, so their check field is not judged.
	if format == FormatNewc && h.Check != 0 {
		return r.errorf(ErrFormat, "check field is %08X, want 0 in newc format", h.Check)
	}
	// An empty body is never read, so its sum is checked here.
	if format == FormatCRC && h.Mode.IsRegular() && h.Size == 0 && h.Check != 0 {
		return r.errorf(ErrChecksum, "body sums to 00000000, header says %08X", h.Check)
	}
	// Reject any entry below a symlink: unpacking it would write through
	// the link, possibly outside the root.
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		if _, ok := r.symlinks[name[:i]]; ok {
			return r.errorf(ErrUnsafe, "parent %q is a symlink", name[:i])
		}
	}
	if h.Mode.IsSymlink() {
		if r.symlinks == nil {
			r.symlinks = make(map[string]struct{})
		}
		r.symlinks[name] = struct{}{}
	}
	return nil
}

// finishBody consumes what is left of the current body and its padding,
// verifying the checksum on the way.
func (r *Reader) finishBody() error {
	for r.remain > 0 {
		p := r.buf[:]
		if int64(len(p)) > r.remain {
			p = p[:r.remain]
		}
		if _, err := r.readBody(p); err != nil {
			return err
		}
	}
	if err := r.readPad(r.pad, "body"); err != nil {
		return err
	}
	r.pad = 0
	return nil
}

// readBody reads up to len(p) body bytes; len(p) must not exceed remain.
func (r *Reader) readBody(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n < 0 || n > len(p) {
		return 0, r.fail(r.errorf(ErrFormat, "underlying reader returned invalid count %d", n))
	}
	r.off += int64(n)
	r.remain -= int64(n)
	if r.verify {
		r.sum = Checksum(p[:n], r.sum)
	}
	if r.remain == 0 {
		if r.verify && r.sum != r.want {
			return n, r.fail(r.errorf(ErrChecksum, "body sums to %08X, header says %08X", r.sum, r.want))
		}
		return n, nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return n, r.fail(r.errorf(ErrTruncated, "body ends with %d bytes missing", r.remain))
		}
		return n, r.fail(r.errorf(ErrFormat, "reading body: %v", err))
	}
	return n, nil
}

// Read reads the body of the current entry; for a symlink the body is its
// target. It returns io.EOF at the end of the body.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	if len(p) == 0 {
		return 0, nil
	}
	return r.readBody(p)
}

// Readlink returns the target of the current entry, which must be a symlink
// whose body has not been read yet.
func (r *Reader) Readlink() (string, error) {
	if r.err != nil {
		return "", r.err
	}
	// Size was bounded by MaxSymlinkSize in validate, so buf holds it.
	if r.entry == 0 || r.done || !r.link {
		return "", fmt.Errorf("cpio: Readlink called on a non-symlink entry")
	}
	if r.remain > MaxSymlinkSize {
		return "", fmt.Errorf("cpio: Readlink: symlink body too large")
	}
	p := r.buf[:r.remain]
	for off := 0; off < len(p); {
		n, err := r.readBody(p[off:])
		off += n
		if err != nil {
			return "", err
		}
	}
	return string(p), nil
}

// ReadFile returns the body of the regular file name (as the archive
// spells it, without a leading "/") in archive, refusing one larger
// than max bytes.
func ReadFile(archive []byte, name string, max int64) ([]byte, error) {
	r := NewReader(bytes.NewReader(archive), int64(len(archive)))
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no /%s in the archive", name)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == name && h.Mode.IsRegular() {
			if h.Size > max {
				return nil, fmt.Errorf("/%s is %d bytes, more than %d", name, h.Size, max)
			}
			return io.ReadAll(io.LimitReader(r, h.Size))
		}
	}
}

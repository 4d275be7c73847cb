package cpio

import (
	"errors"
	"fmt"
	"io"
)

// DefaultBlockSize is the multiple the finished archive is padded to, as
// GNU cpio does, so that archives match its output byte for byte.
const DefaultBlockSize = 512

// WriterOptions configures a Writer. The zero value writes newc archives
// padded to DefaultBlockSize.
type WriterOptions struct {
	Format Format
	// BlockSize is the multiple, in bytes, the archive is padded to after
	// the trailer. 0 means DefaultBlockSize; it must otherwise be a
	// positive multiple of 4 (4 means no padding beyond alignment).
	BlockSize int
}

// Writer writes an archive one entry at a time: WriteHeader, then exactly
// Header.Size bytes of body through Write, and Close to add the trailer.
// It validates headers with the same rules as Reader, so whatever it writes
// the Reader accepts, and a Reader's headers and bodies written back give
// the same bytes.
type Writer struct {
	w         io.Writer
	format    Format
	blockSize int
	off       int64

	name    string
	started bool
	remain  int64
	pad     int
	verify  bool
	sum     uint32
	want    uint32

	closed bool
	err    error
	zeros  [DefaultBlockSize]byte
}

// NewWriter returns a Writer that writes to w. A nil opts means the zero
// WriterOptions.
func NewWriter(w io.Writer, opts *WriterOptions) *Writer {
	cw := &Writer{w: w, blockSize: DefaultBlockSize}
	if opts != nil {
		cw.format = opts.Format
		if opts.BlockSize != 0 {
			cw.blockSize = opts.BlockSize
		}
	}
	if cw.format != FormatNewc && cw.format != FormatCRC {
		cw.err = fmt.Errorf("cpio: unknown format %v", cw.format)
	} else if cw.blockSize <= 0 || cw.blockSize%4 != 0 {
		cw.err = fmt.Errorf("cpio: block size %d is not a positive multiple of 4", cw.blockSize)
	}
	return cw
}

func (w *Writer) write(p []byte) error {
	n, err := w.w.Write(p)
	w.off += int64(n)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("cpio: writing archive at offset %d: %w", w.off, err)
		return w.err
	}
	return nil
}

func (w *Writer) writeZeros(n int) error {
	for n > 0 {
		k := min(n, len(w.zeros))
		if err := w.write(w.zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// finishEntry checks that the current body is complete and pads it.
func (w *Writer) finishEntry() error {
	if !w.started {
		return nil
	}
	if w.remain != 0 {
		w.err = fmt.Errorf("cpio: entry %q: %d bytes of body not written", w.name, w.remain)
		return w.err
	}
	if w.verify && w.sum != w.want {
		w.err = fmt.Errorf("cpio: entry %q: %w: body sums to %08X, header says %08X", w.name, ErrChecksum, w.sum, w.want)
		return w.err
	}
	w.started = false
	return w.writeZeros(w.pad)
}

// WriteHeader finishes the previous entry and starts a new one. The name
// must already be clean (see CleanName); in the crc format the header's
// Check must be the Checksum of a regular file's body, which is verified
// once the body is written.
func (w *Writer) WriteHeader(h *Header) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("cpio: WriteHeader after Close")
	}
	if err := w.finishEntry(); err != nil {
		return err
	}
	if err := w.checkHeader(h); err != nil {
		return err // not sticky: the caller may skip the entry
	}
	if err := w.writeHeader(h, h.Name); err != nil {
		return err
	}
	w.name = h.Name
	w.started = true
	w.remain = h.Size
	w.pad = pad4(h.Size)
	w.verify = w.format == FormatCRC && h.Mode.IsRegular()
	w.sum = 0
	w.want = h.Check
	return nil
}

func (w *Writer) checkHeader(h *Header) error {
	clean, why := cleanName(h.Name)
	if why != "" {
		return fmt.Errorf("cpio: entry %q: %w: name %s", h.Name, ErrUnsafe, why)
	}
	if clean != h.Name {
		return fmt.Errorf("cpio: entry %q: name is not clean (want %q)", h.Name, clean)
	}
	if h.Name == Trailer {
		return fmt.Errorf("cpio: entry %q: name is reserved for the trailer", h.Name)
	}
	if len(h.Name)+1 > MaxNameSize {
		return fmt.Errorf("cpio: entry %q: %w: name is %d bytes, limit %d", h.Name[:64]+"...", ErrTooLarge, len(h.Name), MaxNameSize-1)
	}
	if kind, why := checkEntry(h, MaxSize); kind != nil {
		return fmt.Errorf("cpio: entry %q: %w: %s", h.Name, kind, why)
	}
	if w.format == FormatNewc && h.Check != 0 {
		return fmt.Errorf("cpio: entry %q: check %08X must be 0 in newc format", h.Name, h.Check)
	}
	return nil
}

// writeHeader emits a header, the name with its NUL, and the name padding.
func (w *Writer) writeHeader(h *Header, name string) error {
	magic := magicNewc
	if w.format == FormatCRC {
		magic = magicCRC
	}
	fields := [13]uint32{
		h.Ino, uint32(h.Mode), h.UID, h.GID, h.Nlink, uint32(h.Mtime), uint32(h.Size),
		h.DevMajor, h.DevMinor, h.RdevMajor, h.RdevMinor, uint32(len(name) + 1), h.Check,
	}
	buf := make([]byte, 0, headerSize+len(name)+4)
	buf = append(buf, magic...)
	for _, v := range fields {
		buf = appendHex8(buf, v)
	}
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, w.zeros[:pad4(int64(len(buf)))]...)
	return w.write(buf)
}

// appendHex8 appends v as 8 upper-case hex digits, as GNU cpio and Linux's
// gen_init_cpio write them.
func appendHex8(b []byte, v uint32) []byte {
	const digits = "0123456789ABCDEF"
	for s := 28; s >= 0; s -= 4 {
		b = append(b, digits[v>>uint(s)&0xF])
	}
	return b
}

// Write writes body bytes of the current entry. Writing more than the
// header's Size is an error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.started {
		return 0, errors.New("cpio: Write without a current entry")
	}
	over := int64(len(p)) > w.remain
	if over {
		p = p[:w.remain]
	}
	if err := w.write(p); err != nil {
		return 0, err
	}
	w.remain -= int64(len(p))
	if w.verify {
		w.sum = Checksum(p, w.sum)
	}
	if over {
		return len(p), fmt.Errorf("cpio: entry %q: %w: write exceeds header size", w.name, ErrTooLarge)
	}
	return len(p), nil
}

// Close finishes the last entry, writes the trailer and pads the archive to
// the block size. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	if err := w.finishEntry(); err != nil {
		return err
	}
	// GNU cpio's trailer: every field 0 except nlink 1.
	if err := w.writeHeader(&Header{Nlink: 1}, Trailer); err != nil {
		return err
	}
	if rem := int(w.off % int64(w.blockSize)); rem != 0 {
		if err := w.writeZeros(w.blockSize - rem); err != nil {
			return err
		}
	}
	w.closed = true
	return nil
}

// Package cpio reads and writes SVR4 "newc" cpio archives (magic 070701) and
// their checksummed "crc" variant (magic 070702).
//
// The reader is used by the kernel to unpack the root filesystem, so it
// treats its input as untrusted: every header field is validated, names are
// cleaned and must stay inside the root, and no allocation is sized by a
// header field before the bytes backing it have been read.
//
// The writer produces archives the reader accepts byte for byte: reading an
// archive written by Writer and writing the headers and bodies back yields
// the same bytes. WriteArchive adds deterministic ordering, inode numbering
// and hard-link placement on top of it for the host-side packer.
package cpio

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Format selects the archive magic.
type Format int

const (
	// FormatNewc is the SVR4 format without checksums (magic 070701).
	FormatNewc Format = iota
	// FormatCRC is the SVR4 format whose check field holds the byte sum of
	// each regular file's data (magic 070702).
	FormatCRC
)

func (f Format) String() string {
	switch f {
	case FormatNewc:
		return "newc"
	case FormatCRC:
		return "crc"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

const (
	magicNewc = "070701"
	magicCRC  = "070702"

	headerSize = 110 // 6-byte magic + 13 fields of 8 hex digits

	// Trailer is the name of the entry that ends an archive.
	Trailer = "TRAILER!!!"

	// MaxNameSize bounds the name size field, which counts the terminating
	// NUL; it matches Linux's PATH_MAX.
	MaxNameSize = 4096
	// MaxSymlinkSize bounds a symlink target (the entry body), which the
	// kernel must hold in memory whole.
	MaxSymlinkSize = MaxNameSize - 1
	// MaxSize is the largest body the 32-bit size field can describe.
	MaxSize = 1<<32 - 1
)

// Mode holds the file type and permission bits exactly as stored in the
// archive (the Unix st_mode layout), not Go's fs.FileMode.
type Mode uint32

// File type values (the bits covered by TypeMask) and permission bits.
const (
	TypeMask    Mode = 0o170000
	TypeFIFO    Mode = 0o010000
	TypeChar    Mode = 0o020000
	TypeDir     Mode = 0o040000
	TypeBlock   Mode = 0o060000
	TypeReg     Mode = 0o100000
	TypeSymlink Mode = 0o120000
	TypeSocket  Mode = 0o140000

	ModeSetuid Mode = 0o4000
	ModeSetgid Mode = 0o2000
	ModeSticky Mode = 0o1000
	ModePerm   Mode = 0o777
	// ModeBits are the permission bits including setuid, setgid and sticky.
	ModeBits Mode = 0o7777
)

// Type returns the file type bits.
func (m Mode) Type() Mode { return m & TypeMask }

// Perm returns the permission bits including setuid, setgid and sticky.
func (m Mode) Perm() Mode { return m & ModeBits }

// IsDir reports whether m describes a directory.
func (m Mode) IsDir() bool { return m.Type() == TypeDir }

// IsRegular reports whether m describes a regular file.
func (m Mode) IsRegular() bool { return m.Type() == TypeReg }

// IsSymlink reports whether m describes a symbolic link.
func (m Mode) IsSymlink() bool { return m.Type() == TypeSymlink }

func (m Mode) String() string { return fmt.Sprintf("%06o", uint32(m)) }

// validMode reports whether m has a known file type and no bits outside the
// type and permission fields.
func validMode(m Mode) bool {
	if m&^(TypeMask|ModeBits) != 0 {
		return false
	}
	switch m.Type() {
	case TypeFIFO, TypeChar, TypeDir, TypeBlock, TypeReg, TypeSymlink, TypeSocket:
		return true
	}
	return false
}

// Header describes one archive entry.
//
// Hard links: entries of one regular file share Ino (and DevMajor/DevMinor).
// Following Linux's cpio and initramfs, every link but the last has Size 0
// and the last carries the data; an unpacker links each later entry to the
// first one it saw with the same (DevMajor, DevMinor, Ino) when Nlink > 1.
type Header struct {
	Name      string // cleaned, relative, slash-separated; "." is the root
	Mode      Mode   // type and permission bits
	UID       uint32
	GID       uint32
	Nlink     uint32
	Mtime     int64 // seconds since the Unix epoch, 0..MaxSize
	Size      int64 // body length; for a symlink, the length of its target
	DevMajor  uint32
	DevMinor  uint32
	RdevMajor uint32 // device number of a character or block device
	RdevMinor uint32
	Ino       uint32
	// Check is the crc-format checksum of a regular file's body (the sum
	// of its bytes modulo 2^32); it is 0 in newc archives and for
	// non-regular entries.
	Check uint32
}

// Errors that callers may test for with errors.Is. Returned errors wrap
// them with the entry and the detail, as in
// `cpio: entry #3 "etc/passwd" (header at offset 220): archive truncated: ...`.
var (
	ErrFormat    = errors.New("malformed archive")
	ErrTruncated = errors.New("archive truncated")
	ErrTooLarge  = errors.New("entry too large")
	ErrUnsafe    = errors.New("unsafe name")
	ErrChecksum  = errors.New("checksum mismatch")
)

// Checksum returns the crc-format checksum of data added to sum: the sum of
// its bytes modulo 2^32. Feed data in pieces as Checksum(b, Checksum(a, 0)).
func Checksum(data []byte, sum uint32) uint32 {
	for _, b := range data {
		sum += uint32(b)
	}
	return sum
}

// CleanName validates an archive name and returns its canonical form. It
// rejects empty names, names containing NUL, names that are absolute after
// cleaning and names whose ".." components climb above the root. Errors
// wrap ErrUnsafe.
func CleanName(name string) (string, error) {
	c, why := cleanName(name)
	if why != "" {
		return "", fmt.Errorf("cpio: entry %q: %w: name %s", name, ErrUnsafe, why)
	}
	return c, nil
}

func cleanName(name string) (clean, why string) {
	if name == "" {
		return "", "is empty"
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", "contains NUL"
	}
	c := path.Clean(name)
	if c[0] == '/' {
		return "", "is absolute"
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", "escapes the root"
	}
	return c, ""
}

// pad4 returns the number of zero bytes that align n to 4.
func pad4(n int64) int { return int((4 - n%4) % 4) }

// parseHex8 parses exactly 8 hex digits of either case. strconv would
// accept forms the format does not allow, such as underscores with base 0.
func parseHex8(b []byte) (uint32, bool) {
	if len(b) != 8 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// checkEntry applies the rules shared by the reader and the writer to a
// header whose Name is already clean. maxSize bounds regular files.
func checkEntry(h *Header, maxSize int64) (kind error, why string) {
	if !validMode(h.Mode) {
		return ErrFormat, fmt.Sprintf("mode %s has an unknown file type or stray bits", h.Mode)
	}
	if h.Name == "." && !h.Mode.IsDir() {
		return ErrFormat, fmt.Sprintf("root entry \".\" has mode %s, not a directory", h.Mode)
	}
	if h.Mtime < 0 || h.Mtime > MaxSize {
		return ErrFormat, fmt.Sprintf("mtime %d out of range", h.Mtime)
	}
	if h.Size < 0 || h.Size > MaxSize {
		return ErrTooLarge, fmt.Sprintf("size %d out of range", h.Size)
	}
	switch h.Mode.Type() {
	case TypeReg:
		if h.Size > maxSize {
			return ErrTooLarge, fmt.Sprintf("file size %d exceeds limit %d", h.Size, maxSize)
		}
	case TypeSymlink:
		if h.Size == 0 {
			return ErrFormat, "symlink has an empty target"
		}
		if h.Size > MaxSymlinkSize {
			return ErrTooLarge, fmt.Sprintf("symlink target size %d exceeds %d", h.Size, MaxSymlinkSize)
		}
	default:
		if h.Size != 0 {
			return ErrFormat, fmt.Sprintf("%s entry has size %d, want 0", typeName(h.Mode), h.Size)
		}
	}
	return nil, ""
}

func typeName(m Mode) string {
	switch m.Type() {
	case TypeFIFO:
		return "fifo"
	case TypeChar:
		return "character device"
	case TypeDir:
		return "directory"
	case TypeBlock:
		return "block device"
	case TypeReg:
		return "regular file"
	case TypeSymlink:
		return "symlink"
	case TypeSocket:
		return "socket"
	}
	return "unknown type"
}

// Package wire encodes 9P2000.L requests and decodes their replies for
// the kernel's 9P client (kernel/fs/p9fs).
//
// Everything in a reply comes from the host and is treated as hostile:
// a Decoder never reads past the message, never allocates more than the
// message holds, checks that the reply has the type and tag that were
// asked for, and bounds every count by what the request asked for. A bad
// reply is ErrBadReply, never a panic. The package imports no fmt or
// reflect, so the kernel pays little for it.
package wire

import (
	"encoding/binary"
	"syscall"
)

// Message types (9P2000.L, as Linux's include/net/9p/9p.h numbers them).
const (
	Rlerror   = 7
	Tstatfs   = 8
	Tlopen    = 12
	Tlcreate  = 14
	Tsymlink  = 16
	Tmknod    = 18
	Treadlink = 22
	Tgetattr  = 24
	Tsetattr  = 26
	Treaddir  = 40
	Tfsync    = 50
	Tlock     = 52
	Tgetlock  = 54
	Tlink     = 70
	Tmkdir    = 72
	Trenameat = 74
	Tunlinkat = 76
	Tversion  = 100
	Tattach   = 104
	Tflush    = 108
	Twalk     = 110
	Tread     = 116
	Twrite    = 118
	Tclunk    = 120
)

// Protocol constants.
const (
	Version = "9P2000.L"
	NoTag   = 0xffff
	NoFid   = 0xffffffff
	// MaxWalk is the most names one Twalk may carry.
	MaxWalk = 16
	// HeaderSize is size[4] type[1] tag[2].
	HeaderSize = 7
	// ReadOverhead is what an Rread or Rreaddir adds to its data:
	// the header and count[4]. WriteOverhead is a Twrite's header,
	// fid[4], offset[8] and count[4].
	ReadOverhead  = HeaderSize + 4
	WriteOverhead = HeaderSize + 4 + 8 + 4
	// MinMsize is the smallest message size the client accepts from a
	// server: room for a path component and a few directory entries.
	MinMsize = 4096
)

// Getattr request mask: the basic fields (mode through blocks).
const GetattrBasic = 0x000007ff

// Setattr valid bits.
const (
	SetattrMode     = 0x1
	SetattrUID      = 0x2
	SetattrGID      = 0x4
	SetattrSize     = 0x8
	SetattrAtime    = 0x10
	SetattrMtime    = 0x20
	SetattrCtime    = 0x40
	SetattrAtimeSet = 0x80
	SetattrMtimeSet = 0x100
)

// Lock types, flags and statuses (Tlock, Tgetlock).
const (
	LockRead   = 0
	LockWrite  = 1
	LockUnlock = 2

	LockFlagBlock = 1

	LockSuccess = 0
	LockBlocked = 1
	LockError   = 2
	LockGrace   = 3
)

// Qid is the server's identity of a file.
type Qid struct {
	Type    uint8
	Version uint32
	Path    uint64
}

// QidDir is the Qid type bit of a directory, QidSymlink of a symlink.
const (
	QidDir     = 0x80
	QidSymlink = 0x02
)

// Errors of decoding.
const (
	// ErrBadReply: the reply is malformed, too long or too short, or not
	// the reply to the request.
	ErrBadReply = syscall.EIO
)

// Encoder builds one T-message in a buffer it owns; reuse it with Reset.
type Encoder struct {
	b   []byte
	bad bool // a string was too long for its 16-bit length
}

// Start begins a message of type typ with tag.
func (e *Encoder) Start(typ uint8, tag uint16) {
	e.b = append(e.b[:0], 0, 0, 0, 0, typ, byte(tag), byte(tag>>8))
	e.bad = false
}

// U8 appends a byte.
func (e *Encoder) U8(v uint8) { e.b = append(e.b, v) }

// U16 appends a 16-bit little-endian value.
func (e *Encoder) U16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }

// U32 appends a 32-bit value.
func (e *Encoder) U32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }

// U64 appends a 64-bit value.
func (e *Encoder) U64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

// Str appends a string with its 16-bit length.
func (e *Encoder) Str(s string) {
	if len(s) > 0xffff {
		e.bad = true
		s = ""
	}
	e.U16(uint16(len(s)))
	e.b = append(e.b, s...)
}

// Bytes appends raw data (Twrite's payload).
func (e *Encoder) Bytes(p []byte) { e.b = append(e.b, p...) }

// Finish fills in the size and returns the message, valid until the
// next Start. ENAMETOOLONG if a string did not fit; EMSGSIZE if the
// message is larger than msize.
func (e *Encoder) Finish(msize uint32) ([]byte, error) {
	if e.bad {
		return nil, syscall.ENAMETOOLONG
	}
	if uint64(len(e.b)) > uint64(msize) {
		return nil, syscall.EMSGSIZE
	}
	binary.LittleEndian.PutUint32(e.b, uint32(len(e.b)))
	return e.b, nil
}

// Decoder reads one R-message. After any failed read it stays failed:
// check Err once after reading every field.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder checks msg's header against the request: its size field
// must be the length the device reported (n), its tag the request's, and
// its type the R-message of req (req+1) or Rlerror, whose error number
// is returned as the error. The decoder then reads the body.
func NewDecoder(msg []byte, req uint8, tag uint16) (*Decoder, error) {
	d := &Decoder{}
	if err := d.Reset(msg, req, tag); err != nil {
		return nil, err
	}
	return d, nil
}

// Reset is NewDecoder on an existing Decoder (no allocation).
func (d *Decoder) Reset(msg []byte, req uint8, tag uint16) error {
	d.b, d.err = nil, nil
	if len(msg) < HeaderSize {
		return ErrBadReply
	}
	size := binary.LittleEndian.Uint32(msg)
	if uint64(size) != uint64(len(msg)) {
		return ErrBadReply
	}
	typ := msg[4]
	if got := binary.LittleEndian.Uint16(msg[5:]); got != tag {
		return ErrBadReply
	}
	d.b = msg[HeaderSize:]
	switch typ {
	case req + 1:
		return nil
	case Rlerror:
		code := d.U32()
		if d.err != nil || len(d.b) != 0 {
			return ErrBadReply
		}
		return Errno(code)
	}
	return ErrBadReply
}

// Errno turns a server's Rlerror code into an error number: a Linux
// errno in 1..4095, or EIO for anything else (0 would read as success).
func Errno(code uint32) syscall.Errno {
	if code == 0 || code > 4095 {
		return syscall.EIO
	}
	return syscall.Errno(code)
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.err = ErrBadReply
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// U8 reads a byte.
func (d *Decoder) U8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

// U16 reads a 16-bit value.
func (d *Decoder) U16() uint16 {
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

// U32 reads a 32-bit value.
func (d *Decoder) U32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

// U64 reads a 64-bit value.
func (d *Decoder) U64() uint64 {
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// Qid reads a qid.
func (d *Decoder) Qid() Qid {
	return Qid{Type: d.U8(), Version: d.U32(), Path: d.U64()}
}

// Str reads a string of at most max bytes (longer is ErrBadReply). The
// string is a copy: the message buffer is reused.
func (d *Decoder) Str(max int) string {
	n := int(d.U16())
	if n > max {
		d.err = ErrBadReply
		return ""
	}
	return string(d.take(n))
}

// Data reads count[4] and that many bytes, at most max. The result
// aliases the message buffer.
func (d *Decoder) Data(max int) []byte {
	n := d.U32()
	if uint64(n) > uint64(max) {
		d.err = ErrBadReply
		return nil
	}
	return d.take(int(n))
}

// Rest is what is left of the message.
func (d *Decoder) Rest() int { return len(d.b) }

// Err is the first decoding failure, or nil.
func (d *Decoder) Err() error { return d.err }

// End checks the whole message was read (trailing bytes are a bad
// reply too) and returns Err.
func (d *Decoder) End() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrBadReply
	}
	return d.err
}

// Attr is Rgetattr's body.
type Attr struct {
	Valid               uint64
	Qid                 Qid
	Mode, UID, GID      uint32
	Nlink, Rdev, Size   uint64
	Blksize, Blocks     uint64
	Atime, Mtime, Ctime Time
	Btime               Time
	Gen, DataVersion    uint64
}

// Time is a second and nanosecond pair as the server sent them.
type Time struct{ Sec, Nsec uint64 }

func (d *Decoder) time() Time { return Time{d.U64(), d.U64()} }

// Getattr reads an Rgetattr body.
func (d *Decoder) Getattr() (Attr, error) {
	var a Attr
	a.Valid = d.U64()
	a.Qid = d.Qid()
	a.Mode, a.UID, a.GID = d.U32(), d.U32(), d.U32()
	a.Nlink, a.Rdev, a.Size = d.U64(), d.U64(), d.U64()
	a.Blksize, a.Blocks = d.U64(), d.U64()
	a.Atime, a.Mtime, a.Ctime, a.Btime = d.time(), d.time(), d.time(), d.time()
	a.Gen, a.DataVersion = d.U64(), d.U64()
	return a, d.End()
}

// Statfs is Rstatfs's body.
type Statfs struct {
	Type, Bsize                         uint32
	Blocks, Bfree, Bavail, Files, Ffree uint64
	Fsid                                uint64
	Namelen                             uint32
}

// Statfs reads an Rstatfs body.
func (d *Decoder) Statfs() (Statfs, error) {
	s := Statfs{Type: d.U32(), Bsize: d.U32(), Blocks: d.U64(), Bfree: d.U64(), Bavail: d.U64(),
		Files: d.U64(), Ffree: d.U64(), Fsid: d.U64(), Namelen: d.U32()}
	return s, d.End()
}

// Dirent is one entry of an Rreaddir.
type Dirent struct {
	Qid    Qid
	Offset uint64 // where the next Treaddir resumes after this entry
	Type   uint8
	Name   string
}

// MaxName is the longest name the client accepts from a server (Linux's
// NAME_MAX).
const MaxName = 255

// DirentReader walks the entries of an Rreaddir's data.
type DirentReader struct{ d Decoder }

// NewDirentReader reads entries from data (Rreaddir's, after count).
func NewDirentReader(data []byte) *DirentReader { return &DirentReader{d: Decoder{b: data}} }

// Next returns the next entry; ok is false at the end. A malformed entry
// (truncated, name longer than MaxName) ends the walk with ErrBadReply.
func (r *DirentReader) Next() (e Dirent, ok bool, err error) {
	if r.d.err != nil {
		return Dirent{}, false, r.d.err
	}
	if len(r.d.b) == 0 {
		return Dirent{}, false, nil
	}
	e.Qid = r.d.Qid()
	e.Offset = r.d.U64()
	e.Type = r.d.U8()
	e.Name = r.d.Str(MaxName)
	if r.d.err != nil {
		return Dirent{}, false, r.d.err
	}
	return e, true, nil
}

// ValidName reports whether a name from the server can be an entry of a
// directory: not empty, not "." or "..", no '/' and no NUL, at most
// MaxName bytes. Entries failing it are skipped, so a hostile server
// cannot make the kernel walk out of the share or into a path it did not
// ask for.
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > MaxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == 0 {
			return false
		}
	}
	return true
}

// CheckData checks an Rread or Rreaddir whose first bytes are in hdr
// (at least ReadOverhead of them unless the reply is shorter) and whose
// whole length, as the transport reported it, is n; the data itself went
// elsewhere. It returns the data's length, at most max. An Rlerror is
// returned as its error number.
func CheckData(hdr []byte, n int, req uint8, tag uint16, max int) (int, error) {
	if n < HeaderSize || len(hdr) < ReadOverhead {
		return 0, ErrBadReply
	}
	if n <= len(hdr) {
		var d Decoder
		if err := d.Reset(hdr[:n], req, tag); err != nil {
			return 0, err
		}
		if c := d.U32(); d.End() != nil || c != 0 {
			return 0, ErrBadReply
		}
		return 0, nil
	}
	if binary.LittleEndian.Uint32(hdr) != uint32(n) || hdr[4] != req+1 || binary.LittleEndian.Uint16(hdr[5:]) != tag {
		return 0, ErrBadReply
	}
	c := binary.LittleEndian.Uint32(hdr[HeaderSize:])
	if uint64(c) != uint64(n-ReadOverhead) || uint64(c) > uint64(max) {
		return 0, ErrBadReply
	}
	return int(c), nil
}

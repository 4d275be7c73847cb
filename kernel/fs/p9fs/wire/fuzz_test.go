package wire

import (
	"encoding/binary"
	"testing"
)

// reply builds an R-message for the seeds.
func reply(typ uint8, tag uint16, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(HeaderSize+len(body)))
	b = append(b, typ, byte(tag), byte(tag>>8))
	return append(b, body...)
}

func dirent(path uint64, off uint64, name string) []byte {
	b := []byte{QidDir}
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, path)
	b = binary.LittleEndian.AppendUint64(b, off)
	b = append(b, 4)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

// FuzzDecode feeds any bytes to every decoder as the reply to any
// request: none may panic, read past the message or return more than
// it was allowed to.
func FuzzDecode(f *testing.F) {
	f.Add(reply(Rlerror, 1, []byte{2, 0, 0, 0}), uint8(Tgetattr), 64)
	f.Add(reply(Tgetattr+1, 1, make([]byte, 153)), uint8(Tgetattr), 64)
	f.Add(reply(Tstatfs+1, 1, make([]byte, 60)), uint8(Tstatfs), 64)
	rd := append(dirent(1, 1, "a"), dirent(2, 2, "..")...)
	rd = append(rd, dirent(3, 3, "x/y")...)
	f.Add(reply(Treaddir+1, 1, append(binary.LittleEndian.AppendUint32(nil, uint32(len(rd))), rd...)), uint8(Treaddir), 4096)
	f.Add(reply(Tread+1, 1, []byte{5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}), uint8(Tread), 5)
	f.Add(reply(Treadlink+1, 1, []byte{3, 0, '/', 'e', 't'}), uint8(Treadlink), 0)
	f.Add(reply(Twalk+1, 1, []byte{0xff, 0xff}), uint8(Twalk), 0)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 1, 0}, uint8(Tversion), 0)
	f.Fuzz(func(t *testing.T, msg []byte, req uint8, max int) {
		var d Decoder
		if err := d.Reset(msg, req, 1); err == nil {
			switch req {
			case Tgetattr:
				d.Getattr()
			case Tstatfs:
				d.Statfs()
			case Treadlink:
				if s := d.Str(4095); len(s) > 4095 {
					t.Fatalf("string of %d bytes", len(s))
				}
			case Tread, Treaddir:
				if max < 0 {
					max = -max
				}
				p := d.Data(max % (1 << 20))
				if len(p) > max%(1<<20) {
					t.Fatalf("data of %d bytes, max %d", len(p), max)
				}
				r := NewDirentReader(p)
				for i := 0; ; i++ {
					e, ok, err := r.Next()
					if err != nil || !ok {
						break
					}
					if len(e.Name) > MaxName || i > len(p) {
						t.Fatalf("entry %d: name of %d bytes", i, len(e.Name))
					}
				}
			default:
				for d.Err() == nil && d.Rest() > 0 {
					d.Qid()
				}
			}
			d.End()
		}
		if len(msg) >= ReadOverhead {
			n := len(msg) + max%4096
			if n >= 0 {
				if c, err := CheckData(msg[:ReadOverhead], n, req, 1, max); err == nil && (c > max || c != n-ReadOverhead && n > ReadOverhead) {
					t.Fatalf("CheckData = %d for a reply of %d bytes, max %d", c, n, max)
				}
			}
		}
	})
}

func TestValidName(t *testing.T) {
	for _, s := range []string{"", ".", "..", "a/b", "/", "a\x00b", string(make([]byte, 256))} {
		if ValidName(s) {
			t.Errorf("ValidName(%q) = true", s)
		}
	}
	for _, s := range []string{"a", "...", ".hidden", "a b"} {
		if !ValidName(s) {
			t.Errorf("ValidName(%q) = false", s)
		}
	}
}

func TestRlerrorIsErrno(t *testing.T) {
	var d Decoder
	if err := d.Reset(reply(Rlerror, 1, []byte{2, 0, 0, 0}), Twalk, 1); err == nil || err.Error() != "no such file or directory" {
		t.Errorf("Rlerror ENOENT = %v", err)
	}
	for _, code := range []uint32{0, 4096, 1 << 31} {
		if err := d.Reset(reply(Rlerror, 1, binary.LittleEndian.AppendUint32(nil, code)), Twalk, 1); err != ErrBadReply {
			t.Errorf("Rlerror %d = %v, want EIO", code, err)
		}
	}
	if err := d.Reset(reply(Twalk+1, 2, []byte{0, 0}), Twalk, 1); err != ErrBadReply {
		t.Errorf("a reply with another tag = %v", err)
	}
	if err := d.Reset(reply(Tread+1, 1, []byte{0, 0}), Twalk, 1); err != ErrBadReply {
		t.Errorf("a reply of another type = %v", err)
	}
}

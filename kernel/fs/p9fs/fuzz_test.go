package p9fs

import (
	"encoding/binary"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// hostileHost answers the mount's first requests properly and every
// later one with the next reply from a script, whatever was asked.
type hostileHost struct {
	script []byte
	setup  int
}

func (h *hostileHost) Msize() uint32 { return 8192 }

func msg(typ uint8, tag uint16, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(wire.HeaderSize+len(body)))
	b = append(b, typ, byte(tag), byte(tag>>8))
	return append(b, body...)
}

func attrBody(mode uint32, size uint64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, wire.GetattrBasic)
	b = append(b, wire.QidDir)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, 7)
	b = binary.LittleEndian.AppendUint32(b, mode)
	b = append(b, make([]byte, 8)...) // uid, gid
	b = binary.LittleEndian.AppendUint64(b, 1)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint64(b, size)
	return append(b, make([]byte, 8*2+8*8+8*2)...)
}

func (h *hostileHost) RoundTrip(req, reqData, resp, respData []byte) (int, error) {
	typ, tag := req[4], binary.LittleEndian.Uint16(req[5:])
	var r []byte
	switch h.setup {
	case 0:
		r = msg(typ+1, tag, append(binary.LittleEndian.AppendUint32(nil, 8192), 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L'))
	case 1:
		r = msg(typ+1, tag, make([]byte, 13))
	case 2:
		r = msg(typ+1, tag, attrBody(linux.S_IFDIR|0o755, 4096))
	default:
		// The script: length[2] then that many bytes, with the tag
		// patched in when the script says so (its first byte is odd),
		// so that the fuzzer reaches past the tag check.
		if len(h.script) < 2 {
			return 0, nil
		}
		n := int(binary.LittleEndian.Uint16(h.script))
		h.script = h.script[2:]
		n = min(n, len(h.script))
		r = append([]byte(nil), h.script[:n]...)
		h.script = h.script[n:]
		if len(r) >= 7 && r[0]&1 == 1 {
			binary.LittleEndian.PutUint32(r, uint32(len(r)))
			r[5], r[6] = byte(tag), byte(tag>>8)
		}
	}
	h.setup++
	c := copy(resp, r)
	c += copy(respData, r[c:])
	return len(r), nil
}

func script(replies ...[]byte) []byte {
	var b []byte
	for _, r := range replies {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(r)))
		b = append(b, r...)
	}
	return b
}

// FuzzHostReplies mounts a share whose host answers every request after
// the mount with fuzzer-chosen bytes, and runs lookups, directory
// listings, reads, readlink and stat against it: the kernel must not
// panic, loop, or return more than it was asked for.
func FuzzHostReplies(f *testing.F) {
	walk := msg(wire.Twalk+1, 1, append([]byte{1, 0}, make([]byte, 13)...))
	f.Add(script(
		walk, msg(wire.Tgetattr+1, 1, attrBody(linux.S_IFREG|0o644, 5)),
		walk, msg(wire.Tlopen+1, 1, make([]byte, 17)),
		msg(wire.Tread+1, 1, []byte{5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}),
	))
	f.Add(script(
		walk, msg(wire.Tgetattr+1, 1, attrBody(linux.S_IFLNK|0o777, 5)),
		msg(wire.Treadlink+1, 1, []byte{5, 0, '/', 'e', 't', 'c', '/'}),
	))
	f.Add(script(walk, msg(wire.Tlopen+1, 1, make([]byte, 17)),
		msg(wire.Treaddir+1, 1, []byte{0xff, 0xff, 0, 0})))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, s []byte) {
		h := &hostileHost{script: s}
		fsys, err := New(h, Options{})
		if err != nil {
			t.Fatalf("mount: %v", err)
		}
		root := fsys.Root()
		ents, _ := root.ReadDir(0, 64)
		for _, e := range ents {
			if !wire.ValidName(e.Name) || e.Next >= maxCursor {
				t.Fatalf("entry %+v", e)
			}
		}
		if len(ents) > 0 {
			root.ReadDir(ents[len(ents)-1].Next, 64)
		}
		n, err := root.Lookup("f")
		if err != nil {
			return
		}
		n.Stat()
		switch n.Stat().Mode & linux.S_IFMT {
		case linux.S_IFLNK:
			n.(*node).Readlink()
		case linux.S_IFDIR:
			n.(*node).ReadDir(0, 8)
		case linux.S_IFREG:
			hd, err := n.Open(linux.O_RDONLY)
			if err != nil {
				return
			}
			p := make([]byte, 100)
			if got, _ := hd.ReadAt(p, 0); got > len(p) || got < 0 {
				t.Fatalf("read %d into %d bytes", got, len(p))
			}
			hd.Close()
		}
	})
}

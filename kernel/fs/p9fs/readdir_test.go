package p9fs

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// dirHost is a 9P server with one directory, the root, whose entries
// have hash-like readdir offsets (up to 1<<63, as ext4's), and which
// counts the Treaddir requests it answers.
type dirHost struct {
	names    []string
	offs     []uint64
	readdirs int
}

func newDirHost(n int) *dirHost {
	h := &dirHost{}
	r := rand.New(rand.NewSource(1))
	for i := range n {
		h.names = append(h.names, fmt.Sprintf("entry-%05d", i))
		h.offs = append(h.offs, r.Uint64()>>1|1<<62)
	}
	// A host may send names no directory can hold: they are skipped.
	h.names = append(h.names, "..", "a/b", "")
	h.offs = append(h.offs, 1, 2, 3)
	return h
}

func (h *dirHost) Msize() uint32 { return 8192 }

func (h *dirHost) RoundTrip(req, reqData, resp, respData []byte) (int, error) {
	typ, tag := req[4], binary.LittleEndian.Uint16(req[5:])
	body := req[7:]
	var r []byte
	switch typ {
	case wire.Tversion:
		r = msg(typ+1, tag, append(binary.LittleEndian.AppendUint32(nil, 8192), 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L'))
	case wire.Tattach:
		r = msg(typ+1, tag, make([]byte, 13))
	case wire.Tgetattr:
		r = msg(typ+1, tag, attrBody(linux.S_IFDIR|0o755, 4096))
	case wire.Twalk:
		r = msg(typ+1, tag, []byte{0, 0})
	case wire.Tlopen:
		r = msg(typ+1, tag, make([]byte, 17))
	case wire.Tclunk:
		r = msg(typ+1, tag, nil)
	case wire.Treaddir:
		h.readdirs++
		off := binary.LittleEndian.Uint64(body[4:])
		count := int(binary.LittleEndian.Uint32(body[12:]))
		start := 0
		if off != 0 {
			for i, o := range h.offs {
				if o == off {
					start = i + 1
				}
			}
		}
		var data []byte
		for i := start; i < len(h.names); i++ {
			var e []byte
			e = append(e, 0)
			e = binary.LittleEndian.AppendUint32(e, 0)
			e = binary.LittleEndian.AppendUint64(e, uint64(i+100))
			e = binary.LittleEndian.AppendUint64(e, h.offs[i])
			e = append(e, linux.DT_REG)
			e = binary.LittleEndian.AppendUint16(e, uint16(len(h.names[i])))
			e = append(e, h.names[i]...)
			if len(data)+len(e) > count {
				break
			}
			data = append(data, e...)
		}
		r = msg(typ+1, tag, append(binary.LittleEndian.AppendUint32(nil, uint32(len(data))), data...))
	default:
		r = msg(wire.Rlerror, tag, []byte{95, 0, 0, 0})
	}
	c := copy(resp, r)
	c += copy(respData, r[c:])
	return len(r), nil
}

// readAll lists the directory as the VFS does, n entries a call.
func readAll(t *testing.T, d fs.Dir, from uint64, n int) []fs.Dirent {
	t.Helper()
	var all []fs.Dirent
	cur := from
	for range 100000 {
		ents, err := d.ReadDir(cur, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			return all
		}
		if len(ents) > n {
			t.Fatalf("ReadDir(%d, %d) gave %d entries", cur, n, len(ents))
		}
		all = append(all, ents...)
		cur = ents[len(ents)-1].Next
		if cur >= 1<<62 {
			t.Fatalf("cursor %#x not below 1<<62", cur)
		}
	}
	t.Fatal("listing does not end")
	return nil
}

func TestReadDirCursors(t *testing.T) {
	const n = 2000
	h := newDirHost(n)
	fsys, err := New(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := fsys.Root()
	all := readAll(t, root, 0, 7)
	if len(all) != n {
		t.Fatalf("listed %d entries; want %d (bad names skipped)", len(all), n)
	}
	for i, e := range all {
		if e.Name != fmt.Sprintf("entry-%05d", i) || e.Ino != uint64(i+100) || e.Type != linux.DT_REG {
			t.Fatalf("entry %d = %+v", i, e)
		}
	}
	// Reading on costs one Treaddir per batch of entries, not one per call.
	if h.readdirs > n*40/8192*2+4 {
		t.Errorf("%d Treaddir requests for %d entries", h.readdirs, n)
	}
	// Going back to a cursor handed out long ago (telldir/seekdir) gives
	// the same entries again.
	again := readAll(t, root, all[499].Next, 64)
	if len(again) != n-500 || again[0].Name != "entry-00500" {
		t.Fatalf("from cursor %d: %d entries starting %q", all[499].Next, len(again), again[0].Name)
	}
	// A cursor never handed out (past the end) lists nothing.
	if ents, err := root.ReadDir(1<<40, 8); err != nil || len(ents) != 0 {
		t.Errorf("ReadDir(1<<40) = %v, %v", ents, err)
	}
}

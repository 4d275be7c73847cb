package p9fs

import (
	"encoding/binary"
	"path"
	"syscall"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// treeHost is a 9P server over an in-memory tree whose fids name paths,
// as QEMU's do; it counts the walks it answers, and the test changes
// the tree behind the client's back through files.
type treeHost struct {
	files map[string]uint64 // path ("/" root) -> inode; directories end nowhere special
	dirs  map[string]bool
	fids  map[uint32]string
	walks int
	data  map[string][]byte // regular files' contents
	reads int               // Treads answered
	asked uint64            // bytes the Treads asked for
	msize uint32
}

func newTreeHost() *treeHost {
	return &treeHost{
		files: map[string]uint64{"/": 1},
		dirs:  map[string]bool{"/": true},
		fids:  map[uint32]string{},
		data:  map[string][]byte{},
		msize: 8192,
	}
}

func (h *treeHost) Msize() uint32 { return h.msize }

func qidBytes(b []byte, ino uint64, dir bool) []byte {
	t := byte(0)
	if dir {
		t = wire.QidDir
	}
	b = append(b, t)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return binary.LittleEndian.AppendUint64(b, ino)
}

func (h *treeHost) RoundTrip(req, reqData, resp, respData []byte) (int, error) {
	typ, tag := req[4], binary.LittleEndian.Uint16(req[5:])
	body := req[7:]
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(body[off:]) }
	str := func(off int) (string, int) {
		n := int(binary.LittleEndian.Uint16(body[off:]))
		return string(body[off+2 : off+2+n]), off + 2 + n
	}
	lerror := func(e syscall.Errno) []byte {
		return msg(wire.Rlerror, tag, binary.LittleEndian.AppendUint32(nil, uint32(e)))
	}
	var r []byte
	switch typ {
	case wire.Tversion:
		r = msg(typ+1, tag, append(binary.LittleEndian.AppendUint32(nil, h.msize), 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L'))
	case wire.Tattach:
		h.fids[u32(0)] = "/"
		r = msg(typ+1, tag, qidBytes(nil, 1, true))
	case wire.Twalk:
		from, nfid := h.fids[u32(0)], u32(4)
		nw := int(binary.LittleEndian.Uint16(body[8:]))
		p, off := from, 10
		var qids []byte
		for range nw {
			var name string
			name, off = str(off)
			p = path.Join(p, name)
			ino, ok := h.files[p]
			if !ok {
				break
			}
			qids = qidBytes(qids, ino, h.dirs[p])
		}
		if nw > 0 && len(qids) == 0 {
			r = lerror(syscall.ENOENT)
			break
		}
		h.walks++
		if len(qids)/13 == nw {
			h.fids[nfid] = p
		}
		r = msg(typ+1, tag, append(binary.LittleEndian.AppendUint16(nil, uint16(len(qids)/13)), qids...))
	case wire.Tgetattr:
		p := h.fids[u32(0)]
		ino, ok := h.files[p]
		if !ok {
			r = lerror(syscall.ENOENT)
			break
		}
		mode := uint32(linux.S_IFREG | 0o644)
		if h.dirs[p] {
			mode = linux.S_IFDIR | 0o755
		}
		b := binary.LittleEndian.AppendUint64(nil, wire.GetattrBasic)
		b = qidBytes(b, ino, h.dirs[p])
		b = binary.LittleEndian.AppendUint32(b, mode)
		b = append(b, make([]byte, 8)...)
		b = binary.LittleEndian.AppendUint64(b, 1)
		b = binary.LittleEndian.AppendUint64(b, 0)
		b = binary.LittleEndian.AppendUint64(b, 0)
		r = msg(typ+1, tag, append(b, make([]byte, 8*2+8*8+8*2)...))
	case wire.Tunlinkat:
		name, _ := str(4)
		p := path.Join(h.fids[u32(0)], name)
		if _, ok := h.files[p]; !ok {
			r = lerror(syscall.ENOENT)
			break
		}
		delete(h.files, p)
		delete(h.dirs, p)
		r = msg(typ+1, tag, nil)
	case wire.Tclunk:
		delete(h.fids, u32(0))
		r = msg(typ+1, tag, nil)
	case wire.Tlopen:
		r = msg(typ+1, tag, append(qidBytes(nil, h.files[h.fids[u32(0)]], false), 0, 0, 0, 0))
	case wire.Tread:
		h.reads++
		h.asked += uint64(binary.LittleEndian.Uint32(body[12:]))
		d := h.data[h.fids[u32(0)]]
		off, count := binary.LittleEndian.Uint64(body[4:]), binary.LittleEndian.Uint32(body[12:])
		var part []byte
		if off < uint64(len(d)) {
			part = d[off:min(uint64(len(d)), off+uint64(count))]
		}
		r = msg(typ+1, tag, append(binary.LittleEndian.AppendUint32(nil, uint32(len(part))), part...))
	case wire.Twrite:
		p := h.fids[u32(0)]
		off := int(binary.LittleEndian.Uint64(body[4:]))
		d := h.data[p]
		for len(d) < off+len(reqData) {
			d = append(d, 0)
		}
		copy(d[off:], reqData)
		h.data[p] = d
		r = msg(typ+1, tag, binary.LittleEndian.AppendUint32(nil, uint32(len(reqData))))
	default:
		r = lerror(syscall.EOPNOTSUPP)
	}
	c := copy(resp, r)
	c += copy(respData, r[c:])
	return len(r), nil
}

func lookup(t *testing.T, d fs.Dir, name string) (fs.Inode, error) {
	t.Helper()
	return d.Lookup(name)
}

// A name looked up again within lookupTTL costs no walk; a name removed
// through the mount is gone at once, also through another node of the
// same directory (the working directory and an absolute path reach a
// directory as two nodes).
func TestLookupCache(t *testing.T) {
	h := newTreeHost()
	h.files["/d"], h.dirs["/d"] = 2, true
	h.files["/d/f"] = 3
	f, err := New(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d1, err := lookup(t, f.Root(), "d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(t, d1.(fs.Dir), "f"); err != nil {
		t.Fatal(err)
	}
	walks := h.walks
	for range 10 {
		if _, err := lookup(t, d1.(fs.Dir), "f"); err != nil {
			t.Fatal(err)
		}
	}
	if h.walks != walks {
		t.Errorf("10 lookups of a name just found walked %d times on the host, want 0", h.walks-walks)
	}
	// A second node for /d: the name is known by the directory's inode.
	d2 := f.Root().(*node)
	d2b, err := d2.walk("d")
	if err != nil {
		t.Fatal(err)
	}
	if err := d2b.Remove("f", false); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(t, d1.(fs.Dir), "f"); err != syscall.ENOENT {
		t.Errorf("lookup after remove through another node of the directory: %v, want ENOENT", err)
	}
	// A change behind the kernel's back is seen once the name expires.
	h.files["/d/g"] = 4
	if _, err := lookup(t, d1.(fs.Dir), "g"); err != nil {
		t.Fatal(err)
	}
	delete(h.files, "/d/g")
	f.namesMu.Lock()
	for k, e := range f.names {
		e.at = e.at.Add(-lookupTTL)
		f.names[k] = e
	}
	f.namesMu.Unlock()
	if _, err := lookup(t, d1.(fs.Dir), "g"); err != syscall.ENOENT {
		t.Errorf("lookup of a name the host removed, after lookupTTL: %v, want ENOENT", err)
	}
}

// The cache holds at most maxNames names (each keeps a fid on the host).
func TestLookupCacheBounded(t *testing.T) {
	h := newTreeHost()
	const n = maxNames + 300
	for i := range n {
		h.files["/f"+itoa(i)] = uint64(10 + i)
	}
	f, err := New(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := lookup(t, f.Root(), "f"+itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Looking one name up again must not let the ring drop it early.
	if _, err := lookup(t, f.Root(), "f"+itoa(n-1)); err != nil {
		t.Fatal(err)
	}
	f.namesMu.Lock()
	got, ring := len(f.names), len(f.order)
	f.namesMu.Unlock()
	if got > maxNames || ring > maxNames {
		t.Errorf("cache holds %d names in a ring of %d, want at most %d", got, ring, maxNames)
	}
	walks := h.walks
	if _, err := lookup(t, f.Root(), "f"+itoa(n-1)); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(t, f.Root(), "f0"); err != nil {
		t.Fatal(err)
	}
	if h.walks != walks+1 {
		t.Errorf("newest name and oldest (dropped) name cost %d walks, want 1", h.walks-walks)
	}
}

// A file read sequentially in the system-call layer's 64 KiB pieces costs
// one Tread per window, not per piece; what the host changes is seen once
// the window is older than raTTL, and a write through the mount is seen
// at once.
func TestReadAhead(t *testing.T) {
	h := newTreeHost()
	h.msize = 1 << 20
	const size = 2<<20 + 12345
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(i * 7)
	}
	h.files["/f"], h.data["/f"] = 2, content
	f, err := New(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.Root().Lookup("f")
	if err != nil {
		t.Fatal(err)
	}
	fh, err := in.Open(linux.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	readAllAt := func() []byte {
		var got []byte
		buf := make([]byte, 64<<10)
		for off := int64(0); ; {
			n, err := fh.ReadAt(buf, off)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
			off += int64(n)
			if n < len(buf) {
				return got
			}
		}
	}
	// Counted with windows that cannot expire: a loaded machine may stall
	// the test between two reads for longer than raTTL.
	raTTL = time.Hour
	reads := h.reads
	got := readAllAt()
	raTTL = attrTTL
	if string(got) != string(content) {
		t.Fatalf("read %d bytes, not the file's %d (or different)", len(got), size)
	}
	// One Tread per window; without read-ahead, one per 64 KiB (33).
	if want := size/raWindow + 1; h.reads-reads > want {
		t.Errorf("sequential read of %d bytes in 64 KiB pieces: %d Treads, want at most %d", size, h.reads-reads, want)
	}
	// A write through the mount is read back at once.
	if _, err := fh.ReadAt(make([]byte, 10), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("XYZ"), 1); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := fh.ReadAt(b, 0); err != nil || string(b[1:]) != "XYZ" {
		t.Errorf("read after write through the mount: %q, %v; want XYZ at 1", b, err)
	}
	// The host's own change is seen once the window is older than raTTL.
	if _, err := fh.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	copy(h.data["/f"], "host")
	time.Sleep(raTTL + time.Millisecond)
	if _, err := fh.ReadAt(b, 0); err != nil || string(b) != "host" {
		t.Errorf("read %q, %v after the host changed the file and raTTL passed; want host", b, err)
	}
	// Windows that expire before they are read through shrink, so a slow
	// reader never makes the host send much more than it reads.
	raTTL = 0
	asked := h.asked
	if got := readAllAt(); string(got[4:]) != string(h.data["/f"][4:]) {
		t.Errorf("read with windows expiring at once: %d bytes, different", len(got))
	}
	raTTL = attrTTL
	if h.asked-asked > 2*size {
		t.Errorf("read of %d bytes with windows expiring at once asked the host for %d", size, h.asked-asked)
	}
	// A random read past the window goes to the host.
	if n, err := fh.ReadAt(b, size-2); err != nil || n != 2 || b[0] != content[size-2] {
		t.Errorf("read at the end: %d %v %q", n, err, b)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

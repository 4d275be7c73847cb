package p9fs

import (
	"math"
	"sync"
	"syscall"

	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// Transport carries 9P messages (kernel/drivers/virtio/ninep's, or a
// test's fake server). RoundTrip sends req then reqData and receives the
// reply's first len(resp) bytes into resp and the rest into respData,
// returning the reply's length; it keeps the caller's tag in resp.
type Transport interface {
	Msize() uint32
	RoundTrip(req, reqData, resp, respData []byte) (int, error)
}

// smallReply bounds replies without data: the largest is an Rreadlink
// (a path up to PATH_MAX) or an Rwalk of MaxWalk qids.
const smallReply = 8192

// maxFids bounds the fids the client hands out; a leak (or a host that
// refuses clunks) ends in ENFILE rather than a wrapped fid number.
const maxFids = 1 << 24

// Client speaks 9P2000.L over a Transport. Safe for concurrent use.
type Client struct {
	t     Transport
	msize uint32

	fidMu   sync.Mutex
	nextFid uint32
	free    []uint32
	live    int

	bufs sync.Pool // *callBuf

	// clunks receives fids of nodes the garbage collector dropped; one
	// goroutine clunks them (finalizers must not block).
	clunkMu sync.Mutex
	clunks  []uint32
	clunkCh chan struct{}
}

type callBuf struct {
	e    wire.Encoder
	d    wire.Decoder
	resp [smallReply]byte
}

const tag = 1 // the transport gives each request in flight its own

// NewClient negotiates the protocol version and message size (at most
// the transport's) and returns the client.
func NewClient(t Transport) (*Client, error) {
	c := &Client{t: t, msize: t.Msize(), nextFid: 1, clunkCh: make(chan struct{}, 1)}
	if c.msize < wire.MinMsize {
		return nil, syscall.EINVAL
	}
	c.bufs.New = func() any { return new(callBuf) }
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tversion, wire.NoTag)
	b.e.U32(c.msize)
	b.e.Str(wire.Version)
	d, err := c.rpc(b, wire.Tversion, wire.NoTag)
	if err != nil {
		return nil, err
	}
	msize := d.U32()
	v := d.Str(64)
	if err := d.End(); err != nil {
		return nil, err
	}
	if v != wire.Version {
		return nil, syscall.EPROTONOSUPPORT
	}
	if msize < wire.MinMsize {
		return nil, syscall.EPROTO
	}
	c.msize = min(c.msize, msize)
	go c.clunker()
	return c, nil
}

// Msize is the negotiated message size.
func (c *Client) Msize() uint32 { return c.msize }

func (c *Client) buf() *callBuf { return c.bufs.Get().(*callBuf) }

// rpc sends the message built in b.e and decodes the reply header into
// b.d, which the caller reads the body from.
func (c *Client) rpc(b *callBuf, typ uint8, tg uint16) (*wire.Decoder, error) {
	req, err := b.e.Finish(c.msize)
	if err != nil {
		return nil, err
	}
	n, err := c.t.RoundTrip(req, nil, b.resp[:], nil)
	if err != nil {
		return nil, syscall.EIO
	}
	if n > len(b.resp) {
		return nil, wire.ErrBadReply
	}
	if err := b.d.Reset(b.resp[:n], typ, tg); err != nil {
		return nil, err
	}
	return &b.d, nil
}

// simple runs a request whose reply has no body.
func (c *Client) simple(typ uint8, build func(e *wire.Encoder)) error {
	return c.call(typ, build, nil)
}

// call runs a request built by build, lets read take the reply's fields
// (nil: none) and checks that nothing is left over.
func (c *Client) call(typ uint8, build func(e *wire.Encoder), read func(d *wire.Decoder)) error {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(typ, tag)
	build(&b.e)
	d, err := c.rpc(b, typ, tag)
	if err != nil {
		return err
	}
	if read != nil {
		read(d)
	}
	return d.End()
}

func (c *Client) allocFid() (uint32, error) {
	c.fidMu.Lock()
	defer c.fidMu.Unlock()
	if c.live >= maxFids {
		return 0, syscall.ENFILE
	}
	c.live++
	if n := len(c.free); n > 0 {
		f := c.free[n-1]
		c.free = c.free[:n-1]
		return f, nil
	}
	f := c.nextFid
	c.nextFid++
	return f, nil
}

func (c *Client) freeFid(f uint32) {
	c.fidMu.Lock()
	c.free = append(c.free, f)
	c.live--
	c.fidMu.Unlock()
}

// Attach attaches fid to the root of the export and returns its qid.
func (c *Client) Attach(aname string) (uint32, wire.Qid, error) {
	fid, err := c.allocFid()
	if err != nil {
		return 0, wire.Qid{}, err
	}
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tattach, tag)
	b.e.U32(fid)
	b.e.U32(wire.NoFid)
	b.e.Str("root")
	b.e.Str(aname)
	b.e.U32(0) // n_uname: root
	d, err := c.rpc(b, wire.Tattach, tag)
	var q wire.Qid
	if err == nil {
		q = d.Qid()
		err = d.End()
	}
	if err != nil {
		c.freeFid(fid)
		return 0, wire.Qid{}, err
	}
	return fid, q, nil
}

// Walk walks from fid through names (at most wire.MaxWalk) to a new fid.
// Without names it clones fid. A walk that stops short is ENOENT.
func (c *Client) Walk(fid uint32, names ...string) (uint32, []wire.Qid, error) {
	if len(names) > wire.MaxWalk {
		return 0, nil, syscall.ENAMETOOLONG
	}
	nfid, err := c.allocFid()
	if err != nil {
		return 0, nil, err
	}
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Twalk, tag)
	b.e.U32(fid)
	b.e.U32(nfid)
	b.e.U16(uint16(len(names)))
	for _, n := range names {
		b.e.Str(n)
	}
	d, err := c.rpc(b, wire.Twalk, tag)
	var qids []wire.Qid
	if err == nil {
		nq := int(d.U16())
		if nq > len(names) {
			err = wire.ErrBadReply
		} else {
			qids = make([]wire.Qid, nq)
			for i := range qids {
				qids[i] = d.Qid()
			}
			err = d.End()
		}
	}
	if err != nil {
		c.freeFid(nfid)
		return 0, nil, err
	}
	if len(qids) < len(names) {
		// A partial walk leaves newfid unassigned (9P): nothing to clunk.
		c.freeFid(nfid)
		return 0, nil, syscall.ENOENT
	}
	return nfid, qids, nil
}

// Clunk forgets fid; the fid is free again whatever the answer.
func (c *Client) Clunk(fid uint32) error {
	err := c.simple(wire.Tclunk, func(e *wire.Encoder) { e.U32(fid) })
	c.freeFid(fid)
	return err
}

// clunkLater queues fid to be clunked by the clunker goroutine; for
// finalizers, which must not block.
func (c *Client) clunkLater(fid uint32) {
	c.clunkMu.Lock()
	c.clunks = append(c.clunks, fid)
	c.clunkMu.Unlock()
	select {
	case c.clunkCh <- struct{}{}:
	default:
	}
}

func (c *Client) clunker() {
	for range c.clunkCh {
		c.clunkMu.Lock()
		fids := c.clunks
		c.clunks = nil
		c.clunkMu.Unlock()
		for _, f := range fids {
			c.Clunk(f)
		}
	}
}

// Getattr asks for the basic attributes of fid.
func (c *Client) Getattr(fid uint32) (wire.Attr, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tgetattr, tag)
	b.e.U32(fid)
	b.e.U64(wire.GetattrBasic)
	d, err := c.rpc(b, wire.Tgetattr, tag)
	if err != nil {
		return wire.Attr{}, err
	}
	return d.Getattr()
}

// Lopen opens fid with Linux open flags; it returns the server's iounit.
func (c *Client) Lopen(fid uint32, flags uint32) (uint32, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tlopen, tag)
	b.e.U32(fid)
	b.e.U32(flags)
	d, err := c.rpc(b, wire.Tlopen, tag)
	if err != nil {
		return 0, err
	}
	d.Qid()
	io := d.U32()
	return io, d.End()
}

// Lcreate creates name in the directory fid and opens it: fid becomes
// the new file.
func (c *Client) Lcreate(fid uint32, name string, flags, mode, gid uint32) error {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tlcreate, tag)
	b.e.U32(fid)
	b.e.Str(name)
	b.e.U32(flags)
	b.e.U32(mode)
	b.e.U32(gid)
	d, err := c.rpc(b, wire.Tlcreate, tag)
	if err != nil {
		return err
	}
	d.Qid()
	d.U32()
	return d.End()
}

// qidCall runs a request whose reply is one qid (Tmkdir, Tsymlink, Tmknod).
func (c *Client) qidCall(typ uint8, build func(e *wire.Encoder)) error {
	return c.call(typ, build, func(d *wire.Decoder) { d.Qid() })
}

// Readlink reads the symlink fid's target.
func (c *Client) Readlink(fid uint32) (string, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Treadlink, tag)
	b.e.U32(fid)
	d, err := c.rpc(b, wire.Treadlink, tag)
	if err != nil {
		return "", err
	}
	s := d.Str(4095)
	if err := d.End(); err != nil {
		return "", err
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return "", wire.ErrBadReply
		}
	}
	if s == "" {
		return "", wire.ErrBadReply
	}
	return s, nil
}

// Read reads up to len(p) bytes (at most msize's worth) at off.
func (c *Client) Read(fid uint32, off int64, p []byte) (int, error) {
	p = p[:min(len(p), int(c.msize)-wire.ReadOverhead)]
	return c.dataCall(wire.Tread, fid, uint64(off), p)
}

// Readdir reads directory entries at the server's offset off into p.
func (c *Client) Readdir(fid uint32, off uint64, p []byte) (int, error) {
	p = p[:min(len(p), int(c.msize)-wire.ReadOverhead)]
	return c.dataCall(wire.Treaddir, fid, off, p)
}

func (c *Client) dataCall(typ uint8, fid uint32, off uint64, p []byte) (int, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(typ, tag)
	b.e.U32(fid)
	b.e.U64(off)
	b.e.U32(uint32(len(p)))
	req, err := b.e.Finish(c.msize)
	if err != nil {
		return 0, err
	}
	hdr := b.resp[:wire.ReadOverhead]
	n, err := c.t.RoundTrip(req, nil, hdr, p)
	if err != nil {
		return 0, syscall.EIO
	}
	if n > len(hdr)+len(p) {
		return 0, wire.ErrBadReply
	}
	return wire.CheckData(hdr, n, typ, tag, len(p))
}

// Write writes p (at most msize's worth) at off and returns the count
// the server took, never more than it was given.
func (c *Client) Write(fid uint32, off int64, p []byte) (int, error) {
	p = p[:min(len(p), int(c.msize)-wire.WriteOverhead)]
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Twrite, tag)
	b.e.U32(fid)
	b.e.U64(uint64(off))
	b.e.U32(uint32(len(p)))
	hdr, err := b.e.Finish(c.msize - uint32(len(p)))
	if err != nil {
		return 0, err
	}
	// The size field counts the payload, which travels separately.
	total := uint32(len(hdr) + len(p))
	hdr[0], hdr[1], hdr[2], hdr[3] = byte(total), byte(total>>8), byte(total>>16), byte(total>>24)
	n, err := c.t.RoundTrip(hdr, p, b.resp[:], nil)
	if err != nil {
		return 0, syscall.EIO
	}
	if n > len(b.resp) {
		return 0, wire.ErrBadReply
	}
	if err := b.d.Reset(b.resp[:n], wire.Twrite, tag); err != nil {
		return 0, err
	}
	cnt := b.d.U32()
	if err := b.d.End(); err != nil {
		return 0, err
	}
	if uint64(cnt) > uint64(len(p)) {
		return 0, wire.ErrBadReply
	}
	return int(cnt), nil
}

// Setattr changes attributes of fid.
func (c *Client) Setattr(fid uint32, valid, mode, uid, gid uint32, size uint64, atime, mtime wire.Time) error {
	return c.simple(wire.Tsetattr, func(e *wire.Encoder) {
		e.U32(fid)
		e.U32(valid)
		e.U32(mode)
		e.U32(uid)
		e.U32(gid)
		e.U64(size)
		e.U64(atime.Sec)
		e.U64(atime.Nsec)
		e.U64(mtime.Sec)
		e.U64(mtime.Nsec)
	})
}

// Statfs describes the filesystem of fid.
func (c *Client) Statfs(fid uint32) (wire.Statfs, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tstatfs, tag)
	b.e.U32(fid)
	d, err := c.rpc(b, wire.Tstatfs, tag)
	if err != nil {
		return wire.Statfs{}, err
	}
	return d.Statfs()
}

// Lock is a POSIX lock request or answer.
type Lock struct {
	Type          uint8 // wire.LockRead, LockWrite, LockUnlock
	Start, Length uint64
	ProcID        uint32
}

// clientID names this kernel in lock requests.
const clientID = "runikraft"

// Lock asks for (or releases) a lock; it returns the server's status.
func (c *Client) Lock(fid uint32, l Lock, flags uint32) (uint8, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tlock, tag)
	b.e.U32(fid)
	b.e.U8(l.Type)
	b.e.U32(flags)
	b.e.U64(l.Start)
	b.e.U64(l.Length)
	b.e.U32(l.ProcID)
	b.e.Str(clientID)
	d, err := c.rpc(b, wire.Tlock, tag)
	if err != nil {
		return 0, err
	}
	st := d.U8()
	return st, d.End()
}

// GetLock asks whether l could be placed; the answer is the conflicting
// lock, or l with Type LockUnlock.
func (c *Client) GetLock(fid uint32, l Lock) (Lock, error) {
	b := c.buf()
	defer c.bufs.Put(b)
	b.e.Start(wire.Tgetlock, tag)
	b.e.U32(fid)
	b.e.U8(l.Type)
	b.e.U64(l.Start)
	b.e.U64(l.Length)
	b.e.U32(l.ProcID)
	b.e.Str(clientID)
	d, err := c.rpc(b, wire.Tgetlock, tag)
	if err != nil {
		return Lock{}, err
	}
	r := Lock{Type: d.U8(), Start: d.U64(), Length: d.U64(), ProcID: d.U32()}
	d.Str(wire.MaxName)
	if err := d.End(); err != nil {
		return Lock{}, err
	}
	if r.Type > wire.LockUnlock || r.Start > math.MaxInt64 || r.Length > math.MaxInt64 {
		return Lock{}, wire.ErrBadReply
	}
	return r, nil
}

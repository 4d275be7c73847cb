package p9fs

import (
	"syscall"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// Directory cursors. The host's readdir offsets are whatever its
// filesystem's telldir gives (ext4's are 63-bit hashes), but the VFS
// needs cursors below 1<<62. A cursor here is the position of an entry
// in the host's listing (1 after the first entry, ...), and the node
// remembers the host offset for the most recent cursors it handed out,
// at most maxResume of them: reading on from one of those costs nothing
// extra, and any other cursor (an old telldir) is found by reading the
// listing again from the start. Memory stays bounded whatever the
// directory's size.
const (
	maxResume = 1024
	// maxCursor keeps cursors (plus the VFS's 2 for "." and "..") below
	// 1<<62; a listing longer than that ends there.
	maxCursor = 1<<62 - 16
	// readdirChunk is how many bytes of entries one Treaddir asks for.
	readdirChunk = 32 << 10
)

// ReadDir returns up to max entries after cursor. One Treaddir brings
// many entries (QEMU stats each one it sends, so asking again for the
// same ones is what costs); those the caller did not take wait in the
// node for the next call, which usually asks for them.
func (n *node) ReadDir(cursor uint64, max int) ([]fs.Dirent, error) {
	if n.kind != linux.S_IFDIR {
		return nil, syscall.ENOTDIR
	}
	if max <= 0 {
		return nil, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.fs.c
	if !n.dirOpen {
		fid, _, err := c.Walk(n.fid)
		if err != nil {
			return nil, err
		}
		if _, err := c.Lopen(fid, linux.O_RDONLY|linux.O_DIRECTORY); err != nil {
			c.Clunk(fid)
			return nil, err
		}
		n.dirFid, n.dirOpen = fid, true
		n.resume = map[uint64]uint64{}
	}
	if len(n.resume) >= maxResume {
		clear(n.resume)
	}
	var out []fs.Dirent
	take := func() {
		k := min(max-len(out), len(n.pend))
		for _, e := range n.pend[:k] {
			out = append(out, e)
			n.resume[e.Next] = n.pendOff[e.Next]
		}
		n.pend = n.pend[k:]
		if len(out) > 0 {
			n.pendAt = out[len(out)-1].Next
		}
	}
	if cursor != 0 && cursor == n.pendAt && len(n.pend) > 0 {
		take()
		if len(out) == max || n.pendEOF && len(n.pend) == 0 {
			return out, nil
		}
	}
	// Where to read on from: after the last entry handed out, a cursor
	// remembered, or the start (skipping up to cursor).
	var off, idx, skip uint64
	from := cursor
	if len(out) > 0 {
		from = out[len(out)-1].Next
	}
	if n.pendLast != 0 && from == n.pendLastIdx {
		off, idx = n.pendLast, from
	} else if from != 0 {
		if o, ok := n.resume[from]; ok {
			off, idx = o, from
		} else {
			skip = from
		}
	}
	n.pend, n.pendOff, n.pendLast, n.pendEOF = nil, nil, 0, false
	buf := make([]byte, readdirChunk)
	for len(out) < max {
		got, err := c.Readdir(n.dirFid, off, buf)
		if err != nil {
			return nil, err
		}
		if got == 0 {
			n.pendEOF = true
			break
		}
		r := wire.NewDirentReader(buf[:got])
		entries := 0
		n.pendOff = map[uint64]uint64{}
		for {
			e, ok, err := r.Next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			entries++
			if e.Offset == off {
				// A host whose cursor does not move would be read
				// for ever.
				return nil, wire.ErrBadReply
			}
			off = e.Offset
			idx++
			if idx >= maxCursor {
				n.pendEOF = true
				break
			}
			if idx <= skip || !wire.ValidName(e.Name) {
				continue
			}
			n.pend = append(n.pend, fs.Dirent{Name: e.Name, Ino: e.Qid.Path, Type: direntType(e.Type), Next: idx})
			n.pendOff[idx] = off
		}
		if entries == 0 {
			return nil, wire.ErrBadReply
		}
		// The host offset after the batch's last entry, valid or not.
		n.pendLast, n.pendLastIdx = off, idx
		take()
		if n.pendEOF {
			break
		}
	}
	return out, nil
}

// direntType keeps a host's DT_* value if it is one.
func direntType(t uint8) uint8 {
	switch t {
	case linux.DT_FIFO, linux.DT_CHR, linux.DT_DIR, linux.DT_BLK, linux.DT_REG, linux.DT_LNK, linux.DT_SOCK:
		return t
	}
	return linux.DT_UNKNOWN
}

package p9fs

import (
	"sync"
	"syscall"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/p9fs/wire"
)

// handle is a regular file opened on the host: a fid of its own.
type handle struct {
	n          *node
	fid        uint32
	appendMode bool // opened O_APPEND: the host appends whatever the offset

	// Read-ahead (see Cache mode): where the last read ended, and the
	// window of the file fetched past it.
	raMu sync.Mutex
	next int64
	ra   *window
}

// ReadAt reads from the host. A read that continues the last one, and
// is smaller than a window, is served from the read-ahead window,
// fetched in one message when needed; any other read goes to the host.
func (h *handle) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, syscall.EINVAL
	}
	h.raMu.Lock()
	done, eof := h.fromWindow(p, off)
	// Sequential: this read starts where the last ended, or the window
	// served its start and it goes on past the window.
	seq := off == h.next || done > 0
	if done < len(p) && !eof && seq && len(p)-done < windowSize(h.n.fs.c) && h.fill(off+int64(done)) {
		// Just fetched: used whatever the round trip took.
		var n int
		n, eof = h.ra.copyOut(p[done:], off+int64(done))
		done += n
	}
	if done == len(p) || eof {
		h.next = off + int64(done)
		h.raMu.Unlock()
		return done, nil
	}
	h.raMu.Unlock()
	n, err := h.readHost(p[done:], off+int64(done))
	done += n
	h.raMu.Lock()
	h.next = off + int64(done)
	h.raMu.Unlock()
	if err != nil && done == 0 {
		return 0, err
	}
	return done, nil
}

// readHost reads from the host, one message of up to msize at a time. It
// stops at the first short answer (the end of the file as the host sees
// it now), so a file that shrinks while read ends early and one that
// grows is read up to where it was when the read reached it.
func (h *handle) readHost(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		if off+int64(done) < 0 {
			return done, syscall.EINVAL
		}
		want := len(p) - done
		n, err := h.n.fs.c.Read(h.fid, off+int64(done), p[done:])
		done += n
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 || n < min(want, int(h.n.fs.c.msize)-wire.ReadOverhead) {
			break
		}
	}
	return done, nil
}

// WriteAt writes to the host, one message at a time. A host that takes
// nothing is an I/O error rather than a loop.
func (h *handle) WriteAt(p []byte, off int64) (int, error) {
	defer h.n.invalidate()
	defer h.n.changed()
	done := 0
	for done < len(p) {
		n, err := h.n.fs.c.Write(h.fid, off+int64(done), p[done:])
		done += n
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n == 0 {
			if done > 0 {
				return done, nil
			}
			return 0, syscall.EIO
		}
	}
	return done, nil
}

// Append writes at the end: the host file is open O_APPEND, so the
// host places each write at its end; the new end comes from the host.
// A file given O_APPEND later (F_SETFL) writes at the end the host
// reports just before.
func (h *handle) Append(p []byte) (int, int64, error) {
	if !h.appendMode {
		h.n.invalidate()
		end := h.n.Stat().Size
		n, err := h.WriteAt(p, end)
		return n, end + int64(n), err
	}
	n, err := h.WriteAt(p, 0)
	st := h.n.Stat()
	return n, st.Size, err
}

// Sync asks the host to fsync the file (Tfsync).
func (h *handle) Sync() error {
	return h.n.fs.c.simple(wire.Tfsync, func(e *wire.Encoder) {
		e.U32(h.fid)
		e.U32(0) // datasync: no, the whole file
	})
}

// Close clunks the fid.
func (h *handle) Close() error {
	h.n.invalidate()
	h.raMu.Lock()
	h.dropWindow()
	h.raMu.Unlock()
	return h.n.fs.c.Clunk(h.fid)
}

func lockType(typ int16) (uint8, error) {
	switch typ {
	case linux.F_RDLCK:
		return wire.LockRead, nil
	case linux.F_WRLCK:
		return wire.LockWrite, nil
	case linux.F_UNLCK:
		return wire.LockUnlock, nil
	}
	return 0, syscall.EINVAL
}

// lockPid is the process id the host sees in lock requests: the
// application's, which is always 1.
const lockPid = 1

// Lock places or removes a POSIX lock on the host (Tlock). With wait, a
// lock the host reports as blocked is asked for again, backing off up to
// a tenth of a second, until granted (F_SETLKW has no time limit).
func (h *handle) Lock(typ int16, start, length int64, wait bool) error {
	t, err := lockType(typ)
	if err != nil {
		return err
	}
	if start < 0 || length < 0 {
		return syscall.EINVAL
	}
	var flags uint32
	if wait {
		flags = wire.LockFlagBlock
	}
	delay := time.Millisecond
	for {
		st, err := h.n.fs.c.Lock(h.fid, Lock{Type: t, Start: uint64(start), Length: uint64(length), ProcID: lockPid}, flags)
		if err != nil {
			return err
		}
		switch st {
		case wire.LockSuccess:
			return nil
		case wire.LockBlocked, wire.LockGrace:
			if !wait && st == wire.LockBlocked {
				return syscall.EAGAIN
			}
		default:
			return syscall.ENOLCK
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// TestLock asks the host for a conflicting lock (Tgetlock).
func (h *handle) TestLock(typ int16, start, length int64) (fs.Flock, error) {
	t, err := lockType(typ)
	if err != nil || t == wire.LockUnlock {
		return fs.Flock{}, syscall.EINVAL
	}
	if start < 0 || length < 0 {
		return fs.Flock{}, syscall.EINVAL
	}
	r, err := h.n.fs.c.GetLock(h.fid, Lock{Type: t, Start: uint64(start), Length: uint64(length), ProcID: lockPid})
	if err != nil {
		return fs.Flock{}, err
	}
	out := fs.Flock{Type: linux.F_UNLCK, Start: start, Length: length}
	switch r.Type {
	case wire.LockRead:
		out = fs.Flock{Type: linux.F_RDLCK, Start: int64(r.Start), Length: int64(r.Length), Pid: int32(min(r.ProcID, 1<<31-1))}
	case wire.LockWrite:
		out = fs.Flock{Type: linux.F_WRLCK, Start: int64(r.Start), Length: int64(r.Length), Pid: int32(min(r.ProcID, 1<<31-1))}
	}
	return out, nil
}

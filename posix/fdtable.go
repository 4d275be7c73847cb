package posix

import (
	"io"
	"sync"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// The descriptor table: numbers to open file descriptions.

const maxFDs = 1024 // RLIMIT_NOFILE

// fdEntry is one descriptor; a nil of is a free slot. The table holds
// entries by value, so a descriptor costs no allocation of its own.
type fdEntry struct {
	of      *openFile
	cloexec bool
}

type fdTable struct {
	mu  sync.Mutex
	fds []fdEntry
	// files counts the open file descriptions referenced (openFile.fdRefs
	// above zero). The references are counted in the descriptions rather
	// than in a map of the table's: a map assignment, look-up and delete
	// (with the runtime's fallback hash) cost about 1,300 instructions per
	// open and close, which nginx makes for every request.
	files int
	// low is a lower bound of the free descriptors: every one below it is
	// open, so install's search for the lowest free one starts there.
	low int
}

func newFDTable(con *console) *fdTable {
	ft := &fdTable{}
	ft.install(newOpenFile(con.input(), linux.O_RDONLY), 0, false)
	ft.install(newOpenFile(con.output(1), linux.O_WRONLY), 1, false)
	ft.install(newOpenFile(con.output(2), linux.O_WRONLY), 2, false)
	return ft
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// install puts of at the lowest free descriptor >= min (EINVAL for a
// min outside the table, as F_DUPFD answers).
func (ft *fdTable) install(of *openFile, min int, cloexec bool) (int, Errno) {
	if min < 0 || min >= maxFDs {
		return -1, linux.EINVAL
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	for fd := max(min, ft.low); fd < maxFDs; fd++ {
		if fd >= len(ft.fds) {
			ft.fds = append(ft.fds, make([]fdEntry, fd-len(ft.fds)+1)...)
		}
		if ft.fds[fd].of == nil {
			ft.fds[fd] = fdEntry{of: of, cloexec: cloexec}
			ft.ref(of)
			if min <= ft.low {
				ft.low = fd + 1 // the search from low found every one before fd open
			}
			return fd, 0
		}
	}
	return -1, linux.EMFILE
}

// get is descriptor fd's entry as it is now.
func (ft *fdTable) get(fd int) (fdEntry, Errno) {
	// No defer: this is on the path of every call that takes a file
	// descriptor, and nothing between the lock and the unlock can panic.
	ft.mu.Lock()
	var e fdEntry
	if fd >= 0 && fd < len(ft.fds) {
		e = ft.fds[fd]
	}
	ft.mu.Unlock()
	if e.of == nil {
		return fdEntry{}, linux.EBADF
	}
	return e, 0
}

// setCloexec sets descriptor fd's close-on-exec flag (EBADF if it is
// not open).
func (ft *fdTable) setCloexec(fd int, cloexec bool) Errno {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if fd < 0 || fd >= len(ft.fds) || ft.fds[fd].of == nil {
		return linux.EBADF
	}
	ft.fds[fd].cloexec = cloexec
	return 0
}

func (ft *fdTable) file(fd int) (*openFile, Errno) {
	e, err := ft.get(fd)
	if err != 0 {
		return nil, err
	}
	return e.of, 0
}

// closeFD drops a descriptor; the file closes with its last descriptor.
func (ft *fdTable) closeFD(fd int) Errno {
	ft.mu.Lock()
	if fd < 0 || fd >= len(ft.fds) || ft.fds[fd].of == nil {
		ft.mu.Unlock()
		return linux.EBADF
	}
	of := ft.fds[fd].of
	ft.fds[fd] = fdEntry{}
	ft.low = min(ft.low, fd)
	last := ft.unref(of)
	ft.mu.Unlock()
	if last {
		return release(of)
	}
	return 0
}

// ref adds a reference to of; called with ft.mu held.
func (ft *fdTable) ref(of *openFile) {
	if of.fdRefs == 0 {
		ft.files++
	}
	of.fdRefs++
}

// unref drops one reference to of and reports whether it was the last;
// called with ft.mu held.
func (ft *fdTable) unref(of *openFile) bool {
	of.fdRefs--
	if of.fdRefs > 0 {
		return false
	}
	ft.files--
	return true
}

// release closes a file description whose last descriptor went.
func release(of *openFile) Errno {
	of.closed.Store(true)
	e := of.f.Close()
	of.f.waitQueue().notify() // epoll forgets it; waiters re-check
	return e
}

// dupTo makes newfd refer to oldfd's file, closing what newfd was. The
// swap happens under one lock, so a racing close or install cannot slip
// in between; the replaced file closes after, if that was its last
// descriptor. Callers refuse oldfd == newfd.
func (ft *fdTable) dupTo(oldfd, newfd int, cloexec bool) Errno {
	if newfd < 0 || newfd >= maxFDs {
		return linux.EBADF
	}
	ft.mu.Lock()
	if oldfd < 0 || oldfd >= len(ft.fds) || ft.fds[oldfd].of == nil || oldfd == newfd {
		ft.mu.Unlock()
		return linux.EBADF
	}
	of := ft.fds[oldfd].of
	if newfd >= len(ft.fds) {
		ft.fds = append(ft.fds, make([]fdEntry, newfd-len(ft.fds)+1)...)
	}
	var last *openFile
	if prev := ft.fds[newfd]; prev.of != nil && ft.unref(prev.of) {
		last = prev.of
	}
	ft.fds[newfd] = fdEntry{of: of, cloexec: cloexec}
	ft.ref(of)
	ft.mu.Unlock()
	if last != nil {
		release(last) // like dup2, a close error of the replaced file is not reported
	}
	return 0
}

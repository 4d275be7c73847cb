package posix

import (
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// AF_UNIX sockets: stream, datagram and seqpacket, named in the
// filesystem (a S_IFSOCK node) or in the abstract namespace, with
// socketpair, SCM_RIGHTS and SO_PEERCRED. Every unix socket of the
// process shares one lock (unixRegistry.mu): a connection touches two
// sockets at once, and one lock cannot be taken in two orders.

// unixRegistry names the listening and datagram sockets of the process.
type unixRegistry struct {
	mu       sync.Mutex
	abstract map[string]*unixSocket
	files    map[fifoKey]*unixSocket // by the bound node's (dev, ino)
	autobind uint32
}

type unixState int

const (
	unixUnconnected unixState = iota
	unixListening
	unixConnected
	unixClosed
)

// unixSeg is queued data: a run of stream bytes or one datagram, with
// the control messages sent with it and (datagrams) the sender's name.
type unixSeg struct {
	data []byte
	ctl  *control
	from []byte
}

// unixSocket is one AF_UNIX socket.
type unixSocket struct {
	sockBase
	p  *Process
	r  *unixRegistry
	wq waitQueue

	// Guarded by r.mu.
	state    unixState
	name     []byte // sockaddr_un it is bound to; nil when unnamed
	fsKey    *fifoKey
	peer     *unixSocket // connected peer (stream), default target (datagram)
	in       []unixSeg
	inBytes  int
	backlog  []*unixSocket
	maxConn  int
	shutRd   bool
	shutWr   bool
	peerGone bool // the connected peer closed
}

const unixMaxDgrams = 512 // net.unix.max_dgram_qlen

func newUnixSocket(p *Process, typ, protocol int) (*unixSocket, Errno) {
	switch typ {
	case linux.SOCK_STREAM, linux.SOCK_DGRAM, linux.SOCK_SEQPACKET:
	default:
		return nil, linux.ESOCKTNOSUPPORT
	}
	if protocol != 0 { // PF_UNIX has no protocols but 0
		return nil, linux.EPROTONOSUPPORT
	}
	s := &unixSocket{p: p, r: &p.unix}
	s.init(p, linux.AF_UNIX, typ, 0)
	return s, 0
}

// newUnixPair makes two connected sockets (socketpair).
func newUnixPair(p *Process, typ, protocol int) (*unixSocket, *unixSocket, Errno) {
	a, e := newUnixSocket(p, typ, protocol)
	if e != 0 {
		return nil, nil, e
	}
	b, _ := newUnixSocket(p, typ, protocol)
	a.peer, b.peer = b, a
	a.state, b.state = unixConnected, unixConnected
	return a, b, 0
}

func (s *unixSocket) stream() bool { return s.typ != linux.SOCK_DGRAM }

func (s *unixSocket) waitQueue() *waitQueue { return &s.wq }

// parseUnixAddr checks a sockaddr_un and returns its name: the path, or
// "\x00"+name for the abstract namespace; "" asks for autobind.
func parseUnixAddr(sa []byte) (string, Errno) {
	if len(sa) < 2 || binary.LittleEndian.Uint16(sa) != linux.AF_UNIX {
		return "", linux.EINVAL
	}
	path := sa[2:]
	if len(path) == 0 {
		return "", 0
	}
	if path[0] == 0 {
		return string(path), 0 // abstract: every byte counts
	}
	if i := strings.IndexByte(string(path), 0); i >= 0 {
		path = path[:i]
	}
	return string(path), 0
}

// unixAddr is the sockaddr_un for name.
func unixAddr(name string) []byte {
	b := []byte{linux.AF_UNIX, 0}
	b = append(b, name...)
	if name != "" && name[0] != 0 {
		b = append(b, 0) // paths come back NUL-terminated
	}
	return b
}

// bind names the socket (r.mu is taken here).
func (s *unixSocket) bind(t *Thread, sa []byte) Errno {
	name, e := parseUnixAddr(sa)
	if e != 0 {
		return e
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.name != nil {
		return linux.EINVAL
	}
	return s.bindLocked(t, name)
}

func (s *unixSocket) bindLocked(t *Thread, name string) Errno {
	r := s.r
	if name == "" { // autobind: an abstract name of five hex digits
		for i := 0; i < 1<<20; i++ {
			r.autobind++
			n := "\x00" + hex5(r.autobind)
			if r.abstract[n] == nil {
				name = n
				break
			}
		}
	}
	if name[0] == 0 {
		if r.abstract == nil {
			r.abstract = map[string]*unixSocket{}
		}
		if r.abstract[name] != nil {
			return linux.EADDRINUSE
		}
		r.abstract[name] = s
	} else {
		if len(name) >= len(linux.SockaddrUn{}.Path) {
			return linux.EINVAL
		}
		start, e := t.at(linux.AT_FDCWD&0xffffffff, name)
		if e != 0 {
			return e
		}
		v := t.p.fs.v
		if err := v.Mknod(start, name, linux.S_IFSOCK|0o777&^t.p.umask.Load(), 0); err != nil {
			if e := fs.ToErrno(err); e == linux.EEXIST {
				return linux.EADDRINUSE
			} else {
				return e
			}
		}
		st, err := v.Stat(start, name, linux.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return fs.ToErrno(err)
		}
		k := fifoKey{st.Dev, st.Ino}
		if r.files == nil {
			r.files = map[fifoKey]*unixSocket{}
		}
		r.files[k] = s
		s.fsKey = &k
	}
	s.name = unixAddr(name)
	return 0
}

func hex5(v uint32) string {
	const digits = "0123456789abcdef"
	var b [5]byte
	for i := 4; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// lookup finds the socket a name refers to (r.mu held).
func (s *unixSocket) lookup(t *Thread, name string) (*unixSocket, Errno) {
	if name == "" {
		return nil, linux.EINVAL
	}
	if name[0] == 0 {
		if target := s.r.abstract[name]; target != nil {
			return target, 0
		}
		return nil, linux.ECONNREFUSED
	}
	start, e := t.at(linux.AT_FDCWD&0xffffffff, name)
	if e != 0 {
		return nil, e
	}
	st, err := t.p.fs.v.Stat(start, name, 0)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	if st.Mode&linux.S_IFMT != linux.S_IFSOCK {
		return nil, linux.ECONNREFUSED
	}
	if target := s.r.files[fifoKey{st.Dev, st.Ino}]; target != nil {
		return target, 0
	}
	return nil, linux.ECONNREFUSED
}

func (s *unixSocket) listen(t *Thread, backlog int) Errno {
	if !s.stream() {
		return linux.EOPNOTSUPP
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	switch s.state {
	case unixConnected:
		return linux.EINVAL
	case unixUnconnected:
		if s.name == nil {
			if e := s.bindLocked(t, ""); e != 0 {
				return e
			}
		}
	}
	s.state, s.maxConn = unixListening, max(backlog, 1)
	return 0
}

// wait blocks until ready reports true (checked with r.mu held), a
// signal arrives (ErrRestart) or the process ends; with nonblock it
// reports EAGAIN instead of waiting, and so it does when the socket's
// timeout passes (SO_SNDTIMEO when snd, else SO_RCVTIMEO; *dl holds the
// call's deadline across its waits, set at the first).
func (s *unixSocket) wait(t *Thread, nonblock, snd bool, dl *time.Time, q []pollable, ready func() bool) Errno {
	check := func() bool {
		s.r.mu.Lock()
		defer s.r.mu.Unlock()
		return ready()
	}
	if check() {
		return 0
	}
	if nonblock {
		return linux.EAGAIN
	}
	if dl.IsZero() {
		*dl = s.deadline(snd)
	}
	return t.sockWait(*dl, q, check)
}

func (s *unixSocket) accept(t *Thread, nonblock bool) (sock, Errno) {
	var dl time.Time
	for {
		s.r.mu.Lock()
		if s.state != unixListening {
			s.r.mu.Unlock()
			return nil, linux.EINVAL
		}
		if len(s.backlog) > 0 {
			c := s.backlog[0]
			s.backlog = s.backlog[1:]
			s.r.mu.Unlock()
			s.wq.notify() // room for another connect
			return c, 0
		}
		s.r.mu.Unlock()
		if e := s.wait(t, nonblock, false, &dl, []pollable{s}, func() bool { return len(s.backlog) > 0 || s.state != unixListening }); e != 0 {
			return nil, e
		}
	}
}

func (s *unixSocket) connect(t *Thread, sa []byte, nonblock bool) Errno {
	name, e := parseUnixAddr(sa)
	if e != 0 {
		return e
	}
	if name == "" {
		return linux.EINVAL
	}
	var dl time.Time
	for {
		s.r.mu.Lock()
		target, e := s.lookup(t, name)
		if e != 0 {
			s.r.mu.Unlock()
			return e
		}
		if target.typ != s.typ {
			s.r.mu.Unlock()
			return linux.EPROTOTYPE
		}
		if !s.stream() { // a datagram socket's default destination
			s.peer = target
			s.r.mu.Unlock()
			return 0
		}
		switch s.state {
		case unixConnected:
			s.r.mu.Unlock()
			return linux.EISCONN
		case unixListening:
			s.r.mu.Unlock()
			return linux.EINVAL
		}
		if target.state != unixListening {
			s.r.mu.Unlock()
			return linux.ECONNREFUSED
		}
		if len(target.backlog) < target.maxConn {
			srv, _ := newUnixSocket(s.p, s.typ, 0)
			srv.name = target.name
			srv.peer, s.peer = s, srv
			srv.state, s.state = unixConnected, unixConnected
			target.backlog = append(target.backlog, srv)
			s.r.mu.Unlock()
			target.wq.notify()
			s.wq.notify()
			return 0
		}
		s.r.mu.Unlock()
		// The backlog is full: Linux makes a blocking connect wait.
		if e := s.wait(t, nonblock, true, &dl, []pollable{target}, func() bool {
			return target.state != unixListening || len(target.backlog) < target.maxConn
		}); e != 0 {
			return e
		}
	}
}

// room is how many bytes a stream peer's queue still takes (r.mu held).
func (s *unixSocket) room() int { return s.rcvbuf - s.inBytes }

func (s *unixSocket) send(t *Thread, data []byte, ctl *control, to []byte, flags int, nonblock bool) (int, Errno) {
	if !s.stream() {
		return s.sendDgram(t, data, ctl, to, nonblock)
	}
	if to != nil && s.typ == linux.SOCK_STREAM {
		ctl.discard(s.p.fds)
		return 0, linux.EISCONN // or EOPNOTSUPP unconnected: Linux says EISCONN when connected
	}
	var dl time.Time
	for {
		s.r.mu.Lock()
		peer := s.peer
		switch {
		case s.shutWr || s.peerGone || peer != nil && peer.shutRd:
			s.r.mu.Unlock()
			ctl.discard(s.p.fds)
			return 0, linux.EPIPE
		case s.state != unixConnected || peer == nil:
			s.r.mu.Unlock()
			ctl.discard(s.p.fds)
			return 0, linux.ENOTCONN
		}
		if n := min(peer.room(), len(data)); n > 0 || len(data) == 0 && ctl != nil {
			if s.typ == linux.SOCK_SEQPACKET && n < len(data) {
				n = 0 // a record goes whole
			}
			if n > 0 || len(data) == 0 {
				peer.in = append(peer.in, unixSeg{data: append([]byte(nil), data[:n]...), ctl: ctl})
				peer.inBytes += n
				s.r.mu.Unlock()
				peer.wq.notify()
				return n, 0
			}
		}
		s.r.mu.Unlock()
		if e := s.wait(t, nonblock, true, &dl, []pollable{peer}, func() bool {
			return s.shutWr || s.peerGone || peer.shutRd || peer.room() > 0
		}); e != 0 {
			ctl.discard(s.p.fds)
			return 0, e
		}
	}
}

func (s *unixSocket) sendDgram(t *Thread, data []byte, ctl *control, to []byte, nonblock bool) (int, Errno) {
	var dl time.Time
	for {
		s.r.mu.Lock()
		target := s.peer
		if to != nil {
			name, e := parseUnixAddr(to)
			if e == 0 {
				target, e = s.lookup(t, name)
			}
			if e != 0 {
				s.r.mu.Unlock()
				ctl.discard(s.p.fds)
				return 0, e
			}
		}
		switch {
		case s.shutWr:
			s.r.mu.Unlock()
			ctl.discard(s.p.fds)
			return 0, linux.EPIPE
		case target == nil:
			s.r.mu.Unlock()
			ctl.discard(s.p.fds)
			return 0, linux.ENOTCONN
		case target.state == unixClosed || target.typ != s.typ:
			s.r.mu.Unlock()
			ctl.discard(s.p.fds)
			return 0, linux.ECONNREFUSED
		case len(data) > target.rcvbuf:
			s.r.mu.Unlock()
			ctl.discard(s.p.fds)
			return 0, linux.EMSGSIZE
		}
		if len(target.in) < unixMaxDgrams && target.inBytes+len(data) <= target.rcvbuf {
			target.in = append(target.in, unixSeg{data: data, ctl: ctl, from: s.name})
			target.inBytes += len(data)
			s.r.mu.Unlock()
			target.wq.notify()
			return len(data), 0
		}
		s.r.mu.Unlock()
		if e := s.wait(t, nonblock, true, &dl, []pollable{target}, func() bool {
			return target.state == unixClosed || len(target.in) < unixMaxDgrams && target.inBytes+len(data) <= target.rcvbuf
		}); e != 0 {
			ctl.discard(s.p.fds)
			return 0, e
		}
	}
}

func (s *unixSocket) recv(t *Thread, dst []byte, flags int, nonblock bool) (int, int, []byte, *control, Errno) {
	peek := flags&linux.MSG_PEEK != 0
	var dl time.Time
	for {
		s.r.mu.Lock()
		if s.state == unixListening {
			s.r.mu.Unlock()
			return 0, 0, nil, nil, linux.EINVAL
		}
		if len(s.in) > 0 {
			n, full, from, ctl := s.take(dst, peek)
			s.r.mu.Unlock()
			if s.peer != nil {
				s.peer.wq.notify() // room for the writer
			}
			s.wq.notify()
			return n, full, from, ctl, 0
		}
		eof := s.shutRd || s.peerGone || s.peer != nil && s.peer.shutWr
		unconnected := s.stream() && s.state != unixConnected
		s.r.mu.Unlock()
		switch {
		case eof:
			return 0, 0, nil, nil, 0
		case unconnected:
			return 0, 0, nil, nil, linux.ENOTCONN
		}
		if e := s.wait(t, nonblock, false, &dl, []pollable{s}, func() bool {
			return len(s.in) > 0 || s.shutRd || s.peerGone || s.peer != nil && s.peer.shutWr
		}); e != 0 {
			return 0, 0, nil, nil, e
		}
	}
}

// take moves queued data into dst (r.mu held). A datagram or seqpacket
// record comes whole or truncated; stream bytes stop where the next
// segment carries control messages, so each set arrives with its data.
func (s *unixSocket) take(dst []byte, peek bool) (n, full int, from []byte, ctl *control) {
	if !s.stream() || s.typ == linux.SOCK_SEQPACKET {
		seg := s.in[0]
		n = copy(dst, seg.data)
		if !peek {
			s.in = s.in[1:]
			s.inBytes -= len(seg.data)
			ctl = seg.ctl
		}
		return n, len(seg.data), seg.from, ctl
	}
	for i := 0; i < len(s.in) && n < len(dst); i++ {
		seg := &s.in[i]
		if i > 0 && seg.ctl != nil {
			break
		}
		k := copy(dst[n:], seg.data)
		n += k
		if peek {
			continue
		}
		if i == 0 {
			ctl, seg.ctl = seg.ctl, nil
		}
		seg.data = seg.data[k:]
	}
	if !peek {
		for len(s.in) > 0 && len(s.in[0].data) == 0 && s.in[0].ctl == nil {
			s.in = s.in[1:]
		}
		s.inBytes -= n
	}
	return n, n, nil, ctl
}

func (s *unixSocket) shutdown(how int) Errno {
	s.r.mu.Lock()
	if s.stream() && s.state != unixConnected {
		s.r.mu.Unlock()
		return linux.ENOTCONN
	}
	if how == linux.SHUT_RD || how == linux.SHUT_RDWR {
		s.shutRd = true
	}
	if how == linux.SHUT_WR || how == linux.SHUT_RDWR {
		s.shutWr = true
	}
	peer := s.peer
	s.r.mu.Unlock()
	s.wq.notify()
	if peer != nil {
		peer.wq.notify()
	}
	return 0
}

func (s *unixSocket) Close() Errno {
	s.r.mu.Lock()
	var wake []*unixSocket
	var pending []*unixSocket
	if s.name != nil {
		if n := string(s.name[2:]); n != "" && n[0] == 0 && s.r.abstract[n] == s {
			delete(s.r.abstract, n)
		}
	}
	if s.fsKey != nil && s.r.files[*s.fsKey] == s {
		delete(s.r.files, *s.fsKey) // the node stays, as on Linux: connect gets ECONNREFUSED
	}
	pending, s.backlog = s.backlog, nil
	if s.peer != nil && s.stream() {
		s.peer.peerGone = true
		wake = append(wake, s.peer)
	}
	queued := s.in
	s.in, s.inBytes, s.state = nil, 0, unixClosed
	s.r.mu.Unlock()
	for _, seg := range queued {
		seg.ctl.discard(s.p.fds)
	}
	for _, c := range pending { // connections never accepted
		c.Close()
	}
	for _, w := range wake {
		w.wq.notify()
	}
	s.wq.notify()
	return 0
}

func (s *unixSocket) Ready() uint32 {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	var r uint32
	if s.state == unixListening {
		if len(s.backlog) > 0 {
			r |= linux.POLLIN
		}
		return r
	}
	if len(s.in) > 0 {
		r |= linux.POLLIN
	}
	peer := s.peer
	if s.stream() {
		if s.shutRd || s.peerGone || peer != nil && peer.shutWr {
			r |= linux.POLLIN | linux.POLLRDHUP
		}
		if s.state != unixConnected || s.peerGone || s.shutRd && s.shutWr {
			r |= linux.POLLHUP
		}
		if s.state == unixConnected && !s.shutWr && (s.peerGone || peer != nil && peer.room() > 0) {
			r |= linux.POLLOUT
		}
		return r
	}
	if peer == nil || len(peer.in) < unixMaxDgrams && peer.inBytes < peer.rcvbuf {
		r |= linux.POLLOUT
	}
	return r
}

func (s *unixSocket) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	n, _, _, ctl, e := s.recv(t, p, 0, nonblock)
	ctl.discard(s.p.fds) // read(2) cannot receive descriptors
	return n, e
}

func (s *unixSocket) Write(t *Thread, p []byte, nonblock bool) (int, Errno) {
	var data []byte = p
	if !s.stream() {
		data = append([]byte(nil), p...) // a datagram is queued as is
	}
	n, e := s.send(t, data, nil, nil, 0, nonblock)
	if e == linux.EPIPE {
		t.post(linux.SIGPIPE, sigInfo{})
	}
	return n, e
}

// Ioctl answers FIONREAD (SIOCINQ): the bytes queued (a datagram
// socket: the next datagram's size).
func (s *unixSocket) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	if req != linux.FIONREAD {
		return 0, linux.ENOTTY
	}
	s.r.mu.Lock()
	n := s.inBytes
	if !s.stream() {
		n = 0
		if len(s.in) > 0 {
			n = len(s.in[0].data)
		}
	}
	s.r.mu.Unlock()
	return 0, t.put32(arg, uint32(n))
}

func (s *unixSocket) sockname() []byte {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.name == nil {
		return s.unnamed()
	}
	return s.name
}

func (s *unixSocket) peername() ([]byte, Errno) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.peer == nil || s.stream() && s.state != unixConnected {
		return nil, linux.ENOTCONN
	}
	if s.peer.name == nil {
		return s.unnamed(), 0
	}
	return s.peer.name, 0
}

func (s *unixSocket) getsockopt(t *Thread, level, name int) ([]byte, Errno) {
	s.r.mu.Lock()
	listening := s.state == unixListening
	connected := s.peer != nil
	s.r.mu.Unlock()
	if v, ok := s.commonGetsockopt(level, name, listening); ok {
		return v, 0
	}
	if level == linux.SOL_SOCKET && name == linux.SO_PEERCRED {
		if !connected {
			return nil, linux.ENOTCONN
		}
		c := linux.Ucred{Pid: Pid} // the one process, as root
		return append([]byte(nil), linux.AsBytes(&c)...), 0
	}
	return nil, linux.ENOPROTOOPT
}

func (s *unixSocket) setsockopt(t *Thread, level, name int, val []byte) Errno {
	if e, ok := s.commonSetsockopt(level, name, val); ok {
		return e
	}
	return linux.ENOPROTOOPT
}

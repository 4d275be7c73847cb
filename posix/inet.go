package posix

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// AF_INET and AF_INET6 sockets over the kernel's TCP/IP stack. The stack
// is a micro-library: a kernel built with networking passes one in
// Config.Net (kernel/net/netposix adapts gVisor's netstack); without it
// these families are EAFNOSUPPORT. The posix side owns what every file
// has (descriptors, blocking, poll and epoll readiness, signals); the
// stack owns the protocol state.

// NetStack is the TCP/IP stack as the posix layer uses it.
type NetStack interface {
	// Socket makes an endpoint for socket(2)'s family, type (without
	// SOCK_NONBLOCK/SOCK_CLOEXEC) and protocol.
	Socket(family, typ, protocol int) (NetEndpoint, Errno)
	// ResolvConf and Hosts are /etc/resolv.conf and /etc/hosts for the
	// stack's configuration.
	ResolvConf() string
	Hosts() string
	// Interfaces lists the network interfaces (netlink).
	Interfaces() []NetInterface
}

// NetEndpoint is one inet socket's endpoint in the stack. No call
// blocks: EAGAIN (EINPROGRESS from Connect) means wait for readiness,
// which OnEvent reports.
type NetEndpoint interface {
	Bind(addr InetAddr) Errno
	Listen(backlog int) Errno
	Accept() (NetEndpoint, InetAddr, Errno)
	Connect(addr InetAddr) Errno
	// Read fills p from the receive queue; full is the datagram's whole
	// length, from its sender.
	Read(p []byte, peek bool) (n, full int, from InetAddr, e Errno)
	// Write sends p (to the given address, if valid); more is MSG_MORE.
	Write(p []byte, to InetAddr, more bool) (int, Errno)
	Shutdown(how int) Errno
	LocalAddr() (InetAddr, Errno)
	RemoteAddr() (InetAddr, Errno)
	// Readiness is what of the POLL* bits in mask holds now.
	Readiness(mask uint32) uint32
	// OnEvent calls fn whenever readiness may have changed, until
	// cancel is called. fn must not block.
	OnEvent(fn func()) (cancel func())
	// LastError takes the pending error (SO_ERROR).
	LastError() Errno
	// GetSockOpt and SetSockOpt handle the options of SOL_SOCKET,
	// IPPROTO_IP, IPPROTO_IPV6 and IPPROTO_TCP that the stack keeps;
	// ENOPROTOOPT for the others.
	GetSockOpt(level, name int) ([]byte, Errno)
	SetSockOpt(level, name int, val []byte) Errno
	Close()
}

// StreamEndpoint is what a NetEndpoint of a stream socket may add: its
// bytes moved straight between the stack's buffers and the
// application's memory (w and r, see userIO), with no kernel buffer and
// copy in between. read(2) and write(2) of Redis and nginx take it.
type StreamEndpoint interface {
	// ReadTo writes the receive queue's bytes into w until w reports a
	// short write; an error of w's with nothing read is an error.
	ReadTo(w io.Writer, peek bool) (int, Errno)
	// WriteFrom sends what of r the send buffer takes (r.Len() at most);
	// an error of r's with nothing sent is an error.
	WriteFrom(r Payload, more bool) (int, Errno)
}

// Payload is bytes to send: a reader that knows how many are left.
type Payload interface {
	io.Reader
	Len() int
}

// inetSocket is an AF_INET or AF_INET6 socket.
type inetSocket struct {
	sockBase
	ep        NetEndpoint
	stream    StreamEndpoint // ep, when a stream socket's offers it: see readDirect
	wq        waitQueue
	cancel    func()
	listening bool
}

func newInetSocket(p *Process, ep NetEndpoint, family, typ, protocol int) *inetSocket {
	s := &inetSocket{ep: ep}
	s.init(p, family, typ, protocol)
	if se, ok := ep.(StreamEndpoint); ok && typ == linux.SOCK_STREAM {
		s.stream = se // asserted once here: an interface assertion per read is a table look-up
	}
	s.cancel = ep.OnEvent(s.wq.notify)
	return s
}

// newInet makes a socket on the process's stack.
func (t *Thread) newInet(family, typ, protocol int) (sock, Errno) {
	if t.p.cfg.Net == nil {
		return nil, linux.EAFNOSUPPORT
	}
	ep, e := t.p.cfg.Net.Socket(family, typ, protocol)
	if e != 0 {
		return nil, e
	}
	return newInetSocket(t.p, ep, family, typ, protocol), 0
}

func (s *inetSocket) waitQueue() *waitQueue { return &s.wq }

const inetEvents = linux.POLLIN | linux.POLLOUT | linux.POLLERR | linux.POLLHUP | linux.POLLRDHUP | linux.POLLPRI

func (s *inetSocket) Ready() uint32 { return s.ep.Readiness(inetEvents) }

// block retries op until it stops saying EAGAIN, waiting for want in
// between, unless nonblock, and until the socket's timeout (SO_SNDTIMEO
// for POLLOUT, else SO_RCVTIMEO) passes: then EAGAIN.
func (s *inetSocket) block(t *Thread, nonblock bool, want uint32, op func() Errno) Errno {
	var dl time.Time
	for first := true; ; first = false {
		e := op()
		if e != linux.EAGAIN || nonblock {
			return e
		}
		if first {
			dl = s.deadline(want == linux.POLLOUT)
		}
		if e := t.sockWait(dl, []pollable{s}, func() bool { return s.ep.Readiness(want|linux.POLLERR|linux.POLLHUP) != 0 }); e != 0 {
			return e
		}
	}
}

// parseInet reads a sockaddr_in or sockaddr_in6 for the socket's family
// (an AF_INET6 socket takes IPv4 addresses too, as ::ffff:a.b.c.d).
func (s *inetSocket) parseInet(sa []byte) (InetAddr, Errno) { return parseInet(s.family, sa) }

func parseInet(family int, sa []byte) (InetAddr, Errno) {
	if len(sa) < 2 {
		return InetAddr{}, linux.EINVAL
	}
	switch binary.LittleEndian.Uint16(sa) {
	case linux.AF_INET:
		var in linux.SockaddrIn
		if len(sa) < 16 {
			return InetAddr{}, linux.EINVAL
		}
		copy(linux.AsBytes(&in), sa)
		a := InetAddr4(in.Addr, binary.BigEndian.Uint16(in.Port[:]))
		if family == linux.AF_INET6 {
			a.Family = linux.AF_INET6 // IPv4-mapped IPv6
		}
		return a, 0
	case linux.AF_INET6:
		var in linux.SockaddrIn6
		if family != linux.AF_INET6 || len(sa) < 24 {
			return InetAddr{}, linux.EINVAL
		}
		copy(linux.AsBytes(&in), sa)
		return InetAddr6(in.Addr, binary.BigEndian.Uint16(in.Port[:]), in.ScopeID), 0
	}
	return InetAddr{}, linux.EAFNOSUPPORT
}

// inetAddr is a as the socket's family writes it.
func (s *inetSocket) inetAddr(a InetAddr) []byte { return inetAddr(s.family, a) }

// inetAddr is a as a socket of family writes it: no address (the stack
// has none: unbound) is the family's "any"; on an AF_INET socket an
// IPv6 address that maps no IPv4 one is 0.0.0.0.
func inetAddr(family int, a InetAddr) []byte {
	if family == linux.AF_INET {
		in := linux.SockaddrIn{Family: linux.AF_INET}
		in.Addr, _ = a.Unmap()
		binary.BigEndian.PutUint16(in.Port[:], a.Port)
		return append([]byte(nil), linux.AsBytes(&in)...)
	}
	in := linux.SockaddrIn6{Family: linux.AF_INET6, ScopeID: a.ScopeID}
	if a.Valid() {
		in.Addr = a.IP
	}
	binary.BigEndian.PutUint16(in.Port[:], a.Port)
	return append([]byte(nil), linux.AsBytes(&in)...)
}

func (s *inetSocket) bind(t *Thread, sa []byte) Errno {
	ap, e := s.parseInet(sa)
	if e != 0 {
		return e
	}
	return s.ep.Bind(ap)
}

func (s *inetSocket) listen(t *Thread, backlog int) Errno {
	if s.typ != linux.SOCK_STREAM {
		return linux.EOPNOTSUPP
	}
	if e := s.ep.Listen(backlog); e != 0 {
		return e
	}
	s.mu.Lock()
	s.listening = true
	s.mu.Unlock()
	return 0
}

func (s *inetSocket) accept(t *Thread, nonblock bool) (sock, Errno) {
	var c NetEndpoint
	e := s.block(t, nonblock, linux.POLLIN, func() (e Errno) {
		c, _, e = s.ep.Accept()
		return e
	})
	if e != 0 {
		return nil, e
	}
	return newInetSocket(s.proc, c, s.family, s.typ, s.protocol), 0
}

func (s *inetSocket) connect(t *Thread, sa []byte, nonblock bool) Errno {
	ap, e := s.parseInet(sa)
	if e != 0 {
		return e
	}
	e = s.ep.Connect(ap)
	if e != linux.EINPROGRESS || nonblock || s.typ != linux.SOCK_STREAM {
		return e
	}
	// A blocking connect waits for the handshake, then reports how it
	// ended; past SO_SNDTIMEO it says EINPROGRESS, as Linux does, and
	// the handshake goes on.
	if e := t.sockWait(s.deadline(true), []pollable{s}, func() bool {
		return s.ep.Readiness(linux.POLLOUT|linux.POLLERR|linux.POLLHUP) != 0
	}); e != 0 {
		if e == linux.EAGAIN {
			return linux.EINPROGRESS
		}
		return e
	}
	return s.ep.LastError()
}

func (s *inetSocket) shutdown(how int) Errno { return s.ep.Shutdown(how) }

func (s *inetSocket) send(t *Thread, data []byte, ctl *control, to []byte, flags int, nonblock bool) (int, Errno) {
	ctl.discard(s.proc.fds) // inet sockets carry no descriptors
	var ap InetAddr
	if to != nil {
		var e Errno
		if ap, e = s.parseInet(to); e != 0 {
			return 0, e
		}
	}
	var n int
	e := s.block(t, nonblock, linux.POLLOUT, func() (e Errno) {
		n, e = s.ep.Write(data, ap, flags&linux.MSG_MORE != 0)
		return e
	})
	return n, e
}

func (s *inetSocket) recv(t *Thread, dst []byte, flags int, nonblock bool) (int, int, []byte, *control, Errno) {
	var n, full int
	var from InetAddr
	e := s.block(t, nonblock, linux.POLLIN, func() (e Errno) {
		n, full, from, e = s.ep.Read(dst, flags&linux.MSG_PEEK != 0)
		if e == linux.ENOTCONN && s.typ == linux.SOCK_STREAM && s.ep.Readiness(linux.POLLRDHUP) != 0 {
			return 0 // the peer shut down: end of file
		}
		return e
	})
	if e != 0 {
		return 0, 0, nil, nil, e
	}
	var sa []byte
	if from.Valid() {
		sa = s.inetAddr(from)
	}
	return n, full, sa, nil, 0
}

func (s *inetSocket) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	n, _, _, _, e := s.recv(t, p, 0, nonblock)
	return n, e
}

func (s *inetSocket) Write(t *Thread, p []byte, nonblock bool) (int, Errno) {
	n, e := s.send(t, p, nil, nil, 0, nonblock)
	if e == linux.EPIPE {
		t.post(linux.SIGPIPE, sigInfo{})
	}
	return n, e
}

// readDirect is read(2) and readv(2) of a stream socket whose endpoint
// copies straight into the application's memory (s.stream): the stack's
// buffers are the only kernel copy, as on Linux. Through a kernel buffer
// each read copied twice and took several more calls (Read, recv,
// readStream, a memmove), which under TCG cost more than their
// instructions say. seq.total > 0.
func (s *inetSocket) readDirect(t *Thread, nonblock bool, seq *ioSeq) int64 {
	u := t.userIO(seq)
	var n int
	var e Errno
	if nonblock {
		// What block does for a non-blocking socket, without its call
		// and the closure's: Redis and nginx read this way every request.
		n, e = s.stream.ReadTo(u, false)
		if e == linux.ENOTCONN && s.ep.Readiness(linux.POLLRDHUP) != 0 {
			e = 0 // the peer shut down: end of file
		}
	} else {
		e = s.block(t, false, linux.POLLIN, func() (e Errno) {
			n, e = s.readTo(u)
			return e
		})
	}
	if n == 0 && u.fault != 0 {
		e = u.fault // the stack calls any writer's error a bad buffer
	}
	return ioResult(uint64(max(n, 0)), e)
}

// readTo is one try of readDirect's (written out in its non-blocking
// branch, which this would cost a call).
func (s *inetSocket) readTo(u *userIO) (int, Errno) {
	n, e := s.stream.ReadTo(u, false)
	if e == linux.ENOTCONN && s.ep.Readiness(linux.POLLRDHUP) != 0 {
		return n, 0 // the peer shut down: end of file
	}
	return n, e
}

// writeDirect is write(2) and writev(2) of such a socket: the stack
// copies from the application's memory into its own buffers.
func (s *inetSocket) writeDirect(t *Thread, nonblock bool, seq *ioSeq) int64 {
	u := t.userIO(seq)
	var n int
	var e Errno
	if nonblock {
		n, e = s.stream.WriteFrom(u, false) // as readDirect: block's one try
	} else {
		e = s.block(t, false, linux.POLLOUT, func() (e Errno) {
			n, e = s.stream.WriteFrom(u, false)
			return e
		})
	}
	if n == 0 && u.fault != 0 {
		e = u.fault
	}
	if e == linux.EPIPE {
		t.post(linux.SIGPIPE, sigInfo{})
	}
	return ioResult(uint64(max(n, 0)), e)
}

func (s *inetSocket) Close() Errno {
	s.cancel()
	s.ep.Close()
	return 0
}

// Ioctl answers FIONREAD: the bytes that can be read now.
func (s *inetSocket) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	if req != linux.FIONREAD {
		return 0, linux.ENOTTY
	}
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	n, _, _, e := s.ep.Read(b[:], true)
	if e != 0 {
		n = 0
	}
	return 0, t.put32(arg, uint32(n))
}

func (s *inetSocket) sockname() []byte {
	a, e := s.ep.LocalAddr()
	if e != 0 {
		a = InetAddr{} // written as the family's "any", port 0
	}
	return s.inetAddr(a)
}

func (s *inetSocket) peername() ([]byte, Errno) {
	ap, e := s.ep.RemoteAddr()
	if e != 0 {
		return nil, e
	}
	return s.inetAddr(ap), 0
}

func (s *inetSocket) getsockopt(t *Thread, level, name int) ([]byte, Errno) {
	if level == linux.SOL_SOCKET && name == linux.SO_ERROR {
		return int32Opt(int(s.ep.LastError())), 0
	}
	v, e := s.ep.GetSockOpt(level, name)
	if e != linux.ENOPROTOOPT {
		return v, e
	}
	s.mu.Lock()
	listening := s.listening
	s.mu.Unlock()
	if v, ok := s.commonGetsockopt(level, name, listening); ok {
		return v, 0
	}
	return nil, linux.ENOPROTOOPT
}

func (s *inetSocket) setsockopt(t *Thread, level, name int, val []byte) Errno {
	e := s.ep.SetSockOpt(level, name, val)
	if e != linux.ENOPROTOOPT {
		return e
	}
	if e, ok := s.commonSetsockopt(level, name, val); ok {
		return e
	}
	return linux.ENOPROTOOPT
}

// Stat is the socket's; the stack has no inode.
func (s *inetSocket) Stat() fs.Stat { return s.sockBase.Stat() }

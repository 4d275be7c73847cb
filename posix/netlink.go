package posix

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// AF_NETLINK sockets of family NETLINK_ROUTE, as far as programs need
// them to list the machine's interfaces and addresses (getifaddrs, Go's
// net.Interfaces): RTM_GETLINK and RTM_GETADDR dumps. Other requests are
// answered with EOPNOTSUPP, as a kernel without that feature would.

// NetInterface describes one network interface.
type NetInterface struct {
	Index        int
	Name         string
	MAC          []byte // empty for loopback
	MTU          uint32
	Up, Loopback bool
	Addrs        []InetPrefix
}

// interfaces lists the machine's interfaces: the stack's, or without one
// the loopback interface alone, with no address (nothing could use it).
func (p *Process) interfaces() []NetInterface {
	if n := p.cfg.Net; n != nil {
		return n.Interfaces()
	}
	return []NetInterface{{Index: 1, Name: "lo", MTU: 65536, Up: true, Loopback: true}}
}

type netlinkSocket struct {
	sockBase
	mu  sync.Mutex
	pid uint32
	in  [][]byte // datagrams of responses
	wq  waitQueue
}

const netlinkMaxQueued = 64

func newNetlinkSocket(p *Process, typ, protocol int) (sock, Errno) {
	if typ != linux.SOCK_RAW && typ != linux.SOCK_DGRAM {
		return nil, linux.ESOCKTNOSUPPORT
	}
	if protocol != linux.NETLINK_ROUTE {
		return nil, linux.EPROTONOSUPPORT
	}
	s := &netlinkSocket{}
	s.init(p, linux.AF_NETLINK, typ, protocol)
	return s, 0
}

func (s *netlinkSocket) waitQueue() *waitQueue { return &s.wq }

func (s *netlinkSocket) Ready() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.in) > 0 {
		return linux.POLLIN | linux.POLLOUT
	}
	return linux.POLLOUT
}

func nlAddr(pid uint32) []byte {
	a := linux.SockaddrNl{Family: linux.AF_NETLINK, Pid: pid}
	return append([]byte(nil), linux.AsBytes(&a)...)
}

func (s *netlinkSocket) bind(t *Thread, sa []byte) Errno {
	var a linux.SockaddrNl
	if len(sa) < len(linux.AsBytes(&a)) {
		return linux.EINVAL
	}
	copy(linux.AsBytes(&a), sa)
	if a.Family != linux.AF_NETLINK {
		return linux.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Pid == 0 {
		a.Pid = Pid // the first socket of a process takes its pid
	}
	s.pid = a.Pid
	return 0
}

func (s *netlinkSocket) listen(*Thread, int) Errno                  { return linux.EOPNOTSUPP }
func (s *netlinkSocket) accept(*Thread, bool) (sock, Errno)         { return nil, linux.EOPNOTSUPP }
func (s *netlinkSocket) connect(*Thread, []byte, bool) Errno        { return 0 }
func (s *netlinkSocket) shutdown(int) Errno                         { return 0 }
func (s *netlinkSocket) peername() ([]byte, Errno)                  { return nlAddr(0), 0 }
func (s *netlinkSocket) setsockopt(*Thread, int, int, []byte) Errno { return 0 } // SO_RCVBUF and the like: nothing to tune

func (s *netlinkSocket) sockname() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return nlAddr(s.pid)
}

func (s *netlinkSocket) getsockopt(t *Thread, level, name int) ([]byte, Errno) {
	if v, ok := s.commonGetsockopt(level, name, false); ok {
		return v, 0
	}
	return nil, linux.ENOPROTOOPT
}

// send takes requests: each nlmsghdr in data is answered in the queue.
func (s *netlinkSocket) send(t *Thread, data []byte, ctl *control, to []byte, flags int, nonblock bool) (int, Errno) {
	ctl.discard(s.proc.fds)
	var out []byte
	for off := 0; off+linux.NLMSG_HDRLEN <= len(data); {
		var h linux.NlMsghdr
		copy(linux.AsBytes(&h), data[off:])
		if int(h.Len) < linux.NLMSG_HDRLEN || int(h.Len) > len(data)-off {
			return 0, linux.EINVAL
		}
		out = s.answer(out, h)
		off += int((h.Len + 3) &^ 3)
	}
	s.mu.Lock()
	if len(s.in) >= netlinkMaxQueued {
		s.mu.Unlock()
		return 0, linux.ENOBUFS
	}
	for len(out) > 0 { // datagrams of at most a page, at message boundaries
		n := 0
		for n < len(out) {
			l := int(binary.LittleEndian.Uint32(out[n:]))
			if n > 0 && n+l > linux.PageSize {
				break
			}
			n += (l + 3) &^ 3
		}
		n = min(n, len(out))
		s.in = append(s.in, out[:n])
		out = out[n:]
	}
	s.mu.Unlock()
	s.wq.notify()
	return len(data), 0
}

// answer appends the response to one request.
func (s *netlinkSocket) answer(out []byte, req linux.NlMsghdr) []byte {
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	msg := func(typ uint16, flags uint16, body []byte) {
		h := linux.NlMsghdr{Len: uint32(linux.NLMSG_HDRLEN + len(body)), Type: typ, Flags: flags, Seq: req.Seq, Pid: pid}
		out = append(out, linux.AsBytes(&h)...)
		out = append(out, body...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	dump := req.Flags&linux.NLM_F_DUMP == linux.NLM_F_DUMP
	switch {
	case req.Type == linux.RTM_GETLINK && dump:
		for _, i := range s.proc.interfaces() {
			msg(linux.RTM_NEWLINK, linux.NLM_F_MULTI, linkBody(i))
		}
	case req.Type == linux.RTM_GETADDR && dump:
		for _, i := range s.proc.interfaces() {
			for _, a := range i.Addrs {
				msg(linux.RTM_NEWADDR, linux.NLM_F_MULTI, addrBody(i, a))
			}
		}
	default:
		e := linux.NlMsgerr{Error: -int32(linux.EOPNOTSUPP), Msg: req}
		msg(linux.NLMSG_ERROR, 0, linux.AsBytes(&e))
		return out
	}
	msg(linux.NLMSG_DONE, linux.NLM_F_MULTI, []byte{0, 0, 0, 0})
	return out
}

// attr appends one rtattr.
func attr(b []byte, typ uint16, payload []byte) []byte {
	a := linux.RtAttr{Len: uint16(4 + len(payload)), Type: typ}
	b = append(b, linux.AsBytes(&a)...)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func linkBody(i NetInterface) []byte {
	m := linux.IfInfomsg{Type: linux.ARPHRD_ETHER, Index: int32(i.Index), Change: 0xffffffff}
	mac := i.MAC
	if i.Loopback {
		m.Type, m.Flags, mac = linux.ARPHRD_LOOPBACK, linux.IFF_LOOPBACK, make([]byte, 6)
	} else {
		m.Flags = linux.IFF_BROADCAST | linux.IFF_MULTICAST
	}
	if i.Up {
		m.Flags |= linux.IFF_UP | linux.IFF_RUNNING | linux.IFF_LOWER_UP
	}
	b := append([]byte(nil), linux.AsBytes(&m)...)
	b = attr(b, linux.IFLA_IFNAME, append([]byte(i.Name), 0))
	b = attr(b, linux.IFLA_MTU, binary.LittleEndian.AppendUint32(nil, i.MTU))
	b = attr(b, linux.IFLA_ADDRESS, mac)
	if !i.Loopback {
		b = attr(b, linux.IFLA_BROADCAST, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	return b
}

func addrBody(i NetInterface, p InetPrefix) []byte {
	m := linux.IfAddrmsg{Prefixlen: p.Bits, Flags: linux.IFA_F_PERMANENT, Index: uint32(i.Index)}
	if i.Loopback {
		m.Scope = linux.RT_SCOPE_HOST
	}
	a := p.Addr
	var raw []byte
	if a.Is4() {
		m.Family = linux.AF_INET
		raw = a.IP[12:]
	} else {
		m.Family = linux.AF_INET6
		raw = a.IP[:]
		if a.isLinkLocal() {
			m.Scope = linux.RT_SCOPE_LINK
		}
	}
	b := append([]byte(nil), linux.AsBytes(&m)...)
	b = attr(b, linux.IFA_ADDRESS, raw)
	if a.Is4() {
		b = attr(b, linux.IFA_LOCAL, raw)
		b = attr(b, linux.IFA_LABEL, append([]byte(i.Name), 0))
	}
	return b
}

func (s *netlinkSocket) recv(t *Thread, dst []byte, flags int, nonblock bool) (int, int, []byte, *control, Errno) {
	var dl time.Time
	for first := true; ; first = false {
		s.mu.Lock()
		if len(s.in) > 0 {
			d := s.in[0]
			if flags&linux.MSG_PEEK == 0 {
				s.in = s.in[1:]
			}
			s.mu.Unlock()
			return copy(dst, d), len(d), nlAddr(0), nil, 0
		}
		s.mu.Unlock()
		if nonblock {
			return 0, 0, nil, nil, linux.EAGAIN
		}
		if first {
			dl = s.deadline(false)
		}
		if e := t.sockWait(dl, []pollable{s}, func() bool { return s.Ready()&linux.POLLIN != 0 }); e != 0 {
			return 0, 0, nil, nil, e
		}
	}
}

func (s *netlinkSocket) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	n, _, _, _, e := s.recv(t, p, 0, nonblock)
	return n, e
}

func (s *netlinkSocket) Write(t *Thread, p []byte, nonblock bool) (int, Errno) {
	return s.send(t, append([]byte(nil), p...), nil, nil, 0, nonblock)
}

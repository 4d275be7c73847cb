// Package netposix gives the posix layer the kernel's TCP/IP stack: it
// adapts kernel/net's gVisor endpoints to posix.NetEndpoint (plain
// values, Linux error numbers, non-blocking calls, readiness callbacks).
// Only a kernel built with networking imports it, so the stock kernel
// does not link gVisor.
package netposix

import (
	"bytes"
	"encoding/binary"
	"io"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	knet "github.com/runikraft/runikraft/kernel/net"
	"github.com/runikraft/runikraft/posix"
)

// Stack adapts a kernel/net Stack.
type Stack struct{ S *knet.Stack }

var _ posix.NetStack = Stack{}

// Socket implements posix.NetStack.
func (s Stack) Socket(family, typ, protocol int) (posix.NetEndpoint, posix.Errno) {
	ep, e := s.S.Socket(family, typ, protocol)
	if e != 0 {
		return nil, e
	}
	return &endpoint{ep: ep}, 0
}

// ResolvConf implements posix.NetStack.
func (s Stack) ResolvConf() string { return s.S.ResolvConf() }

// Hosts implements posix.NetStack.
func (s Stack) Hosts() string { return s.S.Hosts() }

// Interfaces implements posix.NetStack.
func (s Stack) Interfaces() []posix.NetInterface {
	var out []posix.NetInterface
	for _, i := range s.S.Interfaces() {
		ni := posix.NetInterface{Index: i.Index, Name: i.Name, MAC: i.MAC, MTU: i.MTU, Up: i.Up, Loopback: i.Loopback}
		for _, a := range i.Addrs {
			if ip := inetAddr(tcpip.FullAddress{Addr: a.Address}); ip.Valid() && a.PrefixLen >= 0 && a.PrefixLen <= 8*a.Address.Len() {
				ni.Addrs = append(ni.Addrs, posix.InetPrefix{Addr: ip, Bits: uint8(a.PrefixLen)})
			}
		}
		out = append(out, ni)
	}
	return out
}

type endpoint struct {
	ep *knet.Endpoint

	// The stack takes the data of a read and a write through an
	// io.Writer and an io.Reader, which escape to the heap: one of each
	// per endpoint, claimed by the call that finds it free (another
	// thread's call at the same time makes its own), spares a server
	// two or three allocations per request.
	rbusy, wbusy atomic.Bool
	rd           streamWriter
	wr           bytes.Reader
}

func errno(err tcpip.Error) posix.Errno { return knet.Errno(err) }

// full is a as the stack takes it: an IPv4-mapped address on an IPv4
// socket is plain IPv4, an unspecified one (INADDR_ANY, in6addr_any) or
// none is no address, which the stack takes as "any", and an
// IPv4-mapped one on an IPv6 socket stays IPv6, as a dual stack socket
// wants it. The scope id is not passed on (the stack's NIC ids are not
// the interface indexes programs see).
func (e *endpoint) full(a posix.InetAddr) tcpip.FullAddress {
	if v4, ok := a.Unmap(); ok && (a.Is4() || e.ep.Family == linux.AF_INET) {
		if v4 == ([4]byte{}) {
			return tcpip.FullAddress{Port: a.Port}
		}
		return tcpip.FullAddress{Addr: tcpip.AddrFrom4(v4), Port: a.Port}
	}
	if !a.Valid() || a.IP == ([16]byte{}) {
		return tcpip.FullAddress{Port: a.Port}
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFrom16(a.IP), Port: a.Port}
}

// inetAddr is the stack's address f for posix: a 4-byte address is
// IPv4, a 16-byte one IPv6, none (or any other length) no address.
func inetAddr(f tcpip.FullAddress) posix.InetAddr {
	switch f.Addr.Len() {
	case 4:
		return posix.InetAddr4(f.Addr.As4(), f.Port)
	case 16:
		return posix.InetAddr6(f.Addr.As16(), f.Port, 0)
	}
	return posix.InetAddr{Port: f.Port}
}

func (e *endpoint) Bind(a posix.InetAddr) posix.Errno { return errno(e.ep.Bind(e.full(a))) }
func (e *endpoint) Listen(n int) posix.Errno          { return errno(e.ep.Listen(n)) }

func (e *endpoint) Accept() (posix.NetEndpoint, posix.InetAddr, posix.Errno) {
	c, peer, err := e.ep.AcceptFull()
	if err != 0 {
		return nil, posix.InetAddr{}, err
	}
	return &endpoint{ep: c}, inetAddr(peer), 0
}

func (e *endpoint) Connect(a posix.InetAddr) posix.Errno {
	return errno(e.ep.Connect(e.full(a)))
}

func (e *endpoint) Read(p []byte, peek bool) (int, int, posix.InetAddr, posix.Errno) {
	if e.ep.Type == linux.SOCK_STREAM {
		n, err := e.readStream(p, peek)
		if err != nil {
			return 0, 0, posix.InetAddr{}, readErrno(err)
		}
		return n, n, posix.InetAddr{}, 0
	}
	// A datagram is taken whole whatever the buffer holds (the rest
	// is dropped, MSG_TRUNC), even into a zero-length buffer, as on
	// Linux; the stack's own writers call that a bad buffer.
	w := truncWriter{p: p}
	res, err := e.ep.Endpoint.Read(&w, tcpip.ReadOptions{Peek: peek, NeedRemoteAddr: true})
	if err != nil {
		return 0, 0, posix.InetAddr{}, readErrno(err)
	}
	var from posix.InetAddr
	if res.RemoteAddr.Addr.Len() > 0 {
		from = inetAddr(res.RemoteAddr)
	}
	return w.n, res.Total, from, 0
}

// readStream reads a stream socket's bytes into p. It keeps only the
// count of the stack's tcpip.ReadResult, a struct of about 300 bytes
// (control messages, addresses) that a stream read leaves empty: held
// in Read's frame with the datagram case's it was zeroed and copied
// whole three times, about 200 instructions a read.
func (e *endpoint) readStream(p []byte, peek bool) (int, tcpip.Error) {
	w := &e.rd
	own := e.rbusy.CompareAndSwap(false, true)
	if !own {
		w = new(streamWriter)
	}
	*w = streamWriter{p: p}
	res, err := e.ep.Endpoint.Read(w, tcpip.ReadOptions{Peek: peek})
	if own {
		e.rd = streamWriter{} // keep no reference to p
		e.rbusy.Store(false)
	}
	return res.Count, err
}

// readErrno is a read's error as an errno (end of file is none).
func readErrno(err tcpip.Error) posix.Errno {
	if _, eof := err.(*tcpip.ErrClosedForReceive); eof {
		return 0 // end of file
	}
	return errno(err)
}

// streamWriter copies into p until it is full, then reports a short
// write, which ends the stack's read there (what tcpip.LimitedWriter
// over a tcpip.SliceWriter does, in one object).
type streamWriter struct {
	p []byte
	n int
}

func (w *streamWriter) Write(q []byte) (int, error) {
	k := copy(w.p[w.n:], q)
	w.n += k
	if k < len(q) {
		return k, io.ErrShortWrite
	}
	return k, nil
}

// truncWriter copies into p what fits and accepts the rest unwritten.
type truncWriter struct {
	p []byte
	n int
}

func (w *truncWriter) Write(q []byte) (int, error) {
	w.n += copy(w.p[w.n:], q)
	return len(q), nil
}

// ReadTo implements posix.StreamEndpoint: the stack copies its
// segments' bytes straight into w (the application's memory).
func (e *endpoint) ReadTo(w io.Writer, peek bool) (int, posix.Errno) {
	res, err := e.ep.Endpoint.Read(w, tcpip.ReadOptions{Peek: peek})
	if err != nil {
		return 0, readErrno(err)
	}
	return res.Count, 0
}

// WriteFrom implements posix.StreamEndpoint: the stack copies from r
// (the application's memory) into its send buffer.
func (e *endpoint) WriteFrom(r posix.Payload, more bool) (int, posix.Errno) {
	n, err := e.ep.Endpoint.Write(r, tcpip.WriteOptions{More: more})
	if err != nil && n == 0 {
		return 0, errno(err)
	}
	return int(n), 0
}

func (e *endpoint) Write(p []byte, to posix.InetAddr, more bool) (int, posix.Errno) {
	opts := tcpip.WriteOptions{More: more}
	if to.Valid() {
		fa := e.full(to)
		opts.To = &fa
	}
	r := &e.wr
	own := e.wbusy.CompareAndSwap(false, true)
	if !own {
		r = new(bytes.Reader)
	}
	r.Reset(p)
	n, err := e.ep.Endpoint.Write(r, opts)
	if own {
		e.wr.Reset(nil) // keep no reference to p
		e.wbusy.Store(false)
	}
	if err != nil && n == 0 {
		return 0, errno(err)
	}
	return int(n), 0
}

func (e *endpoint) Shutdown(how int) posix.Errno {
	var f tcpip.ShutdownFlags
	switch how {
	case linux.SHUT_RD:
		f = tcpip.ShutdownRead
	case linux.SHUT_WR:
		f = tcpip.ShutdownWrite
	default:
		f = tcpip.ShutdownRead | tcpip.ShutdownWrite
	}
	return errno(e.ep.Shutdown(f))
}

func (e *endpoint) LocalAddr() (posix.InetAddr, posix.Errno) {
	fa, err := e.ep.GetLocalAddress()
	if err != nil {
		return posix.InetAddr{}, errno(err)
	}
	return inetAddr(fa), 0
}

func (e *endpoint) RemoteAddr() (posix.InetAddr, posix.Errno) {
	fa, err := e.ep.GetRemoteAddress()
	if err != nil {
		return posix.InetAddr{}, errno(err)
	}
	return inetAddr(fa), 0
}

// Readiness implements posix.NetEndpoint: gVisor's event bits are
// Linux's POLL* bits.
func (e *endpoint) Readiness(mask uint32) uint32 {
	return uint32(e.ep.Endpoint.Readiness(waiter.EventMask(mask)))
}

func (e *endpoint) OnEvent(fn func()) func() {
	var entry waiter.Entry
	entry.Init(eventFunc(fn), waiter.AllEvents)
	e.ep.Queue.EventRegister(&entry)
	return func() { e.ep.Queue.EventUnregister(&entry) }
}

// eventFunc is a waiter.EventListener that calls the function itself:
// waiter.NewFunctionEntry would need a func(EventMask) around fn, one
// more indirect call for every event of every socket (about one a
// Redis request).
type eventFunc func()

// NotifyEvent implements waiter.EventListener.
func (f eventFunc) NotifyEvent(waiter.EventMask) { f() }

func (e *endpoint) LastError() posix.Errno { return errno(e.ep.Endpoint.LastError()) }

func (e *endpoint) Close() { e.ep.Endpoint.Close() }

func intOpt(v int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(int32(v))) }

func boolOpt(b bool) []byte {
	if b {
		return intOpt(1)
	}
	return intOpt(0)
}

// GetSockOpt implements posix.NetEndpoint.
func (e *endpoint) GetSockOpt(level, name int) ([]byte, posix.Errno) {
	so := e.ep.SocketOptions()
	switch level {
	case linux.SOL_SOCKET:
		switch name {
		case linux.SO_REUSEADDR:
			return boolOpt(so.GetReuseAddress()), 0
		case linux.SO_REUSEPORT:
			return boolOpt(so.GetReusePort()), 0
		case linux.SO_KEEPALIVE:
			return boolOpt(so.GetKeepAlive()), 0
		case linux.SO_BROADCAST:
			return boolOpt(so.GetBroadcast()), 0
		case linux.SO_SNDBUF:
			return intOpt(int(so.GetSendBufferSize())), 0
		case linux.SO_RCVBUF:
			return intOpt(int(so.GetReceiveBufferSize())), 0
		case linux.SO_LINGER:
			l := so.GetLinger()
			v := linux.Linger{Linger: int32(l.Timeout / time.Second)}
			if l.Enabled {
				v.Onoff = 1
			}
			return append([]byte(nil), linux.AsBytes(&v)...), 0
		}
	case linux.IPPROTO_TCP:
		switch name {
		case linux.TCP_NODELAY:
			return boolOpt(!so.GetDelayOption()), 0
		case linux.TCP_CORK:
			return boolOpt(so.GetCorkOption()), 0
		case linux.TCP_MAXSEG:
			return e.intOpt(tcpip.MaxSegOption)
		case linux.TCP_KEEPCNT:
			return e.intOpt(tcpip.KeepaliveCountOption)
		case linux.TCP_KEEPIDLE:
			var d tcpip.KeepaliveIdleOption
			if err := e.ep.GetSockOpt(&d); err != nil {
				return nil, errno(err)
			}
			return intOpt(int(time.Duration(d) / time.Second)), 0
		case linux.TCP_KEEPINTVL:
			var d tcpip.KeepaliveIntervalOption
			if err := e.ep.GetSockOpt(&d); err != nil {
				return nil, errno(err)
			}
			return intOpt(int(time.Duration(d) / time.Second)), 0
		}
	case linux.IPPROTO_IP:
		switch name {
		case linux.IP_TOS:
			return e.intOpt(tcpip.IPv4TOSOption)
		case linux.IP_TTL:
			return e.intOpt(tcpip.IPv4TTLOption)
		}
	case linux.IPPROTO_IPV6:
		switch name {
		case linux.IPV6_V6ONLY:
			return boolOpt(so.GetV6Only()), 0
		case linux.IPV6_TCLASS:
			return e.intOpt(tcpip.IPv6TrafficClassOption)
		case linux.IPV6_UNICAST_HOPS:
			return e.intOpt(tcpip.IPv6HopLimitOption)
		}
	}
	return nil, linux.ENOPROTOOPT
}

func (e *endpoint) intOpt(o tcpip.SockOptInt) ([]byte, posix.Errno) {
	v, err := e.ep.GetSockOptInt(o)
	if err != nil {
		return nil, errno(err)
	}
	return intOpt(v), 0
}

// SetSockOpt implements posix.NetEndpoint.
func (e *endpoint) SetSockOpt(level, name int, val []byte) posix.Errno {
	so := e.ep.SocketOptions()
	if level == linux.SOL_SOCKET && name == linux.SO_LINGER {
		var l linux.Linger
		if len(val) < len(linux.AsBytes(&l)) {
			return linux.EINVAL
		}
		copy(linux.AsBytes(&l), val)
		so.SetLinger(tcpip.LingerOption{Enabled: l.Onoff != 0, Timeout: time.Duration(l.Linger) * time.Second})
		return 0
	}
	if len(val) < 4 {
		if len(val) == 0 {
			return linux.EINVAL
		}
		val = append(val, make([]byte, 4-len(val))...) // Linux takes a char for some options
	}
	v := int(int32(binary.LittleEndian.Uint32(val)))
	switch level {
	case linux.SOL_SOCKET:
		switch name {
		case linux.SO_REUSEADDR:
			so.SetReuseAddress(v != 0)
		case linux.SO_REUSEPORT:
			so.SetReusePort(v != 0)
		case linux.SO_KEEPALIVE:
			so.SetKeepAlive(v != 0)
		case linux.SO_BROADCAST:
			so.SetBroadcast(v != 0)
		case linux.SO_SNDBUF:
			so.SetSendBufferSize(int64(max(v, 1024))*2, true)
		case linux.SO_RCVBUF:
			so.SetReceiveBufferSize(int64(max(v, 1024))*2, true)
		default:
			return linux.ENOPROTOOPT
		}
		return 0
	case linux.IPPROTO_TCP:
		switch name {
		case linux.TCP_NODELAY:
			so.SetDelayOption(v == 0)
		case linux.TCP_CORK:
			so.SetCorkOption(v != 0)
		case linux.TCP_MAXSEG:
			return errno(e.ep.SetSockOptInt(tcpip.MaxSegOption, v))
		case linux.TCP_KEEPCNT:
			return errno(e.ep.SetSockOptInt(tcpip.KeepaliveCountOption, v))
		case linux.TCP_KEEPIDLE:
			if v < 1 {
				return linux.EINVAL
			}
			d := tcpip.KeepaliveIdleOption(time.Duration(v) * time.Second)
			return errno(e.ep.SetSockOpt(&d))
		case linux.TCP_KEEPINTVL:
			if v < 1 {
				return linux.EINVAL
			}
			d := tcpip.KeepaliveIntervalOption(time.Duration(v) * time.Second)
			return errno(e.ep.SetSockOpt(&d))
		default:
			return linux.ENOPROTOOPT
		}
		return 0
	case linux.IPPROTO_IP:
		switch name {
		case linux.IP_TOS:
			return errno(e.ep.SetSockOptInt(tcpip.IPv4TOSOption, v))
		case linux.IP_TTL:
			return errno(e.ep.SetSockOptInt(tcpip.IPv4TTLOption, v))
		}
	case linux.IPPROTO_IPV6:
		switch name {
		case linux.IPV6_V6ONLY:
			so.SetV6Only(v != 0)
			return 0
		case linux.IPV6_TCLASS:
			return errno(e.ep.SetSockOptInt(tcpip.IPv6TrafficClassOption, v))
		case linux.IPV6_UNICAST_HOPS:
			return errno(e.ep.SetSockOptInt(tcpip.IPv6HopLimitOption, v))
		}
	}
	return linux.ENOPROTOOPT
}

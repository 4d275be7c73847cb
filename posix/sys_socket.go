package posix

import (
	"encoding/binary"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// The socket system calls: argument decoding and the data path, over the
// families' sock implementations (socket.go).

const (
	maxSockaddr = 128    // sizeof(struct sockaddr_storage)
	maxDgram    = 212992 // the largest datagram a default buffer takes
	maxControl  = 4096   // control-message bytes one sendmsg may carry
)

// sockFD is descriptor fd's socket: ENOTSOCK for other files.
func (t *Thread) sockFD(fd uint64) (sock, *openFile, Errno) {
	of, e := t.fd(fd)
	if e != 0 {
		return nil, nil, e
	}
	s, ok := of.f.(sock)
	if !ok {
		return nil, nil, linux.ENOTSOCK
	}
	return s, of, 0
}

// sockaddrIn copies a socket address argument in.
func (t *Thread) sockaddrIn(addr, n uint64) ([]byte, Errno) {
	if int64(int32(n)) < 0 || n > maxSockaddr {
		return nil, linux.EINVAL
	}
	if n == 0 {
		return nil, 0
	}
	b := make([]byte, n)
	if e := t.p.cpu.CopyIn(b, uintptr(addr)); e != 0 {
		return nil, e
	}
	return b, 0
}

// sockaddrOut writes an address to (addr, *lenp): as much as the
// buffer holds, and the address's real length to *lenp.
func (t *Thread) sockaddrOut(sa []byte, addr, lenp uint64) Errno {
	if lenp == 0 {
		return 0
	}
	n, e := t.get32(uintptr(lenp))
	if e != 0 {
		return e
	}
	if int32(n) < 0 {
		return linux.EINVAL
	}
	if m := min(int(n), len(sa)); m > 0 {
		if e := t.p.cpu.CopyOut(uintptr(addr), sa[:m]); e != 0 {
			return e
		}
	}
	return t.put32(uintptr(lenp), uint32(len(sa)))
}

// newSocket makes a socket of the family.
func (t *Thread) newSocket(family, typ, protocol int) (sock, Errno) {
	switch family {
	case linux.AF_UNIX:
		return newUnixSocket(t.p, typ, protocol)
	case linux.AF_INET, linux.AF_INET6:
		return t.newInet(family, typ, protocol) // EAFNOSUPPORT without a stack
	case linux.AF_NETLINK:
		return newNetlinkSocket(t.p, typ, protocol)
	}
	return nil, linux.EAFNOSUPPORT
}

// installSock gives s a descriptor with SOCK_NONBLOCK/SOCK_CLOEXEC.
func (t *Thread) installSock(s sock, flags int) (int, Errno) {
	status := uint32(linux.O_RDWR)
	if flags&linux.SOCK_NONBLOCK != 0 {
		status |= linux.O_NONBLOCK
	}
	fd, e := t.p.fds.install(newOpenFile(s, status), 0, flags&linux.SOCK_CLOEXEC != 0)
	if e != 0 {
		s.Close()
	}
	return fd, e
}

// sysSocket implements socket(2).
func sysSocket(t *Thread, a *[6]uint64) int64 {
	family, typ := int(int32(a[0])), int(int32(a[1]))
	flags := typ & (linux.SOCK_NONBLOCK | linux.SOCK_CLOEXEC)
	s, e := t.newSocket(family, typ&^flags, int(int32(a[2])))
	if e != 0 {
		return errno(e)
	}
	fd, e := t.installSock(s, flags)
	if e != 0 {
		return errno(e)
	}
	return int64(fd)
}

// sysSocketpair implements socketpair(2) (AF_UNIX).
func sysSocketpair(t *Thread, a *[6]uint64) int64 {
	family, typ := int(int32(a[0])), int(int32(a[1]))
	flags := typ & (linux.SOCK_NONBLOCK | linux.SOCK_CLOEXEC)
	if family != linux.AF_UNIX {
		return errno(linux.EOPNOTSUPP)
	}
	s1, s2, e := newUnixPair(t.p, typ&^flags, int(int32(a[2])))
	if e != 0 {
		return errno(e)
	}
	fd1, e := t.installSock(s1, flags)
	if e != 0 {
		s2.Close()
		return errno(e)
	}
	fd2, e := t.installSock(s2, flags)
	if e != 0 {
		t.p.fds.closeFD(fd1)
		return errno(e)
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:], uint32(fd1))
	binary.LittleEndian.PutUint32(b[4:], uint32(fd2))
	if e := t.p.cpu.CopyOut(uintptr(a[3]), b[:]); e != 0 {
		t.p.fds.closeFD(fd1)
		t.p.fds.closeFD(fd2)
		return errno(e)
	}
	return 0
}

// sysBind implements bind(2).
func sysBind(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	sa, e := t.sockaddrIn(a[1], a[2])
	if e != 0 {
		return errno(e)
	}
	return errno(s.bind(t, sa))
}

// sysListen implements listen(2).
func sysListen(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	backlog := int(int32(a[1]))
	backlog = min(max(backlog, 0), linux.SOMAXCONN) // as Linux clamps it
	return errno(s.listen(t, backlog))
}

// sysAccept implements accept(2).
func sysAccept(t *Thread, a *[6]uint64) int64 {
	b := *a
	b[3] = 0
	return sysAccept4(t, &b)
}

// sysAccept4 implements accept4(2).
func sysAccept4(t *Thread, a *[6]uint64) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	flags := int(int32(a[3]))
	if flags&^(linux.SOCK_NONBLOCK|linux.SOCK_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	c, e := s.accept(t, of.nonblock())
	if e != 0 {
		return errno(e)
	}
	peer, _ := c.peername()
	fd, e := t.installSock(c, flags)
	if e != 0 {
		return errno(e)
	}
	if e := t.sockaddrOut(peer, a[1], a[2]); e != 0 {
		return errno(e) // Linux keeps the new descriptor too
	}
	return int64(fd)
}

// sysConnect implements connect(2).
func sysConnect(t *Thread, a *[6]uint64) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	sa, e := t.sockaddrIn(a[1], a[2])
	if e != 0 {
		return errno(e)
	}
	return errno(s.connect(t, sa, of.nonblock()))
}

// sysGetsockname implements getsockname(2).
func sysGetsockname(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	return errno(t.sockaddrOut(s.sockname(), a[1], a[2]))
}

// sysGetpeername implements getpeername(2).
func sysGetpeername(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	sa, e := s.peername()
	if e != 0 {
		return errno(e)
	}
	return errno(t.sockaddrOut(sa, a[1], a[2]))
}

// sysShutdown implements shutdown(2).
func sysShutdown(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	how := int(int32(a[1]))
	if how < linux.SHUT_RD || how > linux.SHUT_RDWR {
		return errno(linux.EINVAL)
	}
	return errno(s.shutdown(how))
}

// sysSetsockopt implements setsockopt(2).
func sysSetsockopt(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	n := int64(int32(a[4]))
	if n < 0 || n > 1024 {
		return errno(linux.EINVAL)
	}
	val := make([]byte, n)
	if e := t.p.cpu.CopyIn(val, uintptr(a[3])); e != 0 {
		return errno(e)
	}
	return errno(s.setsockopt(t, int(int32(a[1])), int(int32(a[2])), val))
}

// sysGetsockopt implements getsockopt(2).
func sysGetsockopt(t *Thread, a *[6]uint64) int64 {
	s, _, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	val, e := s.getsockopt(t, int(int32(a[1])), int(int32(a[2])))
	if e != 0 {
		return errno(e)
	}
	return errno(t.sockaddrOut(val, a[3], a[4])) // same shape: buffer and length
}

// msg is one sendmsg/recvmsg in kernel terms.
type msg struct {
	seq      ioSeq
	name     []byte // address from sendmsg
	ctl      *control
	hdr      linux.Msghdr
	hdrAddr  uint64
	msgFlags int32
}

// readMsghdr copies a struct msghdr and its iovecs in.
func (t *Thread) readMsghdr(addr uint64, m *msg) Errno {
	m.hdrAddr = addr
	if e := t.p.cpu.CopyIn(linux.AsBytes(&m.hdr), uintptr(addr)); e != 0 {
		return e
	}
	return t.iovecs(&m.seq, m.hdr.Iov, m.hdr.Iovlen)
}

// sendSeq sends seq on s: a datagram whole, a stream in chunks (control
// messages go with the first). EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
func (t *Thread) sendSeq(s sock, of *openFile, seq *ioSeq, ctl *control, to []byte, flags int) int64 {
	nonblock := of.nonblock() || flags&linux.MSG_DONTWAIT != 0
	n, e := t.sendData(s, nonblock, seq, ctl, to, flags)
	if e == linux.EPIPE && flags&linux.MSG_NOSIGNAL == 0 {
		t.post(linux.SIGPIPE, sigInfo{})
	}
	return ioResult(n, e)
}

func (t *Thread) sendData(s sock, nonblock bool, seq *ioSeq, ctl *control, to []byte, flags int) (uint64, Errno) {
	cur := ioCursor{seq: seq}
	if s.base().typ != linux.SOCK_STREAM {
		if seq.total > maxDgram {
			ctl.discard(t.p.fds)
			return 0, linux.EMSGSIZE
		}
		buf := make([]byte, seq.total) // the datagram is queued as is
		if e := cur.copyIn(t, buf); e != 0 {
			ctl.discard(t.p.fds)
			return 0, e
		}
		n, e := s.send(t, buf, ctl, to, flags, nonblock)
		return uint64(max(n, 0)), e
	}
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	var done uint64
	for done < seq.total || done == 0 && ctl != nil {
		want := min(seq.total-done, ioChunk)
		if e := cur.copyIn(t, b[:want]); e != 0 {
			ctl.discard(t.p.fds)
			return done, e
		}
		n, e := s.send(t, b[:want], ctl, to, flags, nonblock)
		ctl = nil // sent with the first chunk (or discarded by send)
		done += uint64(max(n, 0))
		if e != 0 || uint64(n) < want || want == 0 {
			return done, e
		}
	}
	return done, 0
}

// recvSeq receives into seq: one datagram, or stream bytes (waiting for
// all of them with MSG_WAITALL). It returns the count (the datagram's
// whole length with MSG_TRUNC), the sender, control messages and the
// msg_flags to report.
func (t *Thread) recvSeq(s sock, of *openFile, seq *ioSeq, flags int) (int64, []byte, *control, int32) {
	nonblock := of.nonblock() || flags&linux.MSG_DONTWAIT != 0
	cur := ioCursor{seq: seq}
	if s.base().typ != linux.SOCK_STREAM {
		var buf []byte
		if seq.total <= ioChunk {
			b := ioBufs.Get().(*[ioChunk]byte)
			defer ioBufs.Put(b)
			buf = b[:seq.total]
		} else {
			buf = make([]byte, min(seq.total, maxDgram))
		}
		n, full, from, ctl, e := s.recv(t, buf, flags, nonblock)
		if e != 0 {
			return errno(e), nil, nil, 0
		}
		if e := cur.copyOut(t, buf[:n]); e != 0 {
			ctl.discard(t.p.fds)
			return errno(e), nil, nil, 0
		}
		var mf int32
		r := int64(n)
		if full > n {
			mf |= linux.MSG_TRUNC
			if flags&linux.MSG_TRUNC != 0 {
				r = int64(full)
			}
		}
		return r, from, ctl, mf
	}
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	var done uint64
	var ctl *control
	var e Errno
	for done < seq.total {
		want := min(seq.total-done, ioChunk)
		wait := done == 0 || flags&linux.MSG_WAITALL != 0 && flags&linux.MSG_PEEK == 0
		var n int
		var c *control
		n, _, _, c, e = s.recv(t, b[:want], flags, nonblock || !wait)
		if c != nil {
			if ctl != nil {
				ctl.discard(t.p.fds) // one set of control messages per call
			}
			ctl = c
		}
		if n > 0 {
			if ce := cur.copyOut(t, b[:n]); ce != 0 {
				e = ce
				break
			}
			done += uint64(n)
		}
		if e != 0 || n == 0 || flags&linux.MSG_PEEK != 0 || c != nil {
			break
		}
		if uint64(n) < want && flags&linux.MSG_WAITALL == 0 {
			break
		}
	}
	if done > 0 {
		e = 0
	}
	if e != 0 {
		return errno(e), nil, ctl, 0
	}
	return int64(done), nil, ctl, 0
}

// sysSendto implements sendto(2).
func sysSendto(t *Thread, a *[6]uint64) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	var seq ioSeq
	if e := single(&seq, a[1], a[2]); e != 0 {
		return errno(e)
	}
	to, e := t.sockaddrIn(a[4], a[5])
	if e != 0 {
		return errno(e)
	}
	return t.sendSeq(s, of, &seq, nil, to, int(int32(a[3])))
}

// sysRecvfrom implements recvfrom(2).
func sysRecvfrom(t *Thread, a *[6]uint64) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	var seq ioSeq
	if e := single(&seq, a[1], a[2]); e != 0 {
		return errno(e)
	}
	n, from, ctl, _ := t.recvSeq(s, of, &seq, int(int32(a[3])))
	ctl.discard(t.p.fds) // recvfrom has nowhere to put them
	if n >= 0 && a[4] != 0 {
		// No sender address (a stream, or an unbound AF_UNIX sender):
		// the length written back is 0, as on Linux; Go's net reads a
		// family with an empty path as the abstract name "@".
		if e := t.sockaddrOut(from, a[4], a[5]); e != 0 {
			return errno(e)
		}
	}
	return n
}

// unnamed is the address of a peer with no name: its family alone.
func (b *sockBase) unnamed() []byte {
	return []byte{byte(b.family), byte(b.family >> 8)}
}

// sendmsg sends one struct msghdr (sendmsg, sendmmsg).
func (t *Thread) sendmsg(s sock, of *openFile, addr uint64, flags int) int64 {
	var m msg
	defer m.seq.release()
	if e := t.readMsghdr(addr, &m); e != 0 {
		return errno(e)
	}
	to, e := t.sockaddrIn(m.hdr.Name, uint64(m.hdr.Namelen))
	if e != 0 {
		return errno(e)
	}
	ctl, e := t.readControl(m.hdr.Control, m.hdr.Controllen)
	if e != 0 {
		return errno(e)
	}
	return t.sendSeq(s, of, &m.seq, ctl, to, flags)
}

// sysSendmsg implements sendmsg(2).
func sysSendmsg(t *Thread, a *[6]uint64) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	return t.sendmsg(s, of, a[1], int(int32(a[2])))
}

// recvmsg receives one struct msghdr (recvmsg, recvmmsg).
func (t *Thread) recvmsg(s sock, of *openFile, addr uint64, flags int) int64 {
	var m msg
	defer m.seq.release()
	if e := t.readMsghdr(addr, &m); e != 0 {
		return errno(e)
	}
	n, from, ctl, mf := t.recvSeq(s, of, &m.seq, flags)
	if n < 0 {
		return n
	}
	if m.hdr.Name != 0 {
		k := min(int(m.hdr.Namelen), len(from))
		if e := t.p.cpu.CopyOut(uintptr(m.hdr.Name), from[:k]); e != 0 {
			ctl.discard(t.p.fds)
			return errno(e)
		}
		m.hdr.Namelen = uint32(len(from))
	} else {
		m.hdr.Namelen = 0
	}
	used, trunc, e := t.writeControl(ctl, m.hdr.Control, m.hdr.Controllen, flags)
	if e != 0 {
		return errno(e)
	}
	if trunc {
		mf |= linux.MSG_CTRUNC
	}
	m.hdr.Controllen, m.hdr.Flags = used, mf
	// msg_namelen, msg_controllen and msg_flags go back.
	if e := t.p.cpu.CopyOut(uintptr(addr), linux.AsBytes(&m.hdr)); e != 0 {
		return errno(e)
	}
	return n
}

// sysRecvmsg implements recvmsg(2).
func sysRecvmsg(t *Thread, a *[6]uint64) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	return t.recvmsg(s, of, a[1], int(int32(a[2])))
}

// mmsg runs sendmsg or recvmsg over a struct mmsghdr array, storing each
// count in msg_len; it stops at the first error, reported only if no
// message went through. Each message waits as its own call would
// (recvmmsg's MSG_WAITFORONE: only the first); recvmmsg's timeout, when
// given, bounds the whole call's waiting, and the time left is written
// back, as Linux does.
func (t *Thread) mmsg(a *[6]uint64, recv bool) int64 {
	s, of, e := t.sockFD(a[0])
	if e != 0 {
		return errno(e)
	}
	vlen := min(a[2], linux.UIO_MAXIOV)
	flags := int(int32(a[3]))
	one := t.sendmsg
	var dl time.Time
	if recv {
		one = t.recvmsg
		if a[4] != 0 {
			d, e := t.readTimespec(uintptr(a[4]))
			if e != 0 {
				return errno(e)
			}
			dl = time.Now().Add(d)
		}
	}
	nonblock := of.nonblock() || flags&linux.MSG_DONTWAIT != 0
	const size = 64 // sizeof(struct mmsghdr)
	var done uint64
	for ; done < vlen; done++ {
		addr := a[1] + done*size
		var n int64
		if dl.IsZero() || nonblock {
			n = one(s, of, addr, flags)
		} else {
			n = t.recvTimed(s, of, addr, flags, dl)
		}
		if n < 0 {
			if done == 0 {
				return n
			}
			break
		}
		if e := t.put32(uintptr(addr+56), uint32(n)); e != 0 {
			return errno(e)
		}
		if recv && flags&linux.MSG_WAITFORONE != 0 {
			flags |= linux.MSG_DONTWAIT // after the first, take what is there
			nonblock = true
		}
	}
	if !dl.IsZero() {
		if e := t.putTimespec(uintptr(a[4]), max(time.Until(dl), 0)); e != 0 && done == 0 {
			return errno(e)
		}
	}
	return int64(done)
}

// recvTimed is recvmsg waiting at most until dl: EAGAIN after it.
func (t *Thread) recvTimed(s sock, of *openFile, addr uint64, flags int, dl time.Time) int64 {
	for {
		n := t.recvmsg(s, of, addr, flags|linux.MSG_DONTWAIT)
		if n != -int64(linux.EAGAIN) {
			return n
		}
		if e := t.sockWait(dl, []pollable{s}, func() bool {
			return s.Ready()&(linux.POLLIN|linux.POLLERR|linux.POLLHUP) != 0
		}); e != 0 {
			return errno(e)
		}
	}
}

// sysSendmmsg implements sendmmsg(2).
func sysSendmmsg(t *Thread, a *[6]uint64) int64 { return t.mmsg(a, false) }

// sysRecvmmsg implements recvmmsg(2).
func sysRecvmmsg(t *Thread, a *[6]uint64) int64 { return t.mmsg(a, true) }

// readControl parses sendmsg's control messages: SCM_RIGHTS descriptors
// are held open for the trip; SCM_CREDENTIALS must name the sender.
func (t *Thread) readControl(addr, n uint64) (*control, Errno) {
	if n == 0 {
		return nil, 0
	}
	if n > maxControl {
		return nil, linux.ENOBUFS
	}
	buf := make([]byte, n)
	if e := t.p.cpu.CopyIn(buf, uintptr(addr)); e != 0 {
		return nil, e
	}
	ctl := &control{}
	hdr := uint64(16) // sizeof(struct cmsghdr)
	for off := uint64(0); off+hdr <= n; {
		var h linux.Cmsghdr
		copy(linux.AsBytes(&h), buf[off:off+hdr])
		if h.Len < hdr || h.Len > n-off {
			ctl.discard(t.p.fds)
			return nil, linux.EINVAL
		}
		data := buf[off+hdr : off+h.Len]
		switch {
		case h.Level == linux.SOL_SOCKET && h.Type == linux.SCM_RIGHTS:
			for i := 0; i+4 <= len(data); i += 4 {
				of, e := t.p.fds.file(int(int32(binary.LittleEndian.Uint32(data[i:]))))
				if e != 0 {
					ctl.discard(t.p.fds)
					return nil, e
				}
				if len(ctl.rights) >= 253 { // SCM_MAX_FD
					ctl.discard(t.p.fds)
					return nil, linux.EINVAL
				}
				t.p.fds.hold(of)
				ctl.rights = append(ctl.rights, of)
			}
		case h.Level == linux.SOL_SOCKET && h.Type == linux.SCM_CREDENTIALS:
			var c linux.Ucred
			if len(data) < len(linux.AsBytes(&c)) {
				ctl.discard(t.p.fds)
				return nil, linux.EINVAL
			}
			copy(linux.AsBytes(&c), data)
			if c.Pid != Pid || c.Uid != 0 || c.Gid != 0 {
				ctl.discard(t.p.fds)
				return nil, linux.EPERM
			}
			ctl.creds = &c
		default:
			ctl.discard(t.p.fds)
			return nil, linux.EINVAL
		}
		off += linux.CmsgAlign(h.Len)
	}
	return ctl, 0
}

// writeControl delivers received control messages into recvmsg's buffer:
// descriptors are installed (those that do not fit are closed, and
// MSG_CTRUNC reported), credentials written. It returns the bytes used.
func (t *Thread) writeControl(ctl *control, addr, n uint64, flags int) (uint64, bool, Errno) {
	if ctl == nil {
		return 0, false, 0
	}
	var out []byte
	trunc := false
	put := func(typ int32, data []byte) bool {
		l := 16 + uint64(len(data))
		if uint64(len(out))+l > n {
			trunc = true
			return false
		}
		h := linux.Cmsghdr{Len: l, Level: linux.SOL_SOCKET, Type: typ}
		out = append(out, linux.AsBytes(&h)...)
		out = append(out, data...)
		for uint64(len(out))%8 != 0 && uint64(len(out)) < n {
			out = append(out, 0)
		}
		return true
	}
	if len(ctl.rights) > 0 {
		room := 0
		if n >= 16 {
			room = int((n - 16) / 4)
		}
		k := min(room, len(ctl.rights))
		var data []byte
		for _, of := range ctl.rights[:k] {
			fd, e := t.p.fds.install(of, 0, flags&linux.MSG_CMSG_CLOEXEC != 0)
			t.p.fds.drop(of) // the descriptor (if any) holds it now
			if e != 0 {
				trunc = true
				continue
			}
			data = binary.LittleEndian.AppendUint32(data, uint32(fd))
		}
		for _, of := range ctl.rights[k:] {
			t.p.fds.drop(of)
			trunc = true
		}
		ctl.rights = nil
		if len(data) > 0 {
			put(linux.SCM_RIGHTS, data)
		}
	}
	if ctl.creds != nil {
		c := *ctl.creds
		put(linux.SCM_CREDENTIALS, linux.AsBytes(&c))
	}
	if len(out) > 0 {
		if e := t.p.cpu.CopyOut(uintptr(addr), out); e != 0 {
			return 0, trunc, e
		}
	}
	return uint64(len(out)), trunc, 0
}

package posix

import (
	"encoding/binary"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// sockaddrUn builds a struct sockaddr_un for a path or, with a leading
// NUL, an abstract name.
func sockaddrUn(name string) []byte {
	return append([]byte{linux.AF_UNIX, 0}, name...)
}

func (u *fsUser) socketpair(typ uint64) (uint64, uint64) {
	sv := u.buf() + 29<<10
	u.ok("socketpair", u.s.call(linux.SYS_SOCKETPAIR, linux.AF_UNIX, typ, 0, uint64(sv)))
	p := u.s.peek(sv, 8)
	return uint64(binary.LittleEndian.Uint32(p)), uint64(binary.LittleEndian.Uint32(p[4:]))
}

func (u *fsUser) send(fd uint64, data string) int64 {
	u.s.poke(u.buf(), []byte(data))
	return u.s.call(linux.SYS_SENDTO, fd, uint64(u.buf()), uint64(len(data)), linux.MSG_NOSIGNAL, 0, 0)
}

func (u *fsUser) recv(fd uint64, n int, flags uint64) string {
	r := u.s.call(linux.SYS_RECVFROM, fd, uint64(u.buf()), uint64(n), flags, 0, 0)
	if r < 0 {
		return linux.ErrnoName(linux.Errno(-r))
	}
	return string(u.s.peek(u.buf(), int(r)))
}

func TestUnixStreamPair(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		a, b := u.socketpair(linux.SOCK_STREAM)
		u.want("send", u.send(a, "hello"), 5)
		u.want("write", s.call(linux.SYS_WRITE, a, uint64(u.buf()), 5), 5)
		if got := u.recv(b, 3, linux.MSG_PEEK); got != "hel" {
			u.failf("MSG_PEEK got %q", got)
		}
		if got := u.recv(b, 100, 0); got != "hellohello" {
			u.failf("recv got %q", got)
		}
		if got := u.recv(b, 100, linux.MSG_DONTWAIT); got != "EAGAIN" {
			u.failf("recv with nothing queued: %q", got)
		}
		// fstat, getsockopt and epoll see an ordinary file.
		u.ok("fstat", s.call(linux.SYS_FSTAT, a, uint64(u.buf())))
		u.want("S_IFSOCK", int64(binary.LittleEndian.Uint32(s.peek(u.buf()+16, 4))&linux.S_IFMT), linux.S_IFSOCK)
		opt, optlen := u.buf()+100, u.buf()+108
		s.poke(optlen, []byte{4, 0, 0, 0})
		u.ok("SO_TYPE", s.call(linux.SYS_GETSOCKOPT, a, linux.SOL_SOCKET, linux.SO_TYPE, uint64(opt), uint64(optlen)))
		u.want("SO_TYPE value", int64(binary.LittleEndian.Uint32(s.peek(opt, 4))), linux.SOCK_STREAM)
		s.poke(optlen, []byte{12, 0, 0, 0})
		u.ok("SO_PEERCRED", s.call(linux.SYS_GETSOCKOPT, a, linux.SOL_SOCKET, linux.SO_PEERCRED, uint64(opt), uint64(optlen)))
		u.want("SO_PEERCRED pid", int64(binary.LittleEndian.Uint32(s.peek(opt, 4))), Pid)
		// Shutting the write side gives the reader end of file; writing
		// to a closed peer is EPIPE (SIGPIPE suppressed by MSG_NOSIGNAL).
		u.ok("shutdown", s.call(linux.SYS_SHUTDOWN, a, linux.SHUT_WR))
		if got := u.recv(b, 10, 0); got != "" {
			u.failf("recv after shutdown: %q", got)
		}
		s.call(linux.SYS_CLOSE, b)
		u.want("send to a closed peer", u.send(a, "x"), -int64(linux.EPIPE))
		rfd, _ := u.pipe(0)
		u.want("getsockname on a pipe", s.call(linux.SYS_GETSOCKNAME, rfd, uint64(opt), uint64(optlen)), -int64(linux.ENOTSOCK))
	})
}

func TestUnixListenConnectAccept(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		for _, name := range []string{"/tmp/sock", "\x00abstract"} {
			srv := uint64(u.ok("socket", s.call(linux.SYS_SOCKET, linux.AF_UNIX, linux.SOCK_STREAM|linux.SOCK_NONBLOCK, 0)))
			sa := sockaddrUn(name)
			addr := u.buf() + 200
			s.poke(addr, sa)
			u.ok("bind "+name, s.call(linux.SYS_BIND, srv, uint64(addr), uint64(len(sa))))
			u.want("bind again", s.call(linux.SYS_BIND, srv, uint64(addr), uint64(len(sa))), -int64(linux.EINVAL))
			u.want("accept before listen", s.call(linux.SYS_ACCEPT4, srv, 0, 0, 0), -int64(linux.EINVAL))
			u.ok("listen", s.call(linux.SYS_LISTEN, srv, 4))
			u.want("accept with nobody waiting", s.call(linux.SYS_ACCEPT4, srv, 0, 0, 0), -int64(linux.EAGAIN))
			cli := uint64(u.ok("socket", s.call(linux.SYS_SOCKET, linux.AF_UNIX, linux.SOCK_STREAM, 0)))
			u.ok("connect "+name, s.call(linux.SYS_CONNECT, cli, uint64(addr), uint64(len(sa))))
			conn := uint64(u.ok("accept", s.call(linux.SYS_ACCEPT4, srv, 0, 0, linux.SOCK_CLOEXEC)))
			u.want("client to server", u.send(cli, "ping"), 4)
			if got := u.recv(conn, 10, 0); got != "ping" {
				u.failf("server got %q", got)
			}
			u.want("server to client", u.send(conn, "pong"), 4)
			if got := u.recv(cli, 10, 0); got != "pong" {
				u.failf("client got %q", got)
			}
			// The client's peer is the server's name.
			out, outlen := u.buf()+400, u.buf()+600
			s.poke(outlen, []byte{128, 0, 0, 0})
			u.ok("getpeername", s.call(linux.SYS_GETPEERNAME, cli, uint64(out), uint64(outlen)))
			n := int(binary.LittleEndian.Uint32(s.peek(outlen, 4)))
			want := sockaddrUn(name)
			if name[0] == '/' {
				want = append(want, 0)
			}
			if got := string(s.peek(out, n)); got != string(want) {
				u.failf("getpeername %q, want %q", got, want)
			}
			for _, fd := range []uint64{cli, conn, srv} {
				s.call(linux.SYS_CLOSE, fd)
			}
			cli = uint64(u.ok("socket", s.call(linux.SYS_SOCKET, linux.AF_UNIX, linux.SOCK_STREAM, 0)))
			u.want("connect after the listener closed", s.call(linux.SYS_CONNECT, cli, uint64(addr), uint64(len(sa))), -int64(linux.ECONNREFUSED))
			s.call(linux.SYS_CLOSE, cli)
		}
		mode, _, _, _, e := u.stat("/tmp/sock", linux.AT_SYMLINK_NOFOLLOW)
		u.want("stat of the socket node", e, 0)
		u.want("its type", int64(mode&linux.S_IFMT), linux.S_IFSOCK)
	})
}

func TestUnixDatagrams(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		a := uint64(u.ok("socket a", s.call(linux.SYS_SOCKET, linux.AF_UNIX, linux.SOCK_DGRAM, 0)))
		b := uint64(u.ok("socket b", s.call(linux.SYS_SOCKET, linux.AF_UNIX, linux.SOCK_DGRAM, 0)))
		sa := sockaddrUn("\x00dgram-b")
		addr := u.buf() + 200
		s.poke(addr, sa)
		u.ok("bind b", s.call(linux.SYS_BIND, b, uint64(addr), uint64(len(sa))))
		s.poke(u.buf(), []byte("one datagram"))
		u.want("sendto b", s.call(linux.SYS_SENDTO, a, uint64(u.buf()), 12, 0, uint64(addr), uint64(len(sa))), 12)
		u.want("sendto b again", s.call(linux.SYS_SENDTO, a, uint64(u.buf()), 3, 0, uint64(addr), uint64(len(sa))), 3)
		// A short buffer truncates the datagram; MSG_TRUNC says its size.
		u.want("recv truncated with MSG_TRUNC", s.call(linux.SYS_RECVFROM, b, uint64(u.buf()), 4, linux.MSG_TRUNC, 0, 0), 12)
		if got := u.recv(b, 100, 0); got != "one" {
			u.failf("second datagram %q", got)
		}
		u.want("send unconnected without an address", u.send(a, "x"), -int64(linux.ENOTCONN))
	})
}

// Descriptors travel over a socket (SCM_RIGHTS) and stay open after the
// sender closes its copy.
func TestUnixPassRights(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		s := u.s
		a, b := u.socketpair(linux.SOCK_STREAM)
		rfd, wfd := u.pipe(0)
		base := u.buf() + 1024
		iov, data, ctl, mh := base, base+64, base+128, base+256
		s.poke(data, []byte("F"))
		binary.LittleEndian.PutUint64(make([]byte, 8), 0)
		iovb := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, uint64(data)), 1)
		s.poke(iov, iovb)
		c := linux.Cmsghdr{Len: 20, Level: linux.SOL_SOCKET, Type: linux.SCM_RIGHTS}
		cb := append(append([]byte(nil), linux.AsBytes(&c)...), byte(rfd), 0, 0, 0, 0, 0, 0, 0)
		s.poke(ctl, cb)
		m := linux.Msghdr{Iov: uint64(iov), Iovlen: 1, Control: uint64(ctl), Controllen: 24}
		s.poke(mh, linux.AsBytes(&m))
		u.want("sendmsg with SCM_RIGHTS", s.call(linux.SYS_SENDMSG, a, uint64(mh), 0), 1)
		s.call(linux.SYS_CLOSE, rfd)
		s.poke(ctl, make([]byte, 64))
		m = linux.Msghdr{Iov: uint64(iov), Iovlen: 1, Control: uint64(ctl), Controllen: 64}
		s.poke(mh, linux.AsBytes(&m))
		u.want("recvmsg", s.call(linux.SYS_RECVMSG, b, uint64(mh), 0), 1)
		var got linux.Msghdr
		copy(linux.AsBytes(&got), s.peek(mh, len(linux.AsBytes(&got))))
		u.want("msg_controllen", int64(got.Controllen), 24)
		newfd := uint64(binary.LittleEndian.Uint32(s.peek(ctl+16, 4)))
		s.poke(data, []byte("via passed fd"))
		u.want("write the pipe", s.call(linux.SYS_WRITE, wfd, uint64(data), 13), 13)
		u.want("read through the passed descriptor", s.call(linux.SYS_READ, newfd, uint64(data), 64), 13)
	})
}

package posix

import (
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// Sockets are ordinary files of the one file model: a socket implements
// File (read, write, poll, epoll, fstat, close and dup work as on any
// file) and sock, the calls only sockets have. Each address family is
// its own file (unix.go; inet sockets come with kernel/net). The socket
// system calls in sys_socket.go decode arguments and hand the family
// plain kernel values.

// sock is what a socket adds to File.
type sock interface {
	File
	// bind, connect and sendmsg take the address as the application
	// passed it (struct sockaddr_*, already copied in, at most 128
	// bytes); sockname and peername return one.
	bind(t *Thread, addr []byte) Errno
	listen(t *Thread, backlog int) Errno
	accept(t *Thread, nonblock bool) (sock, Errno)
	connect(t *Thread, addr []byte, nonblock bool) Errno
	shutdown(how int) Errno
	// send queues data (one datagram, or part of a stream) with its
	// control messages; to is nil without an address.
	send(t *Thread, data []byte, ctl *control, to []byte, flags int, nonblock bool) (int, Errno)
	// recv fills dst. It returns the bytes copied, the message's whole
	// length (more than n when a datagram was truncated), the sender's
	// address for datagrams, and the control messages that came with
	// the data.
	recv(t *Thread, dst []byte, flags int, nonblock bool) (n, full int, from []byte, ctl *control, e Errno)
	sockname() []byte
	peername() ([]byte, Errno)
	// sockopt answers the family's own options (SOL_SOCKET options
	// common to all sockets are handled by sockBase); ENOPROTOOPT for
	// the unknown.
	getsockopt(t *Thread, level, name int) ([]byte, Errno)
	setsockopt(t *Thread, level, name int, val []byte) Errno
	base() *sockBase
}

// control is the ancillary data of one message: passed descriptors
// (SCM_RIGHTS) held open while in flight, and credentials.
type control struct {
	rights []*openFile
	creds  *linux.Ucred
}

// sockBase is the state every socket has: its type and the options
// SOL_SOCKET sets for all families.
type sockBase struct {
	fileDefaults
	family, typ, protocol int
	ino                   uint64
	proc                  *Process

	mu        sync.Mutex
	rcvbuf    int
	sndbuf    int
	reuseAddr bool
	reusePort bool
	keepalive bool
	passcred  bool
	linger    linux.Linger
	soError   Errno
	// rcvTimeo and sndTimeo are SO_RCVTIMEO and SO_SNDTIMEO: how long
	// a blocking call waits (timeoForever: without limit; 0: not at
	// all, Linux's answer to a negative tv_sec).
	rcvTimeo, sndTimeo time.Duration
}

// timeoForever is an unset socket timeout.
const timeoForever time.Duration = -1

// Default buffer sizes (Linux's net.core.[rw]mem_default) and their cap.
const (
	sockBufDefault = 212992
	sockBufMax     = 4 << 20
)

func (b *sockBase) init(p *Process, family, typ, protocol int) {
	b.family, b.typ, b.protocol, b.proc = family, typ, protocol, p
	b.ino = p.pipeIDs.Add(1)
	b.rcvbuf, b.sndbuf = sockBufDefault, sockBufDefault
	b.rcvTimeo, b.sndTimeo = timeoForever, timeoForever
}

// deadline is when a blocking call starting now gives up: the zero time
// when the socket's timeout (SO_SNDTIMEO when snd, else SO_RCVTIMEO) is
// unset. One deadline covers all the waits of one call.
func (b *sockBase) deadline(snd bool) time.Time {
	b.mu.Lock()
	d := b.rcvTimeo
	if snd {
		d = b.sndTimeo
	}
	b.mu.Unlock()
	if d == timeoForever {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// sockWait blocks a socket call until check reports true, as waitReady
// does, but at most until dl (the zero time: no limit): past it the call
// fails with EAGAIN. A signal ends a timed wait with EINTR, not a
// restart, as on Linux.
func (t *Thread) sockWait(dl time.Time, q []pollable, check func() bool) Errno {
	timeout := time.Duration(-1)
	if !dl.IsZero() {
		timeout = max(time.Until(dl), 0)
	}
	ok, e := t.waitReady(q, timeout, check)
	switch {
	case e == ErrRestart && !dl.IsZero():
		return linux.EINTR
	case e != 0:
		return e
	case !ok:
		return linux.EAGAIN
	}
	return 0
}

// timeoOpt is a socket timeout as getsockopt returns it: a struct
// timeval, zero for none (and for "do not wait", as Linux reports it).
func timeoOpt(d time.Duration) []byte {
	var tv linux.Timeval
	if d > 0 {
		tv.Sec, tv.Usec = int64(d/time.Second), int64(d%time.Second/time.Microsecond)
	}
	return append([]byte(nil), linux.AsBytes(&tv)...)
}

// parseTimeo reads setsockopt's struct timeval for SO_RCVTIMEO or
// SO_SNDTIMEO as Linux does: a short buffer is EINVAL, microseconds out
// of range EDOM, zero no limit, a negative time "do not wait"; the
// largest times are capped (a year) so deadlines cannot overflow.
func parseTimeo(val []byte) (time.Duration, Errno) {
	var tv linux.Timeval
	if len(val) < len(linux.AsBytes(&tv)) {
		return 0, linux.EINVAL
	}
	copy(linux.AsBytes(&tv), val)
	const maxTimeo = 365 * 24 * time.Hour
	switch {
	case tv.Usec < 0 || tv.Usec >= 1e6:
		return 0, linux.EDOM
	case tv.Sec < 0:
		return 0, 0
	case tv.Sec == 0 && tv.Usec == 0:
		return timeoForever, 0
	case tv.Sec >= int64(maxTimeo/time.Second):
		return maxTimeo, 0
	}
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond, 0
}

func (b *sockBase) base() *sockBase { return b }

// Stat describes a socket: S_IFSOCK on the kernel's anonymous device.
func (b *sockBase) Stat() fs.Stat {
	st := anonStat(linux.S_IFSOCK | 0o777)
	st.Ino = b.ino
	return st
}

func (b *sockBase) Name(*Process) string { return "socket:[" + uitoa(b.ino) + "]" }

// takeError returns and clears SO_ERROR.
func (b *sockBase) takeError() Errno {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.soError
	b.soError = 0
	return e
}

// getsockopt answers the SOL_SOCKET options every socket has; ok is
// false for the others, which the family answers.
func (b *sockBase) commonGetsockopt(level, name int, listening bool) (val []byte, ok bool) {
	if level != linux.SOL_SOCKET {
		return nil, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch name {
	case linux.SO_TYPE:
		return int32Opt(b.typ), true
	case linux.SO_DOMAIN:
		return int32Opt(b.family), true
	case linux.SO_PROTOCOL:
		return int32Opt(b.protocol), true
	case linux.SO_ERROR:
		e := b.soError
		b.soError = 0
		return int32Opt(int(e)), true
	case linux.SO_ACCEPTCONN:
		return boolOpt(listening), true
	case linux.SO_RCVBUF:
		return int32Opt(b.rcvbuf), true
	case linux.SO_SNDBUF:
		return int32Opt(b.sndbuf), true
	case linux.SO_REUSEADDR:
		return boolOpt(b.reuseAddr), true
	case linux.SO_REUSEPORT:
		return boolOpt(b.reusePort), true
	case linux.SO_KEEPALIVE:
		return boolOpt(b.keepalive), true
	case linux.SO_PASSCRED:
		return boolOpt(b.passcred), true
	case linux.SO_LINGER:
		l := b.linger
		return append([]byte(nil), linux.AsBytes(&l)...), true
	case linux.SO_RCVTIMEO_OLD, linux.SO_RCVTIMEO_NEW:
		return timeoOpt(b.rcvTimeo), true
	case linux.SO_SNDTIMEO_OLD, linux.SO_SNDTIMEO_NEW:
		return timeoOpt(b.sndTimeo), true
	}
	return nil, false
}

// commonSetsockopt sets the SOL_SOCKET options every socket has.
func (b *sockBase) commonSetsockopt(level, name int, val []byte) (e Errno, ok bool) {
	if level != linux.SOL_SOCKET {
		return 0, false
	}
	if name == linux.SO_LINGER {
		var l linux.Linger
		if len(val) < len(linux.AsBytes(&l)) {
			return linux.EINVAL, true
		}
		copy(linux.AsBytes(&l), val)
		b.mu.Lock()
		b.linger = l
		b.mu.Unlock()
		return 0, true
	}
	switch name {
	case linux.SO_RCVTIMEO_OLD, linux.SO_RCVTIMEO_NEW, linux.SO_SNDTIMEO_OLD, linux.SO_SNDTIMEO_NEW:
		// On riscv64 the old and new forms are both a 64-bit timeval.
		d, e := parseTimeo(val)
		if e != 0 {
			return e, true
		}
		b.mu.Lock()
		if name == linux.SO_RCVTIMEO_OLD || name == linux.SO_RCVTIMEO_NEW {
			b.rcvTimeo = d
		} else {
			b.sndTimeo = d
		}
		b.mu.Unlock()
		return 0, true
	}
	if len(val) < 4 {
		return linux.EINVAL, true
	}
	v := int(int32(uint32(val[0]) | uint32(val[1])<<8 | uint32(val[2])<<16 | uint32(val[3])<<24))
	b.mu.Lock()
	defer b.mu.Unlock()
	switch name {
	case linux.SO_RCVBUF, linux.SO_SNDBUF:
		// Linux doubles the request (for its bookkeeping) and reports
		// the doubled value.
		n := min(max(v, 1024), sockBufMax/2) * 2
		if name == linux.SO_RCVBUF {
			b.rcvbuf = n
		} else {
			b.sndbuf = n
		}
	case linux.SO_REUSEADDR:
		b.reuseAddr = v != 0
	case linux.SO_REUSEPORT:
		b.reusePort = v != 0
	case linux.SO_KEEPALIVE:
		b.keepalive = v != 0
	case linux.SO_PASSCRED:
		b.passcred = v != 0
	case linux.SO_BROADCAST, linux.SO_OOBINLINE, linux.SO_PRIORITY:
		// Accepted without effect: no broadcast, urgent data or queueing
		// disciplines on the loopback and user networks.
	case linux.SO_TYPE, linux.SO_DOMAIN, linux.SO_PROTOCOL, linux.SO_ERROR, linux.SO_ACCEPTCONN, linux.SO_PEERCRED:
		return linux.ENOPROTOOPT, true // read-only
	default:
		return 0, false
	}
	return 0, true
}

func int32Opt(v int) []byte {
	u := uint32(int32(v))
	return []byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
}

func boolOpt(b bool) []byte {
	if b {
		return int32Opt(1)
	}
	return int32Opt(0)
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// hold keeps of open while it travels in a message (SCM_RIGHTS), as if a
// descriptor referred to it.
func (ft *fdTable) hold(of *openFile) {
	ft.mu.Lock()
	ft.ref(of)
	ft.mu.Unlock()
}

// drop lets go of a hold; the file closes if nothing else refers to it.
func (ft *fdTable) drop(of *openFile) {
	ft.mu.Lock()
	last := ft.unref(of)
	ft.mu.Unlock()
	if last {
		release(of)
	}
}

// discard lets go of the files of a control message nobody received.
func (c *control) discard(ft *fdTable) {
	if c == nil {
		return
	}
	for _, of := range c.rights {
		ft.drop(of)
	}
	c.rights = nil
}

package posix

import "github.com/runikraft/runikraft/kernel/abi/linux"

// splice(2) moves data between a pipe and another file through a kernel
// buffer. Nothing is lost when the far side takes less: data from a pipe
// is peeked, then consumed only as far as it was written; data into a
// pipe is read only as far as the pipe has room.

// pipeEndOf is f's pipe end, for splice (a FIFO opened read-write is
// both ends).
func pipeEndOf(f File, write bool) *pipeEnd {
	switch p := f.(type) {
	case *pipeEnd:
		if p.write == write {
			return p
		}
	case *fifoRW:
		if write {
			return p.w
		}
		return p.pipeEnd
	}
	return nil
}

// sysSplice implements splice(2).
func sysSplice(t *Thread, a *[6]uint64) int64 {
	in, e := t.rwFile(a[0], linux.O_RDONLY)
	if e != 0 {
		return errno(e)
	}
	out, e := t.rwFile(a[2], linux.O_WRONLY)
	if e != 0 {
		return errno(e)
	}
	if uint32(a[5])&^(linux.SPLICE_F_MOVE|linux.SPLICE_F_NONBLOCK|linux.SPLICE_F_MORE|linux.SPLICE_F_GIFT) != 0 {
		return errno(linux.EINVAL)
	}
	inPipe, outPipe := pipeEndOf(in.f, false), pipeEndOf(out.f, true)
	switch {
	case inPipe == nil && outPipe == nil:
		return errno(linux.EINVAL) // one side must be a pipe
	case inPipe != nil && a[1] != 0, outPipe != nil && a[3] != 0:
		return errno(linux.ESPIPE) // a pipe has no offset
	case inPipe != nil && outPipe != nil && inPipe.p == outPipe.p:
		return errno(linux.EINVAL)
	}
	offIn, e := t.offsetArg(a[1], 0)
	if e != 0 {
		return errno(e)
	}
	offOut, e := t.offsetArg(a[3], 1)
	if e != 0 {
		return errno(e)
	}
	nonblock := a[5]&linux.SPLICE_F_NONBLOCK != 0
	n := min(a[4], ioChunk)
	if n == 0 {
		return 0
	}
	b := ioBufs.Get().(*[ioChunk]byte)
	defer ioBufs.Put(b)
	var moved int
	if inPipe != nil {
		got, e := inPipe.read(t, b[:n], nonblock || in.nonblock(), true)
		if e != 0 || got == 0 {
			return errno(e)
		}
		moved, e = t.writer(out.f, offOut, nonblock || out.nonblock())(b[:got])
		if moved > 0 {
			inPipe.consume(moved)
		} else {
			return errno(e)
		}
	} else {
		room, e := outPipe.room(t, nonblock || out.nonblock())
		if e != 0 {
			if e == linux.EPIPE {
				t.post(linux.SIGPIPE, sigInfo{})
			}
			return errno(e)
		}
		read := t.reader(in.f, offIn)
		if offIn == nil {
			read = func(p []byte) (int, Errno) { return in.f.Read(t, p, nonblock || in.nonblock()) }
		}
		got, e := read(b[:min(int(n), room)])
		if e != 0 || got == 0 {
			return errno(e)
		}
		moved, _ = outPipe.Write(t, b[:got], false) // fits: the room was there
	}
	if e := t.putOffset(a[1], offIn); e != 0 {
		return errno(e)
	}
	if e := t.putOffset(a[3], offOut); e != 0 {
		return errno(e)
	}
	return int64(moved)
}

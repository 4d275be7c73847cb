package posix

import "github.com/runikraft/runikraft/kernel/abi/linux"

// sysPipe2 implements pipe2(2).
func sysPipe2(t *Thread, a *[6]uint64) int64 {
	flags := uint32(a[1])
	if flags&^uint32(linux.O_NONBLOCK|linux.O_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	r, w := newPipe()
	r.p.id = t.p.pipeIDs.Add(1)
	cloexec := flags&linux.O_CLOEXEC != 0
	rfd, e := t.p.fds.install(newOpenFile(r, linux.O_RDONLY|flags&linux.O_NONBLOCK), 0, cloexec)
	if e != 0 {
		return errno(e)
	}
	wfd, e := t.p.fds.install(newOpenFile(w, linux.O_WRONLY|flags&linux.O_NONBLOCK), 0, cloexec)
	if e != 0 {
		t.p.fds.closeFD(rfd)
		return errno(e)
	}
	var b [8]byte
	b[0], b[1], b[2], b[3] = byte(rfd), byte(rfd>>8), byte(rfd>>16), byte(rfd>>24)
	b[4], b[5], b[6], b[7] = byte(wfd), byte(wfd>>8), byte(wfd>>16), byte(wfd>>24)
	if e := t.p.cpu.CopyOut(uintptr(a[0]), b[:]); e != 0 {
		t.p.fds.closeFD(rfd)
		t.p.fds.closeFD(wfd)
		return errno(e)
	}
	return 0
}

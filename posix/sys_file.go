package posix

import "github.com/runikraft/runikraft/kernel/abi/linux"

// Descriptor calls: close, dup, fcntl, ioctl, fstat. Reading and writing
// are in sys_read_write.go, paths in sys_fs.go.

// fd is descriptor a's open file. Straight to fdTable.get, whose
// entry has a nil file with EBADF: small enough to be inlined, so that
// every call taking a descriptor makes one call for it, not two.
func (t *Thread) fd(a uint64) (*openFile, Errno) {
	e, err := t.p.fds.get(int(int32(a)))
	return e.of, err
}

// sysClose implements close(2).
func sysClose(t *Thread, a *[6]uint64) int64 { return errno(t.p.fds.closeFD(int(int32(a[0])))) }

// sysIoctl implements ioctl(2): the generic requests here, the rest by
// the file (File.Ioctl).
func sysIoctl(t *Thread, a *[6]uint64) int64 {
	fd := int(int32(a[0]))
	ent, e := t.p.fds.get(fd)
	if e != 0 {
		return errno(e)
	}
	switch a[1] {
	case linux.FIONBIO:
		v, e := t.get32(uintptr(a[2]))
		if e != 0 {
			return errno(e)
		}
		ent.of.mu.Lock()
		flags := ent.of.flags &^ linux.O_NONBLOCK
		ent.of.mu.Unlock()
		if v != 0 {
			flags |= linux.O_NONBLOCK
		}
		ent.of.setFlags(flags)
		return 0
	case linux.FIOCLEX, linux.FIONCLEX:
		return errno(t.p.fds.setCloexec(fd, a[1] == linux.FIOCLEX))
	}
	r, e := ent.of.f.Ioctl(t, a[1], uintptr(a[2]))
	if e != 0 {
		return errno(e)
	}
	return r
}

// sysFcntl implements fcntl(2).
func sysFcntl(t *Thread, a *[6]uint64) int64 {
	fd := int(int32(a[0]))
	ent, e := t.p.fds.get(fd)
	if e != 0 {
		return errno(e)
	}
	switch a[1] {
	case linux.F_DUPFD, linux.F_DUPFD_CLOEXEC:
		// The minimum is an int: negative or past the table is EINVAL.
		n, e := t.p.fds.install(ent.of, int(int32(a[2])), a[1] == linux.F_DUPFD_CLOEXEC)
		if e != 0 {
			return errno(e)
		}
		return int64(n)
	case linux.F_GETFD:
		if ent.cloexec { // as get found it, under the table's lock
			return linux.FD_CLOEXEC
		}
		return 0
	case linux.F_SETFD:
		return errno(t.p.fds.setCloexec(fd, a[2]&linux.FD_CLOEXEC != 0))
	case linux.F_GETFL:
		ent.of.mu.Lock()
		flags := ent.of.flags
		ent.of.mu.Unlock()
		return int64(flags)
	case linux.F_SETFL:
		ent.of.setFlags(uint32(a[2]))
		return 0
	case linux.F_GETLK, linux.F_SETLK, linux.F_SETLKW:
		if lk, ok := fileLocker(ent.of.f); ok {
			return errno(t.fcntlLock(ent.of.f, lk, a[1], uintptr(a[2])))
		}
		if a[1] == linux.F_GETLK {
			return errno(t.getlkUnlocked(uintptr(a[2])))
		}
		return 0 // advisory locks: one process, nothing to lock against
	case linux.F_OFD_GETLK:
		return errno(t.getlkUnlocked(uintptr(a[2])))
	case linux.F_OFD_SETLK, linux.F_OFD_SETLKW:
		return 0
	}
	return errno(linux.EINVAL)
}

// sysDup implements dup(2).
func sysDup(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	n, e := t.p.fds.install(of, 0, false)
	if e != 0 {
		return errno(e)
	}
	return int64(n)
}

// sysDup3 implements dup3(2).
func sysDup3(t *Thread, a *[6]uint64) int64 {
	oldfd, newfd := int(int32(a[0])), int(int32(a[1]))
	if oldfd == newfd || a[2]&^linux.O_CLOEXEC != 0 {
		return errno(linux.EINVAL)
	}
	if e := t.p.fds.dupTo(oldfd, newfd, a[2]&linux.O_CLOEXEC != 0); e != 0 {
		return errno(e)
	}
	return int64(newfd)
}

// sysFstat implements fstat(2).
func sysFstat(t *Thread, a *[6]uint64) int64 {
	of, e := t.fd(a[0])
	if e != 0 {
		return errno(e)
	}
	return errno(t.putStat(uintptr(a[1]), of.f.Stat()))
}

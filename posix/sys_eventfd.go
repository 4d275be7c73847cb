package posix

import "github.com/runikraft/runikraft/kernel/abi/linux"

// sysEventfd2 implements eventfd2(2).
func sysEventfd2(t *Thread, a *[6]uint64) int64 {
	flags := a[1]
	if flags&^uint64(linux.EFD_SEMAPHORE|linux.EFD_NONBLOCK|linux.EFD_CLOEXEC) != 0 {
		return errno(linux.EINVAL)
	}
	f := &eventfd{count: uint64(uint32(a[0])), semaphore: flags&linux.EFD_SEMAPHORE != 0}
	fd, e := t.p.fds.install(newOpenFile(f, linux.O_RDWR|uint32(flags)&linux.O_NONBLOCK), 0, flags&linux.EFD_CLOEXEC != 0)
	if e != 0 {
		return errno(e)
	}
	return int64(fd)
}

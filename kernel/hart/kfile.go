//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/reg"
)

// The few file descriptors the kernel's runtime opens: the netpoller's
// epoll instance and its eventfd. With them the runtime sleeps in
// epoll_pwait until its next timer or until another thread wakes it.
// Trap context: see trap.go.

const (
	maxKFiles = 16
	firstKFD  = 3 // 0-2 are the console
	maxWatch  = 8

	epollIn     = 0x1
	epollCtlAdd = 1
	epollCtlDel = 2
	epollCtlMod = 3
)

// Kinds of kernel file.
const (
	kNone = iota
	kEventfd
	kEpoll
)

type watch struct {
	fd     int64
	events uint32
	data   uint64
}

type kfile struct {
	kind   uint8
	count  uint64 // eventfd counter
	watch  [maxWatch]watch
	nwatch int
}

var kfiles [maxKFiles]kfile

//go:nosplit
func kfileAt(fd int64) *kfile {
	i := fd - firstKFD
	if i < 0 || i >= maxKFiles || kfiles[i].kind == kNone {
		return nil
	}
	return &kfiles[i]
}

//go:nosplit
func newKFile(kind uint8) int64 {
	for i := range kfiles {
		if kfiles[i].kind == kNone {
			kfiles[i] = kfile{kind: kind}
			return int64(i) + firstKFD
		}
	}
	return -int64(linux.EMFILE)
}

//go:nosplit
func kclose(fd int64) int64 {
	if fd >= 0 && fd <= 2 {
		return 0
	}
	k := kfileAt(fd)
	if k == nil {
		return -int64(linux.EBADF)
	}
	k.kind = kNone
	return 0
}

//go:nosplit
func eventfd(initval uint64) int64 {
	fd := newKFile(kEventfd)
	if k := kfileAt(fd); k != nil {
		k.count = initval
	}
	return fd
}

//go:nosplit
func epollCreate() int64 { return newKFile(kEpoll) }

//go:nosplit
func epollCtl(epfd int64, op uint64, fd int64, ev uintptr) int64 {
	ep := kfileAt(epfd)
	if ep == nil || ep.kind != kEpoll {
		return -int64(linux.EBADF)
	}
	if kfileAt(fd) == nil && (fd < 0 || fd > 2) {
		return -int64(linux.EBADF)
	}
	var events uint32
	var data uint64
	if op != epollCtlDel {
		if !backed(ev, 16, false) {
			return -int64(linux.EFAULT)
		}
		events = uint32(get64(ev))
		data = get64(ev + 8)
	}
	for j := 0; j < ep.nwatch && j < maxWatch; j++ {
		if ep.watch[j].fd != fd {
			continue
		}
		switch op {
		case epollCtlAdd:
			return -int64(linux.EEXIST)
		case epollCtlMod:
			ep.watch[j].events, ep.watch[j].data = events, data
		default:
			ep.nwatch--
			ep.watch[j] = ep.watch[uint(ep.nwatch)%maxWatch]
		}
		return 0
	}
	if op != epollCtlAdd {
		return -int64(linux.ENOENT)
	}
	n := ep.nwatch
	if n < 0 || n >= maxWatch {
		return -int64(linux.ENOMEM)
	}
	ep.watch[n] = watch{fd, events, data}
	ep.nwatch = n + 1
	return 0
}

// epollWait reports ready eventfds. It reports false when the thread
// blocked; a wake-up runs the call again (the pc stays on it).
//
//go:nosplit
func epollWait(t *thread, epfd int64, events uintptr, max int64, timeoutMS int64) bool {
	ep := kfileAt(epfd)
	if ep == nil || ep.kind != kEpoll {
		t.fr.x[abi.RegA0] = neg(int64(linux.EBADF))
		return true
	}
	if max <= 0 || !backed(events, uintptr(max)*16, true) {
		t.fr.x[abi.RegA0] = neg(int64(linux.EINVAL))
		return true
	}
	n := int64(0)
	for j := 0; j < ep.nwatch && j < maxWatch && n < max; j++ {
		w := ep.watch[j]
		if k := kfileAt(w.fd); k != nil && k.kind == kEventfd && k.count > 0 && w.events&epollIn != 0 {
			put64(events+uintptr(n)*16, epollIn)
			put64(events+uintptr(n)*16+8, w.data)
			n++
		}
	}
	if n > 0 || timeoutMS == 0 {
		t.fr.x[abi.RegA0] = uint64(n)
		return true
	}
	var deadline uint64
	if timeoutMS > 0 {
		deadline = reg.ReadTime() + nsToTicks(timeoutMS*1_000_000) + 1
	}
	block(t, wEpoll, uintptr(epfd), deadline)
	return false
}

// wakeEpoll restarts every thread waiting in epoll_pwait so it re-checks.
//
//go:nosplit
func wakeEpoll() {
	for j := int32(0); j < nthreads && j < maxThreads; j++ {
		if threads[j].state == tBlocked && threads[j].wait == wEpoll {
			wake(j)
		}
	}
}

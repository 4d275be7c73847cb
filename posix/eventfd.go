package posix

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// eventfd is a counter that is readable while non-zero.
type eventfd struct {
	fileDefaults
	mu        sync.Mutex
	count     uint64
	semaphore bool
	wq        waitQueue
}

func (e *eventfd) Ready() uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := uint32(linux.POLLOUT)
	if e.count > 0 {
		r |= linux.POLLIN
	}
	return r
}

func (e *eventfd) waitQueue() *waitQueue { return &e.wq }
func (e *eventfd) Stat() fs.Stat         { return anonStat(0o600) }
func (e *eventfd) Name(*Process) string  { return "anon_inode:[eventfd]" }

func (e *eventfd) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	if len(p) < 8 {
		return 0, linux.EINVAL
	}
	timeout := time.Duration(-1)
	if nonblock {
		timeout = 0
	}
	ok, err := t.waitReady([]pollable{e}, timeout, func() bool { return e.Ready()&linux.POLLIN != 0 })
	if err != 0 {
		return 0, err
	}
	if !ok {
		return 0, linux.EAGAIN
	}
	e.mu.Lock()
	v := e.count
	if e.semaphore {
		v = 1
	}
	e.count -= v
	e.mu.Unlock()
	binary.LittleEndian.PutUint64(p, v)
	e.wq.notify()
	return 8, 0
}

func (e *eventfd) Write(_ *Thread, p []byte, _ bool) (int, Errno) {
	if len(p) < 8 {
		return 0, linux.EINVAL
	}
	v := binary.LittleEndian.Uint64(p)
	if v == ^uint64(0) {
		return 0, linux.EINVAL
	}
	e.mu.Lock()
	if e.count+v < e.count || e.count+v == ^uint64(0) {
		e.mu.Unlock()
		return 0, linux.EAGAIN
	}
	e.count += v
	e.mu.Unlock()
	e.wq.notify()
	return 8, 0
}

package posix

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

// timerfd is a timer read as a file: readable while it has expired at
// least once since the last read, which returns the count.
type timerfd struct {
	fileDefaults
	clock uint64
	k     ktimer
	mu    sync.Mutex
	ticks uint64
	wq    waitQueue
}

func newTimerfd(clock uint64) *timerfd {
	f := &timerfd{clock: clock}
	f.k.fire = func(n uint64) {
		f.mu.Lock()
		f.ticks += n
		f.mu.Unlock()
		f.wq.notify()
	}
	return f
}

// set arms the timer (see ktimer.arm); a new setting drops the count.
func (f *timerfd) set(value, interval time.Duration) (time.Duration, time.Duration) {
	f.mu.Lock()
	f.ticks = 0
	f.mu.Unlock()
	return f.k.arm(value, interval)
}

func (f *timerfd) Ready() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ticks > 0 {
		return linux.POLLIN
	}
	return 0
}

func (f *timerfd) waitQueue() *waitQueue { return &f.wq }
func (f *timerfd) Stat() fs.Stat         { return anonStat(0o600) }
func (f *timerfd) Name(*Process) string  { return "anon_inode:[timerfd]" }
func (f *timerfd) Close() Errno          { f.k.stop(); return 0 }

func (f *timerfd) Read(t *Thread, p []byte, nonblock bool) (int, Errno) {
	if len(p) < 8 {
		return 0, linux.EINVAL
	}
	timeout := time.Duration(-1)
	if nonblock {
		timeout = 0
	}
	ok, err := t.waitReady([]pollable{f}, timeout, func() bool { return f.Ready()&linux.POLLIN != 0 })
	if err != 0 {
		return 0, err
	}
	if !ok {
		return 0, linux.EAGAIN
	}
	f.mu.Lock()
	n := f.ticks
	f.ticks = 0
	f.mu.Unlock()
	if n == 0 { // another reader took it between the check and here
		return 0, linux.EAGAIN
	}
	binary.LittleEndian.PutUint64(p, n)
	return 8, 0
}

func (f *timerfd) Ioctl(t *Thread, req uint64, arg uintptr) (int64, Errno) {
	return 0, linux.ENOTTY
}

package console

import (
	"errors"
	"fmt"
	"sync"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// fakeQueue is a virtqueue for tests: posted requests wait in avail
// until the device side takes them; completed ones wait in used until
// Poll (the "interrupt") hands them over.
type fakeQueue struct {
	size    int
	deliver sync.Mutex
	mu      sync.Mutex
	avail   []fakeReq
	used    []fakeDone
	broken  error
	notify  func() // the device's reaction to a notification; nil: none
}

type fakeReq struct {
	bufs []virtio.Buf
	done func(uint32, error)
}

type fakeDone struct {
	done func(uint32, error)
	n    uint32
	err  error
}

func newFakeQueue(size int) *fakeQueue { return &fakeQueue{size: size} }

func (q *fakeQueue) Post(done func(uint32, error), bufs ...virtio.Buf) error {
	q.mu.Lock()
	if q.broken != nil {
		q.mu.Unlock()
		return q.broken
	}
	if len(q.avail)+len(q.used) >= q.size {
		q.mu.Unlock()
		return virtio.ErrQueueFull
	}
	q.avail = append(q.avail, fakeReq{bufs, done})
	notify := q.notify
	q.mu.Unlock()
	if notify != nil {
		notify()
	}
	return nil
}

func (q *fakeQueue) Poll() int {
	q.deliver.Lock()
	defer q.deliver.Unlock()
	q.mu.Lock()
	used := q.used
	q.used = nil
	q.mu.Unlock()
	for _, u := range used {
		u.done(u.n, u.err)
	}
	return len(used)
}

// take removes the oldest available request (device side).
func (q *fakeQueue) take() (fakeReq, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.avail) == 0 {
		return fakeReq{}, false
	}
	r := q.avail[0]
	q.avail = q.avail[1:]
	return r, true
}

func (q *fakeQueue) complete(r fakeReq, n uint32) {
	q.mu.Lock()
	q.used = append(q.used, fakeDone{r.done, n, nil})
	q.mu.Unlock()
}

// fail breaks the queue: requests in flight fail (on the next Poll).
func (q *fakeQueue) fail(err error) {
	q.mu.Lock()
	q.broken = err
	for _, r := range q.avail {
		q.used = append(q.used, fakeDone{r.done, 0, err})
	}
	q.avail = nil
	q.mu.Unlock()
}

func (q *fakeQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.avail)
}

// memory hands out fake DMA buffers and finds them by device address.
type memory struct {
	mu   sync.Mutex
	next uintptr
	bufs map[uintptr][]byte
	fail bool
}

func newMemory() *memory { return &memory{next: 0x8000_0000, bufs: map[uintptr][]byte{}} }

func (m *memory) alloc(pages int) (dmaBuf, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return dmaBuf{}, errors.New("out of DMA memory")
	}
	b := dmaBuf{mem: make([]byte, pages*virtio.PageSize), addr: m.next}
	m.bufs[b.addr] = b.mem
	m.next += uintptr(pages * virtio.PageSize)
	return b, nil
}

// at returns the memory of buffer b.
func (m *memory) at(b virtio.Buf) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	for base, mem := range m.bufs {
		if b.Addr >= base && b.Addr+uintptr(b.Len) <= base+uintptr(len(mem)) {
			return mem[b.Addr-base : b.Addr-base+uintptr(b.Len)]
		}
	}
	panic(fmt.Sprintf("no memory at %#x", b.Addr))
}

// fill writes data into the oldest receive buffers of q, as QEMU's
// virtio-serial does: as many buffers as it takes, each filled as far as
// it goes. It returns how much did not fit.
func (m *memory) fill(q *fakeQueue, data []byte) []byte {
	for len(data) > 0 {
		r, ok := q.take()
		if !ok {
			break
		}
		n := copy(m.at(r.bufs[0]), data)
		data = data[n:]
		q.complete(r, uint32(n))
	}
	return data
}

// drain takes every transmit request of q and returns the bytes.
func (m *memory) drain(q *fakeQueue) []byte {
	var out []byte
	for {
		r, ok := q.take()
		if !ok {
			return out
		}
		for _, b := range r.bufs {
			out = append(out, m.at(b)...)
		}
		q.complete(r, 0)
	}
}

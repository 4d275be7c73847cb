package rng

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// fakeQueue plays the device: it writes into the bounce buffer, up to
// limit bytes per request, counting up from next.
type fakeQueue struct {
	mu     sync.Mutex
	bounce []byte
	addr   uintptr
	limit  int
	next   byte
	calls  int
	failAt int // request number that fails; 0 = never
}

func (f *fakeQueue) Do(bufs ...virtio.Buf) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == f.failAt {
		return 0, errors.New("device gone")
	}
	if len(bufs) != 1 || !bufs[0].DeviceWrites || bufs[0].Addr != f.addr || int(bufs[0].Len) > len(f.bounce) {
		return 0, errors.New("bad request")
	}
	n := min(int(bufs[0].Len), f.limit)
	for i := range n {
		f.bounce[i] = f.next
		f.next++
	}
	return uint32(n), nil
}

func newFake(page, limit int) (*driver, *fakeQueue) {
	f := &fakeQueue{bounce: make([]byte, page), addr: 0x8100_0000, limit: limit}
	return &driver{q: f, bounce: f.bounce, addr: f.addr}, f
}

func counting(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestReadChunks(t *testing.T) {
	for _, tt := range []struct{ page, limit, n, calls int }{
		{4096, 4096, 64, 1},
		{4096, 4096, 4096, 1},
		{4096, 4096, 10000, 3},
		{4096, 100, 1000, 10}, // short answers are asked again
		{16, 16, 1 << 20, 1 << 16},
	} {
		d, f := newFake(tt.page, tt.limit)
		p := make([]byte, tt.n)
		n, err := d.read(p)
		if n != tt.n || err != nil {
			t.Errorf("%+v: read = %d, %v", tt, n, err)
		}
		if !bytes.Equal(p, counting(tt.n)) {
			t.Errorf("%+v: wrong bytes", tt)
		}
		if f.calls != tt.calls {
			t.Errorf("%+v: %d requests", tt, f.calls)
		}
		if !bytes.Equal(f.bounce, make([]byte, tt.page)) {
			t.Errorf("%+v: bounce buffer not cleared", tt)
		}
	}
}

func TestReadErrors(t *testing.T) {
	d, f := newFake(16, 16)
	f.failAt = 3
	n, err := d.read(make([]byte, 100))
	if n != 32 || err == nil || !strings.HasPrefix(err.Error(), "virtio-rng: ") {
		t.Errorf("read = %d, %v; want 32 and an error", n, err)
	}
	d, _ = newFake(16, 0)
	if n, err := d.read(make([]byte, 10)); n != 0 || err == nil {
		t.Errorf("device that returns nothing: %d, %v", n, err)
	}
}

func TestReadConcurrent(t *testing.T) {
	d, f := newFake(64, 64)
	var wg sync.WaitGroup
	out := make([][]byte, 8)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = make([]byte, 1000)
			if n, err := d.read(out[i]); n != 1000 || err != nil {
				t.Errorf("read = %d, %v", n, err)
			}
		}()
	}
	wg.Wait()
	// Every byte the device produced went to exactly one reader.
	var hist [256]int
	for _, b := range out {
		for _, c := range b {
			hist[c]++
		}
	}
	var want [256]int
	for _, c := range counting(8000) {
		want[c]++
	}
	if hist != want || f.calls != 8*16 {
		t.Errorf("bytes lost or duplicated; %d requests", f.calls)
	}
}

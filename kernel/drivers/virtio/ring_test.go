package virtio

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// queueMem returns zeroed, 8-byte-aligned memory for a ring of n.
func queueMem(n uint16) unsafe.Pointer {
	words := make([]uint64, layoutFor(n).size/8)
	return unsafe.Pointer(&words[0])
}

// dev is the device side of a ring, for tests: it reads what the driver
// published and writes completions, through the shared memory only.
type dev struct {
	r     *ring // for the memory views; the device never reads shadow state
	avail uint16
	used  uint16
}

// take returns the chains the driver published since the last call.
func (d *dev) take() [][]desc {
	idx := uint16(atomic.LoadUint32(d.r.availHdr) >> 16)
	var chains [][]desc
	for ; d.avail != idx; d.avail++ {
		head := d.r.availRing[d.avail%d.r.n]
		var c []desc
		for i := head; ; {
			c = append(c, d.r.desc[i])
			if d.r.desc[i].flags&descNext == 0 {
				break
			}
			i = d.r.desc[i].next
		}
		// Remember the head in an otherwise unused slot for complete.
		c[0].next = head
		chains = append(chains, c)
	}
	return chains
}

// complete puts head on the used ring with n bytes written.
func (d *dev) complete(head uint16, n uint32) {
	d.r.usedRing[d.used%d.r.n] = usedElem{id: uint32(head), len: n}
	d.used++
	atomic.StoreUint32(d.r.usedHdr, uint32(d.used)<<16)
}

func TestLayout(t *testing.T) {
	for _, tt := range []struct {
		n                 uint16
		avail, used, size uintptr
	}{
		{1, 16, 4096, 8192},
		{8, 128, 4096, 8192},
		{128, 2048, 4096, 8192},
		{256, 4096, 8192, 12288},
		{1024, 16384, 20480, 32768},
	} {
		l := layoutFor(tt.n)
		if l.avail != tt.avail || l.used != tt.used || l.size != tt.size {
			t.Errorf("layoutFor(%d) = %+v, want avail %d used %d size %d", tt.n, l, tt.avail, tt.used, tt.size)
		}
		// The used ring and its avail_event must fit.
		if l.used+6+8*uintptr(tt.n) > l.size || l.avail+6+2*uintptr(tt.n) > l.used {
			t.Errorf("layoutFor(%d) = %+v overlaps", tt.n, l)
		}
	}
	if unsafe.Sizeof(desc{}) != 16 || unsafe.Sizeof(usedElem{}) != 8 {
		t.Fatal("ring entry sizes differ from the spec")
	}
}

func TestValidSize(t *testing.T) {
	for n, want := range map[int]bool{0: false, 1: true, 2: true, 3: false, 8: true, 256: true, 32768: true, 65536: false, -8: false} {
		if validSize(n) != want {
			t.Errorf("validSize(%d) = %v", n, !want)
		}
	}
}

func TestChain(t *testing.T) {
	r := newRing(queueMem(8), 8)
	d := &dev{r: r}
	head, err := r.push([]Buf{{Addr: 0x1000, Len: 16}, {Addr: 0x2000, Len: 512, DeviceWrites: true}, {Addr: 0x3000, Len: 1, DeviceWrites: true}})
	if err != nil {
		t.Fatal(err)
	}
	if head != 0 || r.nfree != 5 {
		t.Fatalf("head %d, %d free", head, r.nfree)
	}
	chains := d.take()
	if len(chains) != 1 || len(chains[0]) != 3 {
		t.Fatalf("device saw %v", chains)
	}
	c := chains[0]
	want := []desc{
		{addr: 0x1000, len: 16, flags: descNext, next: 1},
		{addr: 0x2000, len: 512, flags: descNext | descWrite, next: 2},
		{addr: 0x3000, len: 1, flags: descWrite},
	}
	c[0].next = 1 // take put the head there
	for i := range want {
		if c[i] != want[i] {
			t.Errorf("descriptor %d = %+v, want %+v", i, c[i], want[i])
		}
	}
	if _, _, ok, _ := r.pop(); ok {
		t.Fatal("pop before completion")
	}
	d.complete(0, 1000) // more than the 513 writable bytes
	h, n, ok, err := r.pop()
	if err != nil || !ok || h != 0 || n != 513 {
		t.Fatalf("pop = %d, %d, %v, %v; want 0, 513 (capped), true", h, n, ok, err)
	}
	if r.nfree != 8 {
		t.Fatalf("%d free after completion", r.nfree)
	}
}

func TestFreeListReuse(t *testing.T) {
	r := newRing(queueMem(4), 4)
	d := &dev{r: r}
	a, _ := r.push([]Buf{{Addr: 1}, {Addr: 2}}) // 0,1
	b, _ := r.push([]Buf{{Addr: 3}})            // 2
	c, _ := r.push([]Buf{{Addr: 4}})            // 3
	if _, err := r.push([]Buf{{Addr: 5}}); err != errNoRoom {
		t.Fatalf("push into a full ring: %v", err)
	}
	d.take()
	// Complete out of order.
	d.complete(b, 0)
	d.complete(a, 0)
	for range 2 {
		if _, _, ok, err := r.pop(); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if r.nfree != 3 {
		t.Fatalf("%d free", r.nfree)
	}
	if _, err := r.push([]Buf{{Addr: 6}, {Addr: 7}, {Addr: 8}, {Addr: 9}}); err != errNoRoom {
		t.Fatalf("4 buffers with 3 free: %v", err)
	}
	h, err := r.push([]Buf{{Addr: 6}, {Addr: 7}, {Addr: 8}})
	if err != nil {
		t.Fatal(err)
	}
	chains := d.take()
	if len(chains) != 1 || len(chains[0]) != 3 {
		t.Fatalf("device saw %v", chains)
	}
	seen := map[uint16]bool{c: true}
	for i, x := h, 0; x < 3; x, i = x+1, r.next[i] {
		if seen[i] {
			t.Fatalf("descriptor %d used twice", i)
		}
		seen[i] = true
		if r.desc[i].addr != uint64(6+x) {
			t.Fatalf("descriptor %d holds %#x", i, r.desc[i].addr)
		}
	}
}

func TestIndexWrap(t *testing.T) {
	r := newRing(queueMem(4), 4)
	d := &dev{r: r}
	// Around the 16-bit indices twice, with up to 3 requests in flight.
	for i := 0; i < 3*65536; i++ {
		if _, err := r.push([]Buf{{Addr: uintptr(i), Len: 8, DeviceWrites: true}}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i%3 != 2 {
			continue
		}
		for _, c := range d.take() {
			d.complete(c[0].next, uint32(c[0].addr)%8)
		}
		for k := 0; k < 3; k++ {
			_, n, ok, err := r.pop()
			if !ok || err != nil || n != uint32(i-2+k)%8 {
				t.Fatalf("completion %d: %d, %v, %v", i-2+k, n, ok, err)
			}
		}
		if _, _, ok, _ := r.pop(); ok {
			t.Fatal("extra completion")
		}
	}
	if r.avail != 0 || r.used != r.avail || r.nfree != 4 {
		t.Fatalf("avail %d used %d free %d", r.avail, r.used, r.nfree)
	}
}

func TestPushErrors(t *testing.T) {
	r := newRing(queueMem(2), 2)
	for _, bufs := range [][]Buf{
		nil,
		{{}, {}, {}},
		{{DeviceWrites: true}, {}},
		{{Len: 1 << 31, DeviceWrites: true}, {Len: 1 << 31, DeviceWrites: true}},
	} {
		if _, err := r.push(bufs); err == nil || err == errNoRoom {
			t.Errorf("push(%v) = %v", bufs, err)
		}
	}
	if r.nfree != 2 || r.avail != 0 {
		t.Fatal("a failed push changed the ring")
	}
}

func TestDeviceErrors(t *testing.T) {
	t.Run("unknown head", func(t *testing.T) {
		r := newRing(queueMem(4), 4)
		d := &dev{r: r}
		r.push([]Buf{{}})
		d.take()
		d.complete(3, 0)
		if _, _, _, err := r.pop(); err == nil || !strings.Contains(err.Error(), "not the head") {
			t.Fatal(err)
		}
	})
	t.Run("head out of range", func(t *testing.T) {
		r := newRing(queueMem(4), 4)
		d := &dev{r: r}
		r.push([]Buf{{}})
		d.complete(9, 0)
		if _, _, _, err := r.pop(); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("index runs ahead", func(t *testing.T) {
		r := newRing(queueMem(4), 4)
		r.push([]Buf{{}})
		atomic.StoreUint32(r.usedHdr, 2<<16)
		if _, _, _, err := r.pop(); err == nil || !strings.Contains(err.Error(), "ahead") {
			t.Fatal(err)
		}
	})
	t.Run("completed twice", func(t *testing.T) {
		r := newRing(queueMem(4), 4)
		d := &dev{r: r}
		r.push([]Buf{{}})
		r.push([]Buf{{}})
		d.complete(0, 0)
		d.complete(0, 0)
		if _, _, ok, err := r.pop(); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, _, _, err := r.pop(); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestNegotiate(t *testing.T) {
	const v1 = 1 << FeatureVersion1
	for _, tt := range []struct {
		version       uint32
		offered, want uint64
		accept        uint64
		errSub        string
	}{
		{1, 0xffffffff, 0, 0, ""},
		{1, 0b1011, 0b0110, 0b0010, ""},
		// Transport bits are never taken on a driver's say-so.
		{1, 1<<FeatureEventIdx | 1<<FeatureIndirectDesc | 1, 1<<FeatureEventIdx | 1<<FeatureIndirectDesc | 1, 1, ""},
		{2, v1 | 0b11, 0b1, v1 | 0b1, ""},
		{2, v1 | 1<<34 | 1<<33, 1<<34 | 1<<33, v1, ""},
		{2, 0b11, 0b1, 0, "VERSION_1"},
		{3, v1, 0, 0, "version 3"},
	} {
		got, err := negotiate(tt.version, tt.offered, tt.want)
		if tt.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Errorf("negotiate(%d, %#x, %#x) error %v, want %q", tt.version, tt.offered, tt.want, err, tt.errSub)
			}
			continue
		}
		if err != nil || got != tt.accept {
			t.Errorf("negotiate(%d, %#x, %#x) = %#x, %v; want %#x", tt.version, tt.offered, tt.want, got, err, tt.accept)
		}
	}
}

func TestDeviceString(t *testing.T) {
	d := &Device{Slot: 7, Base: 0x10008000, IRQ: 8, ID: IDEntropy, Version: 1}
	if got, want := d.String(), "virtio-mmio slot 7 irq 8: rng (device 4, legacy, registers at 0x10008000)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	d = &Device{Base: 0x10001000, IRQ: 1, ID: 42, Version: 2}
	if got, want := d.String(), "virtio-mmio slot 0 irq 1: device-42 (device 42, modern, registers at 0x10001000)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// fakeDevice serves a Queue like a virtio-rng device would: each
// notification makes it fill the writable buffers and interrupt.
func fakeDevice(q *Queue, notes <-chan struct{}, mem map[uintptr]byte, memMu *sync.Mutex) {
	d := &dev{r: q.r}
	for range notes {
		for _, c := range d.take() {
			var n uint32
			for _, x := range c {
				if x.flags&descWrite != 0 {
					memMu.Lock()
					mem[uintptr(x.addr)] = byte(x.addr >> 8)
					memMu.Unlock()
					n += x.len
				}
			}
			d.complete(c[0].next, n)
		}
		q.collect(0, false) // the interrupt
	}
}

func TestQueueConcurrent(t *testing.T) {
	notes := make(chan struct{}, 1)
	q := newQueue(0, queueMem(4), 4, func() {
		select {
		case notes <- struct{}{}:
		default: // a notification is pending already
		}
	})
	mem := map[uintptr]byte{}
	var memMu sync.Mutex
	go fakeDevice(q, notes, mem, &memMu)
	defer close(notes)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				// Chains of 1 to 3 buffers contend for 4 descriptors.
				addr := uintptr(g<<20 | i<<8)
				bufs := []Buf{{Addr: addr + 1, Len: 4}, {Addr: addr, Len: uint32(i%7 + 1), DeviceWrites: true}}[:1+i%2]
				if i%3 == 0 {
					bufs = []Buf{{Addr: addr, Len: 2, DeviceWrites: true}, {Addr: addr + 2, Len: 3, DeviceWrites: true}, {Addr: addr + 3, Len: 5, DeviceWrites: true}}
				}
				want := uint32(0)
				for _, b := range bufs {
					if b.DeviceWrites {
						want += b.Len
					}
				}
				n, err := q.Do(bufs...)
				if err != nil || n != want {
					errs <- errors.Join(err, errors.New("wrong length"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if q.r.nfree != 4 {
		t.Fatalf("%d descriptors free at the end", q.r.nfree)
	}
}

func TestQueueFail(t *testing.T) {
	q := newQueue(3, queueMem(2), 2, func() {})
	res := make(chan error, 3)
	for range 3 { // the third waits for room
		go func() {
			_, err := q.Do(Buf{Len: 1, DeviceWrites: true})
			res <- err
		}()
	}
	for {
		q.mu.Lock()
		full := q.r.nfree == 0
		q.mu.Unlock()
		if full {
			break
		}
	}
	q.fail(errors.New("irq lost"))
	for range 3 {
		err := <-res
		if !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "queue 3: irq lost") {
			t.Fatalf("Do after fail: %v", err)
		}
	}
	if _, err := q.Do(Buf{Len: 1}); !errors.Is(err, ErrBroken) {
		t.Fatalf("Do on a broken queue: %v", err)
	}
}

func TestQueueBadCompletion(t *testing.T) {
	q := newQueue(0, queueMem(2), 2, nil)
	q.notify = func() {
		d := &dev{r: q.r}
		d.take()
		d.complete(1, 0) // not the head we were given
		q.collect(0, false)
	}
	if _, err := q.Do(Buf{Len: 1}); !errors.Is(err, ErrBroken) {
		t.Fatalf("Do = %v, want ErrBroken", err)
	}
}

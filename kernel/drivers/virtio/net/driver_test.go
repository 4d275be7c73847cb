package net

import (
	"bytes"
	"errors"
	"testing"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// fakeQueue records posted requests; the test completes them.
type fakeQueue struct {
	posted    []fakeReq
	broken    error
	intr      bool // interrupts asked for
	batchDone func()
	polled    int
	// onPoll, if set, plays the device completing requests when polled.
	onPoll func()
}

func (q *fakeQueue) TryPoll() int {
	q.polled++
	if q.onPoll != nil {
		q.onPoll()
	}
	return 0
}

func (q *fakeQueue) SetInterrupts(on bool)  { q.intr = on }
func (q *fakeQueue) SetBatchDone(fn func()) { q.batchDone = fn }

type fakeReq struct {
	done func(uint32, error)
	bufs []virtio.Buf
}

func (q *fakeQueue) Post(done func(uint32, error), bufs ...virtio.Buf) error {
	if q.broken != nil {
		return q.broken
	}
	q.posted = append(q.posted, fakeReq{done, bufs})
	return nil
}

// take removes and returns the oldest posted request.
func (q *fakeQueue) take(t *testing.T) fakeReq {
	t.Helper()
	if len(q.posted) == 0 {
		t.Fatal("nothing posted")
	}
	r := q.posted[0]
	q.posted = q.posted[1:]
	return r
}

// slots makes n slots of Go memory, with made-up device addresses.
func slots(n int, base uintptr) []dmaBuf {
	s := make([]dmaBuf, n)
	for i := range s {
		s[i] = dmaBuf{mem: make([]byte, slotSize), addr: base + uintptr(i*slotSize)}
	}
	return s
}

func testDriver(split bool, hdrLen int, features uint64) (*Driver, *fakeQueue, *fakeQueue, []dmaBuf) {
	rxq, txq := &fakeQueue{}, &fakeQueue{}
	rx := slots(4, 0x10000)
	d := newDriver("test", [6]byte{2, 0, 0, 0, 0, 1}, features, hdrLen, split, rxq, txq, rx, slots(2, 0x20000), func(string, ...any) {})
	return d, rxq, txq, rx
}

func TestReceive(t *testing.T) {
	d, rxq, _, rx := testDriver(true, hdrLenModern, 1<<FeatureMrgRxbuf)
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if len(rxq.posted) != 4 {
		t.Fatalf("%d receive buffers posted, want 4", len(rxq.posted))
	}
	// Split layout: the header in a descriptor of its own, device-writable.
	b := rxq.posted[0].bufs
	if len(b) != 2 || b[0].Len != hdrLenModern || b[1].Len != slotSize-hdrLenModern || !b[0].DeviceWrites || b[1].Addr != rx[0].addr+hdrLenModern {
		t.Fatalf("receive descriptors %+v", b)
	}
	var got [][]byte
	d.Attach(func(f []byte, _ bool) { got = append(got, append([]byte(nil), f...)) }, nil)
	frame := bytes.Repeat([]byte{0xab}, 60)
	r := rxq.take(t)
	copy(rx[0].mem, hdr(hdrLenModern, header{numBuffers: 1}))
	copy(rx[0].mem[hdrLenModern:], frame)
	r.done(uint32(hdrLenModern+len(frame)), nil)
	// A runt: counted as an error, and the buffer still goes back.
	r = rxq.take(t)
	r.done(3, nil)
	if len(got) != 1 || !bytes.Equal(got[0], frame) {
		t.Fatalf("received %q", got)
	}
	// The queue's batch ends reach the batch-end function.
	ends := 0
	rxq.batchDone()
	d.AttachBatchEnd(func() { ends++ })
	rxq.batchDone()
	if ends != 1 {
		t.Errorf("batch end ran %d times, want 1", ends)
	}
	if s := d.Stats(); s.RxFrames != 1 || s.RxErrors != 1 {
		t.Errorf("stats %+v", s)
	}
	if len(rxq.posted) != 4 {
		t.Errorf("%d receive buffers posted after two completions, want 4 again", len(rxq.posted))
	}
	// A broken queue is sticky.
	rxq.take(t).done(0, virtio.ErrBroken)
	if err := d.Err(); !errors.Is(err, virtio.ErrBroken) {
		t.Errorf("Err after a broken receive queue: %v", err)
	}
}

func TestTransmit(t *testing.T) {
	d, _, txq, _ := testDriver(false, hdrLenLegacy, 0)
	rooms := 0
	d.Attach(nil, func() { rooms++ })
	if err := d.Transmit([]byte("0123456789abcd"), []byte("payload")); err != nil {
		t.Fatal(err)
	}
	if err := d.Transmit(make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if err := d.Transmit(make([]byte, 60)); !errors.Is(err, ErrBusy) {
		t.Fatalf("third frame with two slots: %v, want ErrBusy", err)
	}
	for _, n := range []int{0, maxFrame + 1} {
		if err := d.Transmit(make([]byte, n)); !errors.Is(err, ErrFrameSize) {
			t.Errorf("%d-byte frame: %v, want ErrFrameSize", n, err)
		}
	}
	r := txq.take(t)
	if len(r.bufs) != 1 || r.bufs[0].Len != hdrLenLegacy+21 || r.bufs[0].DeviceWrites {
		t.Fatalf("transmit descriptors %+v", r.bufs)
	}
	r.done(0, nil)
	if rooms != 1 {
		t.Errorf("room called %d times after a slot freed, want 1", rooms)
	}
	if err := d.Transmit(make([]byte, 60)); err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
	txq.broken = virtio.ErrBroken
	txq.take(t).done(0, nil)
	if err := d.Transmit(make([]byte, 60)); !errors.Is(err, virtio.ErrBroken) {
		t.Errorf("post on a broken queue: %v", err)
	}
	if err := d.Transmit(make([]byte, 60)); !errors.Is(err, virtio.ErrBroken) {
		t.Errorf("after a broken queue: %v", err)
	}
	if s := d.Stats(); s.TxFrames != 3 || s.TxErrors != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Transmit completions interrupt only once Transmit ran out of slots:
// then it asks for interrupts and polls, takes a slot the device
// finished meanwhile without the room call (its caller holds the lock
// the room function takes), and turns interrupts off again once most
// slots are free.
func TestTransmitReclaims(t *testing.T) {
	d, _, txq, _ := testDriver(false, hdrLenLegacy, 0)
	rooms := 0
	d.Attach(nil, func() { rooms++ })
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if txq.intr {
		t.Fatal("transmit interrupts asked for at start")
	}
	for range 2 {
		if err := d.Transmit(make([]byte, 60)); err != nil {
			t.Fatal(err)
		}
	}
	// Full, nothing done: ErrBusy, with interrupts now asked for.
	if err := d.Transmit(make([]byte, 60)); !errors.Is(err, ErrBusy) {
		t.Fatalf("full queue: %v", err)
	}
	if !txq.intr || txq.polled != 1 {
		t.Fatalf("after ErrBusy: interrupts %v, polled %d", txq.intr, txq.polled)
	}
	// The device finished one, seen by the poll.
	txq.onPoll = func() { txq.take(t).done(0, nil) }
	if err := d.Transmit(make([]byte, 60)); err != nil {
		t.Fatalf("with a completion to reclaim: %v", err)
	}
	if rooms != 0 {
		t.Errorf("room called %d times from inside Transmit", rooms)
	}
	txq.onPoll = nil
	// Both done by interrupt: room calls; the next Transmit finds most
	// slots free and turns interrupts off.
	txq.take(t).done(0, nil)
	txq.take(t).done(0, nil)
	if rooms != 2 {
		t.Errorf("room called %d times for two interrupt completions", rooms)
	}
	if err := d.Transmit(make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if txq.intr {
		t.Error("transmit interrupts still asked for with the queue drained")
	}
}

// With header and frame in one descriptor, a received frame starts at
// frameOff of its slot (8-aligned), and a transmitted frame's longest
// part lands at the address it has mod 8, after a zeroed header.
func TestFrameAlignment(t *testing.T) {
	d, rxq, txq, rx := testDriver(false, hdrLenModern, 0)
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	b := rxq.posted[0].bufs
	if len(b) != 1 || b[0].Addr != rx[0].addr+frameOff-hdrLenModern || b[0].Len != slotSize-(frameOff-hdrLenModern) {
		t.Fatalf("receive descriptor %+v, slot at %#x", b, rx[0].addr)
	}
	var got []byte
	d.Attach(func(f []byte, _ bool) { got = append([]byte(nil), f...) }, nil)
	frame := bytes.Repeat([]byte{0xcd}, 70)
	lead := frameOff - hdrLenModern
	copy(rx[0].mem[lead:], hdr(hdrLenModern, header{numBuffers: 1}))
	copy(rx[0].mem[frameOff:], frame)
	rxq.take(t).done(uint32(hdrLenModern+len(frame)), nil)
	if !bytes.Equal(got, frame) {
		t.Fatalf("received %x", got)
	}

	big := make([]byte, 1000+3)[3:] // a payload at 3 mod 8 of its allocation
	for i := range big {
		big[i] = byte(i)
	}
	head := bytes.Repeat([]byte{0xee}, 54)
	for k := range d.tx {
		for i := range d.tx[k].mem { // a dirty slot: the header must be zeroed
			d.tx[k].mem[i] = 0xff
		}
	}
	if err := d.Transmit(head, big); err != nil {
		t.Fatal(err)
	}
	r := txq.take(t)
	if len(r.bufs) != 1 || r.bufs[0].Len != uint32(hdrLenModern+len(head)+len(big)) {
		t.Fatalf("transmit descriptors %+v", r.bufs)
	}
	slot := d.tx[len(d.tx)-1]
	start := int(r.bufs[0].Addr-slot.addr) + hdrLenModern
	if start < frameOff || start >= frameOff+8 {
		t.Fatalf("frame at %d of its slot, want %d-%d", start, frameOff, frameOff+7)
	}
	src := uintptr(unsafe.Pointer(&big[0]))
	dst := uintptr(unsafe.Pointer(&slot.mem[start+len(head)]))
	if src%8 != dst%8 {
		t.Errorf("payload copied from %d mod 8 to %d mod 8", src%8, dst%8)
	}
	if !bytes.Equal(slot.mem[start-hdrLenModern:start], make([]byte, hdrLenModern)) ||
		!bytes.Equal(slot.mem[start:start+len(head)], head) || !bytes.Equal(slot.mem[start+len(head):start+len(head)+len(big)], big) {
		t.Error("slot does not hold a zero header, then the frame")
	}
}

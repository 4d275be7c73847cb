// Package ninep is the virtio-9p transport (virtio 1.1 §5.11 is silent on
// it; QEMU's virtio-9p-device and Linux's net/9p/trans_virtio.c define
// it): one virtqueue, each request a chain of one device-readable buffer
// holding a 9P T-message and one device-writable buffer that receives
// the R-message. The device's configuration holds the mount tag
// (tag_len[2] then the tag's bytes) when VIRTIO_9P_MOUNT_TAG is offered.
//
// A Transport has a few request slots, each with a small T and R buffer
// in DMA memory, and one large buffer shared by requests that carry data
// (Twrite's payload, Rread's and Rreaddir's), so that the message size
// can be as large as the device allows without a large buffer per slot.
// Callers give the data part as separate slices, which are copied
// straight between the DMA buffer and the caller's memory.
package ninep

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// FeatureMountTag is VIRTIO_9P_MOUNT_TAG.
const FeatureMountTag = 0

// MaxTag bounds the mount tag read from the device (QEMU allows 255).
const MaxTag = 255

// Slots is how many requests can be in flight on one device; each uses
// two descriptors.
const Slots = 4

// smallSize is each slot's T and R buffer.
const smallSize = 2 * virtio.PageSize

// requester is what the transport needs of a *virtio.Queue.
type requester interface {
	Do(bufs ...virtio.Buf) (uint32, error)
}

// dmaBuf is DMA memory as the kernel sees it and as the device sees it.
type dmaBuf struct {
	mem  []byte
	addr uintptr
}

func dmaSlice(addr uintptr, n int) dmaBuf {
	return dmaBuf{mem: unsafe.Slice((*byte)(unsafe.Add(nil, addr)), n), addr: addr}
}

// Transport carries 9P messages over one virtio-9p device. Safe for
// concurrent use.
type Transport struct {
	tag   string
	q     requester
	slots chan *slot // free slots
	bigMu sync.Mutex
	big   dmaBuf
}

type slot struct {
	id   uint16
	t, r dmaBuf
}

// Tag is the device's mount tag.
func (t *Transport) Tag() string { return t.tag }

// Msize is the largest message the transport can carry either way.
func (t *Transport) Msize() uint32 { return uint32(len(t.big.mem)) }

// newTransport builds the slots over DMA memory: Slots*2 small buffers
// at small, and the big buffer.
func newTransport(tag string, q requester, small, big dmaBuf) *Transport {
	t := &Transport{tag: tag, q: q, big: big, slots: make(chan *slot, Slots)}
	for i := range Slots {
		off := 2 * i * smallSize
		t.slots <- &slot{
			id: uint16(i),
			t:  dmaBuf{small.mem[off : off+smallSize : off+smallSize], small.addr + uintptr(off)},
			r:  dmaBuf{small.mem[off+smallSize : off+2*smallSize : off+2*smallSize], small.addr + uintptr(off+smallSize)},
		}
	}
	return t
}

// ErrTooLarge is returned for a request or reply larger than Msize, or
// one that would need the large buffer both ways.
var ErrTooLarge = errors.New("virtio-9p: message larger than the transport carries")

// RoundTrip sends the T-message req followed by reqData, and receives
// the reply: its first len(resp) bytes into resp, the rest (up to
// len(respData)) into respData. It returns the reply's length as the
// device reports it; a device claiming more than the buffer it was given
// is broken (EIO). On the wire the tag is the slot's number, so requests
// in flight differ whatever tag the caller wrote (NOTAG, for Tversion,
// is kept); the reply's tag is mapped back to the caller's when it
// matches, and to something else when it does not, so the caller's own
// tag check stays meaningful.
func (t *Transport) RoundTrip(req, reqData, resp, respData []byte) (int, error) {
	out := len(req) + len(reqData)
	in := len(resp) + len(respData)
	bigOut, bigIn := out > smallSize, in > smallSize
	if bigOut && bigIn || out > len(t.big.mem) || in > len(t.big.mem) || len(req) < 7 {
		return 0, ErrTooLarge
	}
	s := <-t.slots
	defer func() { t.slots <- s }()
	tb, rb := s.t, s.r
	if bigOut || bigIn {
		t.bigMu.Lock()
		defer t.bigMu.Unlock()
		if bigOut {
			tb = t.big
		} else {
			rb = t.big
		}
	}
	copy(tb.mem, req)
	copy(tb.mem[len(req):], reqData)
	// The tag: the slot's number, so that requests in flight differ.
	// (Version uses NOTAG, which the caller sets and we keep.)
	if !(tb.mem[5] == 0xff && tb.mem[6] == 0xff) {
		tb.mem[5], tb.mem[6] = byte(s.id), byte(s.id>>8)
	}
	n, err := t.q.Do(
		virtio.Buf{Addr: tb.addr, Len: uint32(out)},
		virtio.Buf{Addr: rb.addr, Len: uint32(in), DeviceWrites: true},
	)
	if err != nil {
		return 0, fmt.Errorf("virtio-9p %s: %w", t.tag, err)
	}
	if int64(n) > int64(in) {
		return 0, syscall.EIO
	}
	got := rb.mem[:n]
	c := copy(resp, got)
	copy(respData, got[c:])
	// The reply's tag is checked by the caller against the one we used:
	// put it back where the caller expects it.
	if len(resp) >= 7 && n >= 7 {
		if !(req[5] == 0xff && req[6] == 0xff) {
			if resp[5] == byte(s.id) && resp[6] == byte(s.id>>8) {
				resp[5], resp[6] = req[5], req[6]
			} else {
				resp[5], resp[6] = ^req[5], ^req[6] // a mismatch stays one
			}
		}
	}
	return int(n), nil
}

// Package nettest is a wire for tests and benchmarks of kernel/net and
// its users: two devices of the shape kernel/net.Device whose frames
// reach the other end's receiver on a goroutine of their own, as the
// virtio-net driver hands received frames to the stack on its own
// goroutine.
package nettest

import (
	"bytes"
	"sync"

	vnet "github.com/runikraft/runikraft/kernel/drivers/virtio/net"
)

// Dev is one end of a wire: at most limit frames in flight (more get
// vnet.ErrBusy, as a full virtqueue does).
type Dev struct {
	mac       [6]byte
	peer      *Dev
	limit     int
	csumValid bool
	q         chan []byte

	mu       sync.Mutex
	rx       vnet.Receiver
	batchEnd func()
	room     func()
	inflight int
	busy     int // ErrBusy answers given
}

// NewWire returns the two ends of a wire with room for limit frames each
// way, MACs 02:00:00:00:00:01 and :02. csumValid is what the receivers
// are told of each frame's checksums (virtio-net's DATA_VALID).
func NewWire(limit int, csumValid bool) (*Dev, *Dev) {
	a := &Dev{mac: [6]byte{2, 0, 0, 0, 0, 1}, limit: limit, csumValid: csumValid, q: make(chan []byte, limit)}
	b := &Dev{mac: [6]byte{2, 0, 0, 0, 0, 2}, limit: limit, csumValid: csumValid, q: make(chan []byte, limit)}
	a.peer, b.peer = b, a
	go a.run()
	go b.run()
	return a, b
}

// MAC is the end's address.
func (d *Dev) MAC() [6]byte { return d.mac }

// Attach sets the receiver of frames sent from the other end and the
// function called when a frame of this end's has been delivered.
func (d *Dev) Attach(rx vnet.Receiver, room func()) {
	d.mu.Lock()
	d.rx, d.room = rx, room
	d.mu.Unlock()
}

// AttachBatchEnd sets the function called after each batch of frames
// the receiver got: the frames that were queued on the wire when the
// first of them was handed over, as a virtio-net receive queue is
// drained (vnet.Driver.AttachBatchEnd).
func (d *Dev) AttachBatchEnd(fn func()) {
	d.mu.Lock()
	d.batchEnd = fn
	d.mu.Unlock()
}

// Transmit sends the frame made of parts, or says vnet.ErrBusy when
// limit frames are in flight.
func (d *Dev) Transmit(parts ...[]byte) error {
	d.mu.Lock()
	if d.inflight >= d.limit {
		d.busy++
		d.mu.Unlock()
		return vnet.ErrBusy
	}
	d.inflight++
	d.mu.Unlock()
	d.q <- bytes.Join(parts, nil)
	return nil
}

// Busy is how many times Transmit said ErrBusy.
func (d *Dev) Busy() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.busy
}

func (d *Dev) run() {
	for f := range d.q {
		d.peer.mu.Lock()
		rx, end := d.peer.rx, d.peer.batchEnd
		d.peer.mu.Unlock()
		if rx != nil {
			rx(f, d.csumValid)
		}
		d.mu.Lock()
		d.inflight--
		room := d.room
		d.mu.Unlock()
		if room != nil {
			room()
		}
		if end != nil && len(d.q) == 0 {
			end()
		}
	}
}

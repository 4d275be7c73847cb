// Package rng reads random bytes from a virtio entropy device (virtio
// 1.1 §5.4): one queue, into which the driver puts device-writable
// buffers that come back filled.
//
// The device is set up on first use. Requests go through one DMA page, so
// a large Read is a series of page-sized requests; concurrent Reads take
// turns per request.
package rng

import (
	"errors"
	"fmt"
	"sync"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// ErrNoDevice is returned by Read on a machine without virtio-rng.
var ErrNoDevice = errors.New("virtio-rng: no device")

// requester is what the driver needs of a *virtio.Queue.
type requester interface {
	Do(bufs ...virtio.Buf) (uint32, error)
}

// driver is a set-up virtio-rng device.
type driver struct {
	mu     sync.Mutex // one request at a time: they share the bounce page
	q      requester
	bounce []byte  // the DMA page, as the kernel sees it
	addr   uintptr // and as the device sees it
}

// read fills p, one request per bounce-page-sized chunk. The device may
// return fewer bytes than asked for; read asks again.
func (d *driver) read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		got, err := d.request(p[n:])
		n += got
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (d *driver) request(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := min(len(p), len(d.bounce))
	got, err := d.q.Do(virtio.Buf{Addr: d.addr, Len: uint32(want), DeviceWrites: true})
	if err != nil {
		return 0, fmt.Errorf("virtio-rng: %w", err)
	}
	if got == 0 {
		// Asking again would spin for ever on a device that never
		// gives anything.
		return 0, errors.New("virtio-rng: device returned no data")
	}
	got = min(got, uint32(want))
	copy(p, d.bounce[:got])
	// Seed material should not outlive its copy.
	clear(d.bounce[:got])
	return int(got), nil
}

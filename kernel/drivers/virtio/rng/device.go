//go:build riscv64

package rng

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
	"github.com/runikraft/runikraft/kernel/hart"
)

// queueSize is plenty: requests are serialised, one buffer each.
const queueSize = 8

// open sets up the first virtio-rng device, once; a failure is final.
var open = sync.OnceValues(func() (*driver, error) {
	dev, ok := virtio.Find(virtio.IDEntropy)
	if !ok {
		return nil, ErrNoDevice
	}
	// Allocate before touching the device, so failing leaves it alone.
	page, err := hart.AllocDMA(1)
	if err != nil {
		return nil, fmt.Errorf("virtio-rng: bounce buffer: %w", err)
	}
	if _, err := dev.Negotiate(0); err != nil {
		return nil, fmt.Errorf("virtio-rng: %w", err)
	}
	q, err := dev.Queue(0, queueSize)
	if err != nil {
		return nil, fmt.Errorf("virtio-rng: %w", err)
	}
	if err := dev.Start(); err != nil {
		return nil, fmt.Errorf("virtio-rng: %w", err)
	}
	return &driver{
		q:      q,
		bounce: unsafe.Slice((*byte)(unsafe.Add(nil, page)), virtio.PageSize),
		addr:   page,
	}, nil
})

// Read fills p with bytes from the virtio-rng device, waiting (without a
// timeout) for as long as the device takes. It returns len(p) unless the
// device is missing (ErrNoDevice) or fails. Safe for concurrent use.
func Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	d, err := open()
	if err != nil {
		return 0, err
	}
	return d.read(p)
}

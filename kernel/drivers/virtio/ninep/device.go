//go:build riscv64

package ninep

import (
	"fmt"
	"sync"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
	"github.com/runikraft/runikraft/kernel/hart"
)

// queueSize: Slots requests of two descriptors each.
const queueSize = 2 * Slots

// MaxBigPages bounds the large buffer: one contiguous DMA allocation
// (the hart layer's limit is 1024 pages, 4 MiB).
const MaxBigPages = 1024

type found struct {
	dev *virtio.Device
	tag string
	err error
}

// devices lists the virtio-9p devices and their mount tags, once.
// Listing negotiates features (the tag is only there with
// VIRTIO_9P_MOUNT_TAG), so a listed device is set up only by Open.
var devices = sync.OnceValue(func() []*found {
	var fs []*found
	for _, d := range virtio.Probe() {
		if d.ID != virtio.IDNineP {
			continue
		}
		f := &found{dev: d}
		f.tag, f.err = readTag(d)
		fs = append(fs, f)
	}
	return fs
})

func readTag(d *virtio.Device) (string, error) {
	feat, err := d.Negotiate(1 << FeatureMountTag)
	if err != nil {
		return "", err
	}
	if feat&(1<<FeatureMountTag) == 0 {
		return "", fmt.Errorf("%v: no mount tag offered", d)
	}
	n, err := d.ReadConfig(0, 2)
	if err != nil {
		return "", err
	}
	if n == 0 || n > MaxTag {
		return "", fmt.Errorf("%v: mount tag length %d", d, n)
	}
	b := make([]byte, n)
	for i := range b {
		v, err := d.ReadConfig(uintptr(2+i), 1)
		if err != nil {
			return "", err
		}
		b[i] = byte(v)
	}
	return string(b), nil
}

// Tags lists the mount tags of the machine's virtio-9p devices, for
// messages.
func Tags() []string {
	var ts []string
	for _, f := range devices() {
		if f.err == nil {
			ts = append(ts, f.tag)
		}
	}
	return ts
}

var (
	openMu sync.Mutex
	opened = map[string]*Transport{}
)

// Open sets up the virtio-9p device whose mount tag is tag, with a large
// buffer of bigPages pages (at most MaxBigPages), and returns its
// transport. Opening a tag twice returns the same transport.
func Open(tag string, bigPages int) (*Transport, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if t, ok := opened[tag]; ok {
		return t, nil
	}
	var dev *virtio.Device
	for _, f := range devices() {
		if f.err == nil && f.tag == tag {
			dev = f.dev
			break
		}
	}
	if dev == nil {
		return nil, fmt.Errorf("virtio-9p: no device with mount tag %q (the machine has %q)", tag, Tags())
	}
	bigPages = max(1, min(bigPages, MaxBigPages))
	// Allocate before touching the queue, so failing leaves it alone.
	small, err := hart.AllocDMA(2 * Slots * smallSize / virtio.PageSize)
	if err != nil {
		return nil, fmt.Errorf("virtio-9p %s: buffers: %w", tag, err)
	}
	big, err := hart.AllocDMA(bigPages)
	if err != nil {
		return nil, fmt.Errorf("virtio-9p %s: message buffer: %w", tag, err)
	}
	q, err := dev.Queue(0, queueSize)
	if err != nil {
		return nil, fmt.Errorf("virtio-9p %s: %w", tag, err)
	}
	if q.Size() < queueSize {
		return nil, fmt.Errorf("virtio-9p %s: queue of %d descriptors, want %d", tag, q.Size(), queueSize)
	}
	if err := dev.Start(); err != nil {
		return nil, fmt.Errorf("virtio-9p %s: %w", tag, err)
	}
	t := newTransport(tag, q, dmaSlice(small, 2*Slots*smallSize), dmaSlice(big, bigPages*virtio.PageSize))
	opened[tag] = t
	return t, nil
}

// Package virtio drives virtio-mmio devices (virtio 1.1 §4.2) for the
// Runikraft kernel: discovery over the device tree's virtio-mmio slots,
// feature negotiation, split virtqueues (§2.6) in DMA pages, and one
// interrupt goroutine per device.
//
// Both register layouts are supported: the modern one (Version 2, §4.2.2)
// and the legacy one (Version 1, §4.2.4), which QEMU's virt machine
// exposes by default (virtio-mmio.force-legacy=true up to at least 7.2).
//
// A driver sets a device up in the order of §3.1.1:
//
//	d, ok := virtio.Find(virtio.IDEntropy)
//	features, err := d.Negotiate(wanted) // reset, ACKNOWLEDGE, DRIVER, FEATURES_OK
//	q, err := d.Queue(0, 8)              // once per virtqueue
//	err = d.Start()                      // DRIVER_OK; starts the interrupt goroutine
//	n, err := q.Do(virtio.Buf{Addr: dma, Len: 4096, DeviceWrites: true})
//
// Do waits for its request. Post queues one and returns, with a function
// that the interrupt goroutine calls when the device is done, in the
// order the device used the requests; that keeps a receive queue filled
// and several transmit buffers in flight without reordering. Poll hands
// over completions without waiting for the interrupt.
//
// Buffers are device addresses: memory from hart.AllocDMA, never Go
// memory, whose virtual addresses the device cannot reach.
//
// The ring logic (this file, ring.go, queue.go, device.go) is plain Go and
// tested on the host; the register access in transport.go needs the hart
// layer and builds only for riscv64.
package virtio

import (
	"errors"
	"fmt"
)

// PageSize is the unit of DMA allocations, and the legacy interface's
// GuestPageSize and QueueAlign.
const PageSize = 4096

// Device IDs (virtio 1.1 §5).
const (
	IDNet     = 1
	IDBlock   = 2
	IDConsole = 3
	IDEntropy = 4
	IDBalloon = 5
	IDSCSI    = 8
	IDNineP   = 9
	IDGPU     = 16
	IDInput   = 18
	IDSocket  = 19
	IDFS      = 26
)

// Feature bits the transport knows about (virtio 1.1 §6). Drivers ask
// only for device-specific bits (0 to 23); the transport decides the rest.
const (
	FeatureIndirectDesc = 28
	FeatureEventIdx     = 29
	FeatureVersion1     = 32 // the modern interface; required for Version 2
	deviceFeatureMask   = 1<<24 - 1
)

// Device status bits (virtio 1.1 §2.1).
const (
	statusAcknowledge = 1
	statusDriver      = 2
	statusDriverOK    = 4
	statusFeaturesOK  = 8
	statusNeedsReset  = 64
	statusFailed      = 128
)

// virtio-mmio registers (virtio 1.1 §4.2.2 table 4.1 and §4.2.4).
const (
	regMagic            = 0x000
	regVersion          = 0x004
	regDeviceID         = 0x008
	regVendorID         = 0x00c
	regDeviceFeatures   = 0x010
	regDeviceFeatSel    = 0x014
	regDriverFeatures   = 0x020
	regDriverFeatSel    = 0x024
	regGuestPageSize    = 0x028 // legacy only
	regQueueSel         = 0x030
	regQueueNumMax      = 0x034
	regQueueNum         = 0x038
	regQueueAlign       = 0x03c // legacy only
	regQueuePFN         = 0x040 // legacy only
	regQueueReady       = 0x044 // modern only
	regQueueNotify      = 0x050
	regInterruptStatus  = 0x060
	regInterruptACK     = 0x064
	regStatus           = 0x070
	regQueueDescLow     = 0x080 // modern only, like the rest of the block
	regQueueDescHigh    = 0x084
	regQueueDriverLow   = 0x090
	regQueueDriverHigh  = 0x094
	regQueueDeviceLow   = 0x0a0
	regQueueDeviceHigh  = 0x0a4
	regConfigGeneration = 0x0fc
	regConfig           = 0x100

	magicValue = 0x74726976 // "virt"
)

// Buf is one buffer of a request: device-visible memory (from
// hart.AllocDMA). The device reads it, or writes it if DeviceWrites.
type Buf struct {
	Addr         uintptr
	Len          uint32
	DeviceWrites bool
}

// ErrBroken is wrapped by every error of a queue whose device misbehaved
// or whose interrupt could not be waited for. The queue stays unusable,
// and the device may still write the buffers of requests it failed.
var ErrBroken = errors.New("virtio: queue broken")

// negotiate picks the features to accept from those the device offers:
// the device-specific bits the driver wants, plus VERSION_1 on the
// modern interface, where it is mandatory. Transport features that this
// package does not implement (indirect descriptors, event index, packed
// rings, ...) are never accepted. The legacy interface has 32 feature bits.
func negotiate(version uint32, offered, wanted uint64) (uint64, error) {
	accept := offered & wanted & deviceFeatureMask
	switch version {
	case 1:
		return accept & 0xffffffff, nil
	case 2:
		if offered&(1<<FeatureVersion1) == 0 {
			return 0, errors.New("device does not offer VIRTIO_F_VERSION_1")
		}
		return accept | 1<<FeatureVersion1, nil
	}
	return 0, fmt.Errorf("unknown virtio-mmio version %d", version)
}

func alignUp(v, a uintptr) uintptr { return (v + a - 1) &^ (a - 1) }

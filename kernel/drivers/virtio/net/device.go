//go:build riscv64

package net

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
	"github.com/runikraft/runikraft/kernel/hart"
)

// Queue sizes and slots. QEMU's virtio-net queues have 256 descriptors;
// a legacy device takes two per slot (header apart), so 128 slots each
// way fit either interface: 512 KiB of DMA memory in all.
const (
	queueSize = 256
	rxSlots   = 128
	txSlots   = 128
)

// Queue indexes (§5.1.2): the first receive/transmit pair.
const (
	rxQueue = 0
	txQueue = 1
)

// Config space offsets (§5.1.4).
const configMAC = 0

// wanted are the features the driver asks for. Left out: CSUM (transmit
// checksum offload) — the stack computes checksums and a partial one
// would need the pseudo-header sum the stack does not leave; GSO/TSO —
// frames stay within one slot; CTRL_VQ, MQ — one queue pair, no
// filtering; MTU — slots are sized for 1500.
const wanted = 1<<FeatureMAC | 1<<FeatureGuestCsum | 1<<FeatureMrgRxbuf

var setup = sync.OnceValues(func() (*Driver, error) {
	dev, ok := virtio.Find(virtio.IDNet)
	if !ok {
		return nil, ErrNoDevice
	}
	d, err := start(dev)
	if err != nil {
		return nil, fmt.Errorf("virtio-net: %w", err)
	}
	return d, nil
})

// Open sets up the first virtio-net device, once, and returns it; a
// failure is final. It fails with ErrNoDevice on a machine without one.
func Open() (*Driver, error) { return setup() }

func start(dev *virtio.Device) (*Driver, error) {
	// Allocate before touching the device, so failing leaves it alone.
	pages := (rxSlots + txSlots) * slotSize / virtio.PageSize
	base, err := hart.AllocDMA(pages)
	if err != nil {
		return nil, err
	}
	mem := unsafe.Slice((*byte)(unsafe.Add(nil, base)), pages*virtio.PageSize)
	slot := func(i int) dmaBuf {
		off := i * slotSize
		return dmaBuf{mem: mem[off : off+slotSize], addr: base + uintptr(off)}
	}
	feat, err := dev.Negotiate(wanted)
	if err != nil {
		return nil, err
	}
	modern := dev.Version == 2
	hdrLen := hdrLenLegacy
	if modern || feat&(1<<FeatureMrgRxbuf) != 0 {
		hdrLen = hdrLenModern
	}
	var mac [6]byte
	if feat&(1<<FeatureMAC) != 0 {
		for i := range mac {
			v, err := dev.ReadConfig(configMAC+uintptr(i), 1)
			if err != nil {
				return nil, err
			}
			mac[i] = byte(v)
		}
	} else {
		// §5.1.5: without MAC the driver picks one. Locally
		// administered, unicast.
		hart.Random(mac[:])
		mac[0] = mac[0]&^1 | 2
	}
	rxq, err := dev.Queue(rxQueue, queueSize)
	if err != nil {
		return nil, err
	}
	txq, err := dev.Queue(txQueue, queueSize)
	if err != nil {
		return nil, err
	}
	// A legacy device may want the header in a descriptor of its own
	// (no ANY_LAYOUT, §5.1.6.6): two descriptors a slot.
	split := !modern
	per := 1
	if split {
		per = 2
	}
	nrx := min(rxSlots, rxq.Size()/per)
	ntx := min(txSlots, txq.Size()/per)
	rx := make([]dmaBuf, nrx)
	tx := make([]dmaBuf, ntx)
	for i := range rx {
		rx[i] = slot(i)
	}
	for i := range tx {
		tx[i] = slot(rxSlots + i)
	}
	if err := dev.Start(); err != nil {
		return nil, err
	}
	where := fmt.Sprintf("virtio-mmio slot %d irq %d", dev.Slot, dev.IRQ)
	d := newDriver(where, mac, feat, hdrLen, split, rxq, txq, rx, tx,
		func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) })
	if err := d.start(); err != nil {
		return nil, err
	}
	return d, nil
}

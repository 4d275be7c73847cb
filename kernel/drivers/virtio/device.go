package virtio

import (
	"fmt"
	"sync"
)

// Device is a virtio-mmio slot with a device behind it. The exported
// fields describe it, are set by Probe and must not be changed.
type Device struct {
	Slot    int     // index among the device tree's virtio-mmio nodes
	Base    uintptr // register block
	Size    uintptr // of the register block, device configuration included
	IRQ     uint32  // PLIC source; 0 if the device tree gave none
	ID      uint32  // device type: IDNet, IDEntropy, ...
	Vendor  uint32
	Version uint32 // 1 legacy, 2 modern

	mu       sync.Mutex
	state    setupState
	features uint64
	queues   []*Queue
}

// setupState orders the steps of §3.1.1 for one driver.
type setupState int

const (
	found setupState = iota
	negotiated
	started
	failed
)

// Name is a short name of a device ID, e.g. "rng" for IDEntropy. A
// switch, not a map: a map literal is built by code at every boot.
func Name(id uint32) string {
	switch id {
	case IDNet:
		return "net"
	case IDBlock:
		return "block"
	case IDConsole:
		return "console"
	case IDEntropy:
		return "rng"
	case IDBalloon:
		return "balloon"
	case IDSCSI:
		return "scsi"
	case IDNineP:
		return "9p"
	case IDGPU:
		return "gpu"
	case IDInput:
		return "input"
	case IDSocket:
		return "vsock"
	case IDFS:
		return "fs"
	}
	return fmt.Sprintf("device-%d", id)
}

// String describes the device in one line, e.g.
// "virtio-mmio slot 7 irq 8: rng (device 4, legacy, registers at 0x3e10008000)".
// The slot and IRQ come first: they depend only on the machine, while
// the register address is wherever the hart layer mapped the device.
func (d *Device) String() string {
	iface := "legacy"
	if d.Version == 2 {
		iface = "modern"
	}
	return fmt.Sprintf("virtio-mmio slot %d irq %d: %s (device %d, %s, registers at %#x)", d.Slot, d.IRQ, Name(d.ID), d.ID, iface, d.Base)
}

//go:build riscv64

package console

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
	"github.com/runikraft/runikraft/kernel/hart"
)

// maxPorts bounds the ports the driver sets queues up for (two queues,
// 16 KiB of ring memory, per port). QEMU numbers virtserialports from 1
// in command-line order, so the first few are what a kernel needs; a
// port beyond is refused (PORT_READY 0).
const maxPorts = 16

// Queue sizes: control transmit carries one message at a time; a port
// has at most rxBufs and txBufs requests in flight, one buffer each.
const (
	ctrlTxSize = 4
	portRxSize = rxBufs
	portTxSize = 2 * txBufs
)

// setup finds and starts the first virtio-console device, once; a
// failure is final.
var setup = sync.OnceValues(func() (*driver, error) {
	dev, ok := virtio.Find(virtio.IDConsole)
	if !ok {
		return nil, ErrNoDevice
	}
	d, err := start(dev)
	if err != nil {
		return nil, fmt.Errorf("virtio-console: %w", err)
	}
	return d, nil
})

func start(dev *virtio.Device) (*driver, error) {
	feat, err := dev.Negotiate(1 << featureMultiport)
	if err != nil {
		return nil, err
	}
	if feat&(1<<featureMultiport) == 0 {
		// Without MULTIPORT there is one port and it has no name.
		return nil, fmt.Errorf("%v: the device does not offer MULTIPORT, so its port has no name", dev)
	}
	max, err := dev.ReadConfig(configMaxNrPorts, 4)
	if err != nil {
		return nil, err
	}
	nports := int(min(max, maxPorts))
	if nports == 0 {
		return nil, fmt.Errorf("%v: max_nr_ports is 0", dev)
	}
	ctrlRx, err := dev.Queue(ctrlRxQueue, ctrlRxBufs)
	if err != nil {
		return nil, err
	}
	ctrlTx, err := dev.Queue(ctrlTxQueue, ctrlTxSize)
	if err != nil {
		return nil, err
	}
	rx := make([]*virtio.Queue, nports)
	tx := make([]*virtio.Queue, nports)
	for id := range uint32(nports) {
		if rx[id], err = dev.Queue(rxQueue(id), portRxSize); err != nil {
			return nil, err
		}
		if tx[id], err = dev.Queue(txQueue(id), portTxSize); err != nil {
			return nil, err
		}
	}
	SizeForRAM(hart.ReadMemStats().RAM)
	// One page for the transmit buffer, then the receive buffers.
	pages := 1 + (min(ctrlRxBufs, ctrlRx.Size())*ctrlRxBufSize+virtio.PageSize-1)/virtio.PageSize
	mem, err := allocDMA(pages)
	if err != nil {
		return nil, err
	}
	txBuf := dmaBuf{mem: mem.mem[:virtio.PageSize], addr: mem.addr}
	var rxBufs []dmaBuf
	for i := range min(ctrlRxBufs, ctrlRx.Size()) {
		off := virtio.PageSize + i*ctrlRxBufSize
		rxBufs = append(rxBufs, dmaBuf{mem: mem.mem[off : off+ctrlRxBufSize], addr: mem.addr + uintptr(off)})
	}
	if err := dev.Start(); err != nil {
		return nil, err
	}
	// strconv, not fmt: this runs at every boot under runikraft run, and
	// fmt's code is otherwise first needed (translated by QEMU) only on
	// an error or with --debug.
	where := "virtio-mmio slot " + strconv.FormatInt(int64(dev.Slot), 10) + " irq " + strconv.FormatUint(uint64(dev.IRQ), 10)
	d := newDriver(where, nports, ctrlRx, ctrlTx, rxBufs, txBuf,
		func(id uint32) (queue, queue) { return rx[id], tx[id] },
		allocDMA,
		func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) })
	if err := d.start(); err != nil {
		return nil, err
	}
	return d, nil
}

func allocDMA(pages int) (dmaBuf, error) {
	a, err := hart.AllocDMA(pages)
	if err != nil {
		return dmaBuf{}, err
	}
	return dmaBuf{mem: unsafe.Slice((*byte)(unsafe.Add(nil, a)), pages*virtio.PageSize), addr: a}, nil
}

// Open returns the port named name on the first virtio-console device,
// open on the guest's side, setting the device up on first use. It
// fails with ErrNoDevice without a device and ErrNoPort if no port has
// that name. Opening a port again returns the same Port.
func Open(name string) (*Port, error) {
	d, err := setup()
	if err != nil {
		return nil, err
	}
	return d.open(name)
}

// Names lists the names of the device's ports, in port order, setting
// the device up on first use.
func Names() ([]string, error) {
	d, err := setup()
	if err != nil {
		return nil, err
	}
	return d.names(), nil
}

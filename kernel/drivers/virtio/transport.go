//go:build riscv64

package virtio

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/hart"
	"github.com/runikraft/runikraft/kernel/reg"
)

// probed is the device registry: every non-empty virtio-mmio slot, read
// once. Drivers share the *Device values.
var probed = sync.OnceValue(func() []*Device {
	m := hart.Machine()
	var ds []*Device
	for i := 0; i < m.NVirtio && i < len(m.Virtio); i++ {
		v := m.Virtio[i]
		base := uintptr(v.Base)
		if base == 0 || v.Size != 0 && v.Size < regConfig {
			continue
		}
		if reg.Read32(base+regMagic) != magicValue {
			continue
		}
		d := &Device{
			Slot:    i,
			Base:    base,
			Size:    uintptr(v.Size),
			IRQ:     v.IRQ,
			Version: reg.Read32(base + regVersion),
			ID:      reg.Read32(base + regDeviceID),
			Vendor:  reg.Read32(base + regVendorID),
		}
		// ID 0 is an empty slot; other versions are not virtio-mmio as
		// we know it.
		if d.ID == 0 || d.Version != 1 && d.Version != 2 {
			continue
		}
		ds = append(ds, d)
	}
	return ds
})

// Probe returns the devices in the virtio-mmio slots of the device tree,
// in tree order. It only reads identification registers; the slice is
// the caller's, the Devices are shared.
func Probe() []*Device { return slices.Clone(probed()) }

// Find returns the first device with the given ID.
func Find(id uint32) (*Device, bool) {
	for _, d := range probed() {
		if d.ID == id {
			return d, true
		}
	}
	return nil, false
}

func (d *Device) reg(off uintptr) uint32       { return reg.Read32(d.Base + off) }
func (d *Device) setReg(off uintptr, v uint32) { reg.Write32(d.Base+off, v) }

func (d *Device) errorf(format string, args ...any) error {
	return fmt.Errorf("virtio-mmio slot %d: "+format, append([]any{d.Slot}, args...)...)
}

// failLocked marks the device FAILED (§3.1.1 step 8) and returns the error
// naming the device.
func (d *Device) failLocked(format string, args ...any) error {
	d.setReg(regStatus, d.reg(regStatus)|statusFailed)
	d.state = failed
	return d.errorf(format, args...)
}

// Negotiate resets the device, announces the driver and agrees on
// features: the device-specific bits of want that the device offers (and
// VERSION_1 on the modern interface). It returns the accepted features.
// A device is set up once: Negotiate fails if it was called before.
func (d *Device) Negotiate(want uint64) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != found {
		return 0, d.errorf("%s device already set up", Name(d.ID))
	}
	d.setReg(regStatus, 0)
	// A modern device may take a while to reset (§4.2.3.1.1); QEMU does
	// it at once.
	for i := 0; d.reg(regStatus) != 0; i++ {
		if i == 1_000_000 {
			return 0, d.failLocked("device does not reset")
		}
	}
	d.setReg(regStatus, statusAcknowledge)
	d.setReg(regStatus, statusAcknowledge|statusDriver)

	d.setReg(regDeviceFeatSel, 0)
	offered := uint64(d.reg(regDeviceFeatures))
	if d.Version == 2 {
		d.setReg(regDeviceFeatSel, 1)
		offered |= uint64(d.reg(regDeviceFeatures)) << 32
	}
	accept, err := negotiate(d.Version, offered, want)
	if err != nil {
		return 0, d.failLocked("negotiate features: %w", err)
	}
	d.setReg(regDriverFeatSel, 0)
	d.setReg(regDriverFeatures, uint32(accept))
	if d.Version == 2 {
		d.setReg(regDriverFeatSel, 1)
		d.setReg(regDriverFeatures, uint32(accept>>32))
		d.setReg(regStatus, statusAcknowledge|statusDriver|statusFeaturesOK)
		if d.reg(regStatus)&statusFeaturesOK == 0 {
			return 0, d.failLocked("device refused features %#x (offered %#x)", accept, offered)
		}
	} else {
		// The legacy interface computes queue addresses from page numbers.
		d.setReg(regGuestPageSize, PageSize)
	}
	d.features = accept
	d.state = negotiated
	return accept, nil
}

// Queue sets up virtqueue i with size descriptors (a power of two; less
// if the device's maximum is smaller), in DMA pages that are never freed.
// Call it after Negotiate and before Start, once per queue; the queue can
// be used after Start.
func (d *Device) Queue(i, size int) (*Queue, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != negotiated {
		return nil, d.errorf("queue %d: set up after feature negotiation and before start", i)
	}
	if !validSize(size) {
		return nil, d.errorf("queue %d: size %d is not a power of two up to 32768", i, size)
	}
	if i < 0 || i >= 1<<16 {
		return nil, d.errorf("queue %d: no such queue", i)
	}
	d.setReg(regQueueSel, uint32(i))
	inUse := regQueuePFN
	if d.Version == 2 {
		inUse = regQueueReady
	}
	if d.reg(uintptr(inUse)) != 0 {
		return nil, d.errorf("queue %d: already set up", i)
	}
	max := int(d.reg(regQueueNumMax))
	if max == 0 {
		return nil, d.errorf("queue %d: not offered by the device", i)
	}
	for size > max {
		size /= 2
	}
	l := layoutFor(uint16(size))
	mem, err := hart.AllocDMA(int(l.size / PageSize))
	if err != nil {
		return nil, d.failLocked("queue %d: %w", i, err)
	}
	d.setReg(regQueueNum, uint32(size))
	if d.Version == 1 {
		if mem/PageSize > 1<<32-1 {
			return nil, d.failLocked("queue %d: ring at %#x is above the legacy interface's 44-bit reach", i, mem)
		}
		d.setReg(regQueueAlign, PageSize)
		d.setReg(regQueuePFN, uint32(mem/PageSize))
	} else {
		set64 := func(lo uintptr, a uintptr) {
			d.setReg(lo, uint32(a))
			d.setReg(lo+4, uint32(uint64(a)>>32))
		}
		set64(regQueueDescLow, mem)
		set64(regQueueDriverLow, mem+l.avail)
		set64(regQueueDeviceLow, mem+l.used)
		d.setReg(regQueueReady, 1)
	}
	notify := d.Base + regQueueNotify
	q := newQueue(i, unsafe.Add(nil, mem), uint16(size), func() { reg.Write32(notify, uint32(i)) })
	d.queues = append(d.queues, q)
	return q, nil
}

// Start tells the device the driver is ready (DRIVER_OK) and starts the
// goroutine that takes its interrupts and completes requests.
func (d *Device) Start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != negotiated {
		return d.errorf("start: features not negotiated, or started already")
	}
	if d.IRQ == 0 {
		return d.failLocked("start: the device tree gives no interrupt")
	}
	d.setReg(regStatus, d.reg(regStatus)|statusDriverOK)
	if st := d.reg(regStatus); st&statusNeedsReset != 0 || st&statusDriverOK == 0 {
		return d.failLocked("start: device status %#x", st)
	}
	d.state = started
	go d.serve(slices.Clone(d.queues))
	return nil
}

// serveRounds bounds how many rounds of completions the interrupt
// goroutine takes from one queue before it turns to the others (and lets
// other goroutines run); then it comes back without waiting.
const serveRounds = 16

// serve is the device's interrupt goroutine. It acknowledges before it
// collects: a completion after the acknowledgement raises the interrupt
// again, so none is missed; WaitIRQ unmasks the source only when called.
// Once it has taken completions it keeps the queues' interrupts off and
// yields, so that the goroutines it woke run first, and looks again; only
// a look that finds nothing switches them back on (and looks once more)
// before it waits. A busy guest then polls the queues between its other
// work instead of taking an interrupt per frame.
func (d *Device) serve(qs []*Queue) {
	polling := false
	for {
		if polling {
			runtime.Gosched()
		} else if err := hart.WaitIRQ(d.IRQ); err != nil {
			err = d.errorf("%w", err)
			for _, q := range qs {
				q.fail(err)
			}
			return
		} else {
			d.setReg(regInterruptACK, d.reg(regInterruptStatus))
		}
		got, more := d.collectAll(qs, true)
		if got == 0 && !more {
			got, more = d.collectAll(qs, false)
		}
		polling = got > 0 || more
	}
}

// collectAll collects every queue (see Queue.collect).
func (d *Device) collectAll(qs []*Queue, keep bool) (got int, more bool) {
	for _, q := range qs {
		n, m := q.collect(serveRounds, keep)
		got += n
		more = more || m
	}
	return got, more
}

// ReadConfig reads the width-byte field (1, 2, 4 or 8) at offset off of
// the device-specific configuration space, little-endian, with the
// access widths §4.2.2.2 requires. An 8-byte field takes two reads,
// repeated until the configuration generation (modern) or the value
// (legacy, which has no generation) is stable.
func (d *Device) ReadConfig(off uintptr, width int) (uint64, error) {
	switch width {
	case 1, 2, 4, 8:
	default:
		return 0, d.errorf("config: width %d", width)
	}
	if off%uintptr(min(width, 4)) != 0 || d.Size != 0 && regConfig+off+uintptr(width) > d.Size {
		return 0, d.errorf("config: %d bytes at offset %#x", width, off)
	}
	a := d.Base + regConfig + off
	switch width {
	case 1:
		return uint64(reg.Read8(a)), nil
	case 2:
		return uint64(reg.Read16(a)), nil
	case 4:
		return uint64(reg.Read32(a)), nil
	}
	read := func() uint64 { return uint64(reg.Read32(a)) | uint64(reg.Read32(a+4))<<32 }
	for range 1000 {
		if d.Version == 2 {
			gen := d.reg(regConfigGeneration)
			v := read()
			if d.reg(regConfigGeneration) == gen {
				return v, nil
			}
		} else if v := read(); read() == v {
			return v, nil
		}
	}
	return 0, d.errorf("config: offset %#x keeps changing", off)
}

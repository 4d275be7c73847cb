package console

import (
	"errors"
	"fmt"
	"sync"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// Control buffers. QEMU offers 32 descriptors on the control receive
// queue and drops a control message when the driver has no buffer
// posted, so all of them stay posted; 512 bytes take a header and a long
// port name (a longer one arrives cut short).
const (
	ctrlRxBufs    = 32
	ctrlRxBufSize = 512
)

var (
	// ErrNoDevice is returned by Open on a machine without virtio-console.
	ErrNoDevice = errors.New("virtio-console: no device")
	// ErrNoPort is returned by Open for a name no port has.
	ErrNoPort = errors.New("virtio-console: no such port")
)

// requester is what the driver needs of the control transmit queue.
type requester interface {
	Do(bufs ...virtio.Buf) (uint32, error)
}

// driver is a set-up virtio-console device with MULTIPORT.
type driver struct {
	where  string
	ctrlRx queue
	ctrlTx requester
	rxBufs []dmaBuf // control receive buffers
	txBuf  dmaBuf   // the sender's one control transmit buffer
	queues func(id uint32) (rx, tx queue)
	alloc  allocFunc
	logf   func(format string, args ...any) // protocol trouble, for the operator

	mu      sync.Mutex
	cond    sync.Cond // the outbox moved
	t       *table
	ports   []*Port // by id; nil until the port is first added
	outbox  []ctrlMsg
	queued  uint64 // messages ever put in the outbox
	sent    uint64 // and taken by the device
	sendErr error  // sticky: the control transmit queue broke
	rxErr   error  // sticky: the control receive queue broke
}

func newDriver(where string, nports int, ctrlRx queue, ctrlTx requester, rxBufs []dmaBuf, txBuf dmaBuf,
	queues func(uint32) (queue, queue), alloc allocFunc, logf func(string, ...any)) *driver {
	d := &driver{
		where: where, ctrlRx: ctrlRx, ctrlTx: ctrlTx, rxBufs: rxBufs, txBuf: txBuf,
		queues: queues, alloc: alloc, logf: logf,
		t: newTable(nports), ports: make([]*Port, nports),
	}
	d.cond.L = &d.mu
	return d
}

// start runs the handshake of §5.3.6.1: control buffers posted, then
// DEVICE_READY, answered by PORT_ADD for each port; PORT_READY for each,
// answered by its name and whether the host side is open. It returns
// once the exchange has died down.
func (d *driver) start() error {
	go d.send()
	for i := range d.rxBufs {
		if err := d.postCtrl(i); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.enqueueLocked(ctrlMsg{event: evDeviceReady, value: 1})
	d.mu.Unlock()
	return d.settle()
}

// settle waits until the device has taken every message the driver
// queued and the answers to them have been handled. It relies on what
// QEMU does: the device puts its answers to a control message on the
// receive queue before it completes that message. A device that answers
// later has its ports show up later, when they are named.
func (d *driver) settle() error {
	for {
		d.mu.Lock()
		for d.sent < d.queued && d.sendErr == nil {
			d.cond.Wait()
		}
		err := errors.Join(d.sendErr, d.rxErr)
		before := d.queued
		d.mu.Unlock()
		if err != nil {
			return err
		}
		// Answers the interrupt goroutine has not handed over yet. If
		// they call for more messages, those must be taken and answered
		// in turn (the sender may already have sent them: count, do not
		// compare with sent).
		d.ctrlRx.Poll()
		d.mu.Lock()
		quiet := d.queued == before
		d.mu.Unlock()
		if quiet {
			return nil
		}
	}
}

func (d *driver) postCtrl(i int) error {
	b := d.rxBufs[i]
	err := d.ctrlRx.Post(func(n uint32, err error) { d.control(i, n, err) },
		virtio.Buf{Addr: b.addr, Len: uint32(len(b.mem)), DeviceWrites: true})
	if err != nil {
		return fmt.Errorf("virtio-console: control receive queue: %w", err)
	}
	return nil
}

// control handles control receive buffer i, filled with n bytes, on
// the device's interrupt goroutine (or in Poll): one at a time, in the
// order the device sent them.
func (d *driver) control(i int, n uint32, err error) {
	if err != nil {
		d.mu.Lock()
		if d.rxErr == nil {
			d.rxErr = fmt.Errorf("virtio-console: control receive queue: %w", err)
		}
		d.mu.Unlock()
		d.cond.Broadcast()
		return
	}
	b := d.rxBufs[i].mem[:min(int(n), len(d.rxBufs[i].mem))]
	if m, err := decodeCtrl(b); err != nil {
		d.logf("virtio-console: %v", err)
	} else {
		d.handle(m)
	}
	// The message is handled (names are copied): the buffer can go back.
	if err := d.postCtrl(i); err != nil {
		d.mu.Lock()
		if d.rxErr == nil {
			d.rxErr = err
		}
		d.mu.Unlock()
		d.logf("%v", err)
	}
}

// handle applies one message from the device.
func (d *driver) handle(m ctrlMsg) {
	// The device sent the data before the message that closes or
	// removes the port, but on another queue, which the interrupt
	// goroutine may not have looked at yet: hand it over first, so that
	// readers see all of it before end of file.
	if m.event == evPortOpen && m.value == 0 || m.event == evPortRemove {
		if p := d.port(m.id); p != nil {
			p.drainRx()
		}
	}
	d.mu.Lock()
	replies, err := d.t.apply(m)
	var p *Port
	var info portInfo
	if m.id < uint32(len(d.ports)) {
		info = d.t.ports[m.id]
		p = d.ports[m.id]
		if p == nil && info.added {
			rx, tx := d.queues(m.id)
			p = newPort(m.id, d.where, rx, tx, d.alloc)
			d.ports[m.id] = p
		}
	}
	for _, r := range replies {
		d.enqueueLocked(r)
	}
	d.mu.Unlock()
	if err != nil {
		d.logf("virtio-console: %v", err)
	}
	// Under no driver lock: readers of the port hold its lock while
	// they ask the driver for nothing, so the order is driver, port.
	if p != nil {
		p.update(info)
	}
}

func (d *driver) port(id uint32) *Port {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id < uint32(len(d.ports)) {
		return d.ports[id]
	}
	return nil
}

func (d *driver) enqueueLocked(m ctrlMsg) uint64 {
	d.outbox = append(d.outbox, m)
	d.queued++
	d.cond.Broadcast()
	return d.queued
}

// send is the goroutine that gives the driver's control messages to the
// device, one at a time and in order: the interrupt goroutine, where the
// answers are decided, must not wait for the device.
func (d *driver) send() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		for len(d.outbox) == 0 {
			d.cond.Wait()
		}
		m := d.outbox[0]
		d.outbox = d.outbox[1:]
		var err error
		if d.sendErr == nil {
			d.mu.Unlock()
			n := m.encode(d.txBuf.mem)
			_, err = d.ctrlTx.Do(virtio.Buf{Addr: d.txBuf.addr, Len: uint32(n)})
			d.mu.Lock()
		}
		if err != nil && d.sendErr == nil {
			d.sendErr = fmt.Errorf("virtio-console: send %v: %w", m, err)
		}
		d.sent++
		d.cond.Broadcast()
	}
}

// open returns the port named name, opened on the guest's side: the
// device has been told (PORT_OPEN 1) by the time open returns.
func (d *driver) open(name string) (*Port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.t.find(name)
	if !ok {
		return nil, fmt.Errorf("%w named %q on %s", ErrNoPort, name, d.where)
	}
	p := d.ports[id]
	for _, m := range d.t.open(id) {
		seq := d.enqueueLocked(m)
		for d.sent < seq {
			d.cond.Wait()
		}
	}
	if d.sendErr != nil {
		return nil, d.sendErr
	}
	return p, nil
}

// names lists the names of the ports the device has announced.
func (d *driver) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.t.names()
}

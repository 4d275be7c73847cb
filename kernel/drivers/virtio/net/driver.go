package net

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// Buffers: receive and transmit slots of slotSize bytes each, a header
// and a frame. 2 KiB holds the header and a 1514-byte Ethernet frame
// (MTU 1500) and packs two slots to a page.
const (
	slotSize = 2048
	MTU      = 1500 // IP MTU the driver offers: what a slot holds
	maxFrame = MTU + ethHeaderLen
)

// frameOff is where a frame starts in a slot (the header just before it),
// give or take the 0-7 bytes Transmit adds. Go's riscv64 memmove copies
// a word at a time only between addresses equal mod 8, and byte by byte
// otherwise, about eight times the instructions: the 12-byte header put
// every received frame at 4 mod 8 from the stack's buffers, and every
// transmitted one wherever the header left it. A received frame now
// starts 8-aligned, as the stack's buffers do; a transmitted frame is
// placed so that its longest part (the payload) keeps its alignment.
const frameOff = 16

var (
	// ErrNoDevice is returned by Open on a machine without virtio-net.
	ErrNoDevice = errors.New("virtio-net: no device")
	// ErrBusy is returned by Transmit when every transmit slot is in
	// flight; the function given to Attach is called when one frees.
	ErrBusy = errors.New("virtio-net: transmit queue full")
	// ErrFrameSize is returned by Transmit for a frame that is empty or
	// longer than an Ethernet frame at MTU.
	ErrFrameSize = errors.New("virtio-net: frame size")
)

// queue is what the driver needs of a *virtio.Queue.
type queue interface {
	Post(done func(n uint32, err error), bufs ...virtio.Buf) error
	TryPoll() int
	SetInterrupts(on bool)
	SetBatchDone(fn func())
}

// dmaBuf is device-visible memory: mem as the kernel sees it, addr as
// the device does.
type dmaBuf struct {
	mem  []byte
	addr uintptr
}

// Stats counts what went through the device.
type Stats struct {
	RxFrames, RxBytes, RxErrors, RxDropped uint64 // dropped: no receiver attached
	TxFrames, TxBytes, TxErrors            uint64
}

// Receiver takes a received Ethernet frame. It runs on the device's
// interrupt goroutine, one frame at a time; frame is the driver's
// buffer and only valid during the call. csumValid says the device
// checked (or completed) the transport checksum.
type Receiver func(frame []byte, csumValid bool)

// Driver is a set-up virtio-net device: one receive and one transmit
// queue.
type Driver struct {
	mac      [6]byte
	features uint64
	where    string
	split    bool // put the header in a descriptor of its own (legacy without ANY_LAYOUT)
	hdrLen   int
	logf     func(format string, args ...any)

	rxq      queue
	rx       []dmaBuf
	rxDesc   [][]virtio.Buf              // each receive slot's descriptors, made once
	rxDone   []func(n uint32, err error) // each receive slot's completion, made once
	asm      assembler                   // only on the interrupt goroutine
	recv     atomic.Pointer[Receiver]
	batchEnd atomic.Pointer[func()] // see AttachBatchEnd
	room     atomic.Pointer[func()]
	rxErr    atomic.Pointer[error] // sticky: the receive queue broke

	txq    queue
	txMu   sync.Mutex
	tx     []dmaBuf
	txDesc [][2]virtio.Buf             // each transmit slot's descriptors (its sender's until posted)
	txDone []func(n uint32, err error) // each transmit slot's completion, made once
	txFree []int                       // free transmit slots
	txErr  error                       // sticky, under txMu
	txIntr bool                        // transmit completions interrupt (under txMu)
	// reclaiming is set while Transmit polls the transmit queue: the
	// slots freed then are for it, and its caller holds the lock the
	// room function takes.
	reclaiming atomic.Bool

	rxFrames, rxBytes, rxErrors, rxDropped atomic.Uint64
	txFrames, txBytes, txErrors            atomic.Uint64
}

// newDriver makes a driver over set-up queues and their slots. hdrLen
// is the header size the features imply; split asks for the header in
// its own descriptor.
func newDriver(where string, mac [6]byte, features uint64, hdrLen int, split bool,
	rxq, txq queue, rx, tx []dmaBuf, logf func(string, ...any)) *Driver {
	d := &Driver{
		mac: mac, features: features, where: where, split: split, hdrLen: hdrLen, logf: logf,
		rxq: rxq, txq: txq, tx: tx,
		asm: assembler{hdrLen: hdrLen, merge: features&(1<<FeatureMrgRxbuf) != 0, maxFrame: maxFrame},
	}
	// Header and frame in one descriptor: start the buffer so that the
	// frame lands at frameOff. (Split, the device puts the frame right
	// after the header's descriptor, which the assembler expects.)
	d.rx = make([]dmaBuf, len(rx))
	for i, b := range rx {
		if lead := frameOff - hdrLen; !split && lead > 0 && len(b.mem) > lead {
			b = dmaBuf{mem: b.mem[lead:], addr: b.addr + uintptr(lead)}
		}
		d.rx[i] = b
		d.rxDesc = append(d.rxDesc, d.bufs(b, len(b.mem), true))
		d.rxDone = append(d.rxDone, func(n uint32, err error) { d.received(i, n, err) })
	}
	rxq.SetBatchDone(d.rxBatchDone)
	d.txDesc = make([][2]virtio.Buf, len(tx))
	for i := range tx {
		d.txFree = append(d.txFree, i)
		d.txDone = append(d.txDone, func(_ uint32, err error) { d.sent(i, err) })
	}
	return d
}

// bufs is the descriptor list of slot b holding n bytes (header
// included), device-writable or not.
func (d *Driver) bufs(b dmaBuf, n int, writes bool) []virtio.Buf {
	if d.split {
		return []virtio.Buf{
			{Addr: b.addr, Len: uint32(d.hdrLen), DeviceWrites: writes},
			{Addr: b.addr + uintptr(d.hdrLen), Len: uint32(n - d.hdrLen), DeviceWrites: writes},
		}
	}
	return []virtio.Buf{{Addr: b.addr, Len: uint32(n), DeviceWrites: writes}}
}

// start gives the device every receive buffer. Transmit completions
// are not interrupts of their own: a request-response server would take
// one per answer. Every interrupt of the device (each received frame)
// collects them, and Transmit asks for them only when it runs out of
// slots.
func (d *Driver) start() error {
	d.txq.SetInterrupts(false)
	for i := range d.rx {
		if err := d.postRx(i); err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) postRx(i int) error {
	err := d.rxq.Post(d.rxDone[i], d.rxDesc[i]...)
	if err != nil {
		return fmt.Errorf("virtio-net: receive queue: %w", err)
	}
	return nil
}

// received handles receive slot i, which the device wrote n bytes into,
// and gives it back.
//
// The sticky errors are stored through fresh variables declared inside
// the error branches: taking the address of err itself (a parameter, or
// a variable of the whole function) moves it to the heap on every call,
// two allocations per received frame.
func (d *Driver) received(i int, n uint32, err error) {
	if err != nil {
		e := fmt.Errorf("virtio-net: receive queue: %w", err)
		d.rxErr.CompareAndSwap(nil, &e)
		return
	}
	f, ok, err := d.asm.add(d.rx[i].mem, n)
	switch {
	case err != nil:
		d.rxErrors.Add(1)
	case ok:
		if r := d.recv.Load(); r != nil {
			d.rxFrames.Add(1)
			d.rxBytes.Add(uint64(len(f.frame)))
			(*r)(f.frame, f.csumValid)
		} else {
			d.rxDropped.Add(1)
		}
	}
	if err := d.postRx(i); err != nil {
		e := err
		d.rxErr.CompareAndSwap(nil, &e)
		d.logf("%v", err)
	}
}

// Attach sets the function that receives frames (frames arriving before
// are dropped) and the one called when a transmit slot frees after
// Transmit returned ErrBusy. Both run on the device's interrupt
// goroutine and must not block on the device.
func (d *Driver) Attach(r Receiver, room func()) {
	d.room.Store(&room)
	d.recv.Store(&r)
}

// AttachBatchEnd sets a function that runs on the device's interrupt
// goroutine after each batch of received frames: the frames one drain of
// the receive queue brought (its rounds back to back, until the ring is
// empty or the interrupt goroutine's bound), handed to the receiver one
// at a time just before. A receiver that holds a frame back to see whether a later one
// of the same batch makes it unneeded (kernel/net's ACK coalescing)
// delivers what it held then.
func (d *Driver) AttachBatchEnd(fn func()) { d.batchEnd.Store(&fn) }

// rxBatchDone runs after each drain of the receive queue.
func (d *Driver) rxBatchDone() {
	if fn := d.batchEnd.Load(); fn != nil && *fn != nil {
		(*fn)()
	}
}

// MAC is the device's Ethernet address.
func (d *Driver) MAC() [6]byte { return d.mac }

// Features are the device-specific features negotiated.
func (d *Driver) Features() uint64 { return d.features }

// String names the device, e.g. "virtio-net on virtio-mmio slot 0 irq 1".
func (d *Driver) String() string { return "virtio-net on " + d.where }

// Stats returns the counters.
func (d *Driver) Stats() Stats {
	return Stats{
		RxFrames: d.rxFrames.Load(), RxBytes: d.rxBytes.Load(), RxErrors: d.rxErrors.Load(), RxDropped: d.rxDropped.Load(),
		TxFrames: d.txFrames.Load(), TxBytes: d.txBytes.Load(), TxErrors: d.txErrors.Load(),
	}
}

// Transmit sends one Ethernet frame, the concatenation of parts, copied
// into a transmit slot; it returns once the device has it queued, not
// sent. It returns ErrBusy when every slot is in flight: the caller
// keeps the frame and tries again when the room function runs.
func (d *Driver) Transmit(parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n == 0 || n > maxFrame {
		return fmt.Errorf("%w: %d bytes", ErrFrameSize, n)
	}
	d.txMu.Lock()
	if d.txErr != nil {
		err := d.txErr
		d.txMu.Unlock()
		return err
	}
	if len(d.txFree) == 0 {
		d.txMu.Unlock()
		if err := d.reclaim(); err != nil {
			return err
		}
		d.txMu.Lock()
		if len(d.txFree) == 0 { // another sender took it meanwhile
			d.txMu.Unlock()
			return ErrBusy
		}
	} else if d.txIntr && len(d.txFree) > len(d.tx)/2 {
		d.txIntr = false
		d.txq.SetInterrupts(false)
	}
	i := d.txFree[len(d.txFree)-1]
	d.txFree = d.txFree[:len(d.txFree)-1]
	d.txMu.Unlock()

	b := d.tx[i]
	start := frameStart(b.mem, parts)
	// No offloads are asked for: the header is all zeros (num_buffers
	// is 0 on transmit), before the frame or in a descriptor of its own.
	if d.split {
		clear(b.mem[:d.hdrLen])
	} else {
		clear(b.mem[start-d.hdrLen : start])
	}
	off := start
	for _, p := range parts {
		off += copy(b.mem[off:], p)
	}
	desc := d.txDesc[i][:1]
	if d.split {
		desc = d.txDesc[i][:2]
		desc[0] = virtio.Buf{Addr: b.addr, Len: uint32(d.hdrLen)}
		desc[1] = virtio.Buf{Addr: b.addr + uintptr(start), Len: uint32(n)}
	} else {
		desc[0] = virtio.Buf{Addr: b.addr + uintptr(start-d.hdrLen), Len: uint32(d.hdrLen + n)}
	}
	err := d.txq.Post(d.txDone[i], desc...)
	if err != nil {
		// The queue has a descriptor for every slot, so this is a
		// broken queue, not a full one. No room call: the caller may
		// hold the lock the room function takes.
		d.free(i, err, false)
		return fmt.Errorf("virtio-net: transmit queue: %w", err)
	}
	d.txFrames.Add(1)
	d.txBytes.Add(uint64(n))
	return nil
}

// frameStart is where in slot mem a frame made of parts starts: at
// frameOff plus 0-7 bytes, so that its longest part is copied between
// addresses equal mod 8 (see frameOff).
func frameStart(mem []byte, parts [][]byte) int {
	longest, before, at := -1, 0, 0
	for k, p := range parts {
		if longest < 0 || len(p) > len(parts[longest]) {
			longest, at = k, before
		}
		before += len(p)
	}
	if longest < 0 || len(parts[longest]) == 0 || len(mem) == 0 {
		return frameOff
	}
	src := uintptr(unsafe.Pointer(unsafe.SliceData(parts[longest])))
	dst := uintptr(unsafe.Pointer(unsafe.SliceData(mem))) + frameOff + uintptr(at)
	return frameOff + int((src-dst)&7)
}

// reclaim takes the transmit completions the device published without
// an interrupt. It asks for interrupts first, so that one the poll
// misses raises one (and with it the room call a caller that got
// ErrBusy waits for). It returns with a free slot, or ErrBusy, or the
// queue's error.
func (d *Driver) reclaim() error {
	d.txMu.Lock()
	if !d.txIntr {
		d.txIntr = true
		d.txq.SetInterrupts(true)
	}
	d.txMu.Unlock()
	// TryPoll, not Poll: the interrupt goroutine may be handing over
	// completions right now, its room call waiting for the lock our
	// caller holds; it frees slots itself then.
	d.reclaiming.Store(true)
	d.txq.TryPoll()
	d.reclaiming.Store(false)
	d.txMu.Lock()
	defer d.txMu.Unlock()
	if d.txErr != nil {
		return d.txErr
	}
	if len(d.txFree) == 0 {
		return ErrBusy
	}
	return nil
}

// sent frees transmit slot i once the device is done with it.
func (d *Driver) sent(i int, err error) { d.free(i, err, true) }

func (d *Driver) free(i int, err error, wake bool) {
	d.txMu.Lock()
	if err != nil {
		d.txErrors.Add(1)
		if d.txErr == nil {
			d.txErr = fmt.Errorf("virtio-net: transmit queue: %w", err)
		}
	}
	d.txFree = append(d.txFree, i)
	d.txMu.Unlock()
	// Every time, not only when the first slot frees: a caller that got
	// ErrBusy may queue its frame after that first call.
	if r := d.room.Load(); wake && !d.reclaiming.Load() && r != nil && *r != nil {
		(*r)()
	}
}

// Err returns why the device stopped working, or nil.
func (d *Driver) Err() error {
	if e := d.rxErr.Load(); e != nil {
		return *e
	}
	d.txMu.Lock()
	defer d.txMu.Unlock()
	return d.txErr
}

package console

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// Buffers of a port, allocated on first use and never freed. Receive
// buffers match QEMU's chardev reads (4 KiB at most each), so a full
// receive queue holds 64 KiB. Transmit buffers are larger, for fewer
// round trips, and several are in flight so that the device has the next
// one when its chardev takes the last.
const (
	rxBufs     = 16
	rxBufPages = 1
	txBufs     = 4
)

// txBufPages is each transmit buffer's size in pages: 8 (128 KiB of
// device memory for a port written to), or smallTxBufPages on a small
// machine (see SizeForRAM), where those 128 KiB would be taken from the
// application's room.
var txBufPages = 8

const (
	smallTxBufPages = 1
	smallRAM        = 64 << 20
)

// SizeForRAM sizes the transmit buffers for a machine with ram bytes of
// RAM: below 64 MiB a port's four buffers take 16 KiB, not 128 (more
// requests for a large write; the output is the same). Before the first
// Write.
func SizeForRAM(ram uint64) {
	if ram != 0 && ram < smallRAM {
		txBufPages = smallTxBufPages
	}
}

// ErrRemoved is returned by Write on a port the device has removed.
var ErrRemoved = errors.New("virtio-console: port removed")

// ErrHostClosed is returned by Write once the host has closed its side
// after having had it open (runikraft run could not write the output on:
// stdout is /dev/full, a closed pipe): the data would be lost.
var ErrHostClosed = errors.New("virtio-console: host closed the port")

// queue is what a port needs of a *virtio.Queue.
type queue interface {
	Post(done func(n uint32, err error), bufs ...virtio.Buf) error
	Poll() int
}

// dmaBuf is device-visible memory: mem as the kernel sees it, addr as
// the device does.
type dmaBuf struct {
	mem  []byte
	addr uintptr
}

// allocFunc returns a DMA buffer of the given number of pages.
type allocFunc func(pages int) (dmaBuf, error)

// filled is a receive buffer the device has written n bytes into, of
// which the first off have been read.
type filled struct {
	buf    int
	n, off int
}

// Port is one port of a virtio-console device. Read and Write are safe
// for concurrent use; Writes do not interleave.
type Port struct {
	id    uint32
	where string // the device, for messages
	rxq   queue
	txq   queue
	alloc allocFunc

	// name mirrors info.name for String, which error messages call
	// with mu held.
	name atomic.Pointer[string]

	mu    sync.Mutex
	cond  sync.Cond // data, end of file or an error for readers
	info  portInfo
	rx    []dmaBuf // nil until the first Read
	ready []filled // in the order the device filled them
	rxErr error    // sticky

	wmu    sync.Mutex // one Write at a time, so bytes stay in order
	tx     []dmaBuf
	txFree []int
	txDone chan txResult
	// hostGone is poked when the host closes its side: QEMU may keep a
	// transmit request it could not pass on (stdout on /dev/full) and
	// never complete it, so a Write waiting for it must stop waiting.
	hostGone chan struct{}
}

type txResult struct {
	buf int
	err error
}

func newPort(id uint32, where string, rxq, txq queue, alloc allocFunc) *Port {
	p := &Port{id: id, where: where, rxq: rxq, txq: txq, alloc: alloc, hostGone: make(chan struct{}, 1)}
	p.cond.L = &p.mu
	return p
}

// ID is the port's number on its device.
func (p *Port) ID() uint32 { return p.id }

// Name is the port's name (QEMU: virtserialport's name property).
func (p *Port) Name() string {
	if n := p.name.Load(); n != nil {
		return *n
	}
	return ""
}

// HostConnected reports whether the device last said that the host side
// of the port is open.
func (p *Port) HostConnected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info.hostOpen
}

// String describes the port, e.g.
// `virtio-console port 1 "runikraft.stdin" (virtio-mmio slot 7 irq 8)`.
func (p *Port) String() string {
	return fmt.Sprintf("virtio-console port %d %q (%s)", p.id, p.Name(), p.where)
}

// update takes the port's state from the control protocol.
func (p *Port) update(info portInfo) {
	p.name.Store(&info.name)
	p.mu.Lock()
	p.info = info
	p.mu.Unlock()
	p.cond.Broadcast()
	if info.everOpen && !info.hostOpen {
		select {
		case p.hostGone <- struct{}{}:
		default:
		}
	}
}

// hostClosed reports whether the host side, once open, is closed now.
func (p *Port) hostClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info.everOpen && !p.info.hostOpen
}

// Read reads what the host sent on the port, waiting until there is
// something. It returns io.EOF once the host has closed its side (PORT_OPEN
// 0, e.g. QEMU's chardev reached end of file) and everything sent before
// has been read; if the host opens the port again, later Reads wait for
// data again. Before the host side was ever open, Read waits for it, like
// a FIFO without a writer yet. A removed port reads as end of file.
//
// The first Read gives the device the port's receive buffers; until then
// the host's data stays with the host. Received data waits in those
// buffers, which go back to the device only once read, so a guest that
// does not read holds the host back instead of filling its memory.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.startRxLocked(); err != nil {
		return 0, err
	}
	for len(p.ready) == 0 {
		switch {
		case p.rxErr != nil:
			return 0, p.rxErr
		case !p.info.added, p.info.everOpen && !p.info.hostOpen:
			return 0, io.EOF
		}
		p.cond.Wait()
	}
	f := &p.ready[0]
	n := copy(b, p.rx[f.buf].mem[f.off:f.n])
	f.off += n
	if f.off == f.n {
		buf := f.buf
		p.ready = p.ready[1:]
		if err := p.postRxLocked(buf); err != nil {
			// The data is delivered; the next Read reports the error.
			p.rxErr = err
		}
	}
	return n, nil
}

// startRxLocked allocates the receive buffers and gives them to the
// device, on the first Read.
func (p *Port) startRxLocked() error {
	if p.rx != nil || p.rxErr != nil {
		return p.rxErr
	}
	rx := make([]dmaBuf, 0, rxBufs)
	for range rxBufs {
		b, err := p.alloc(rxBufPages)
		if err != nil {
			p.rxErr = fmt.Errorf("%v: receive buffers: %w", p, err)
			return p.rxErr
		}
		rx = append(rx, b)
	}
	p.rx = rx
	for i := range p.rx {
		if err := p.postRxLocked(i); err != nil {
			p.rxErr = err
			return err
		}
	}
	return nil
}

func (p *Port) postRxLocked(i int) error {
	b := p.rx[i]
	err := p.rxq.Post(func(n uint32, err error) { p.received(i, n, err) },
		virtio.Buf{Addr: b.addr, Len: uint32(len(b.mem)), DeviceWrites: true})
	if err != nil {
		return fmt.Errorf("%v: receive: %w", p, err)
	}
	return nil
}

// received is the completion of receive buffer i, on the device's
// interrupt goroutine.
func (p *Port) received(i int, n uint32, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil:
		if p.rxErr == nil {
			p.rxErr = fmt.Errorf("%v: receive: %w", p, err)
		}
	case n == 0:
		// Nothing to read: straight back to the device.
		if err := p.postRxLocked(i); err != nil && p.rxErr == nil {
			p.rxErr = err
		}
	default:
		p.ready = append(p.ready, filled{buf: i, n: int(min(int(n), len(p.rx[i].mem)))})
	}
	p.cond.Broadcast()
}

// drainRx hands over the data the device has put in the receive queue.
// The driver calls it before applying a PORT_OPEN 0 or PORT_REMOVE, which
// the device sent after that data, on another queue.
func (p *Port) drainRx() {
	p.mu.Lock()
	started := p.rx != nil
	p.mu.Unlock()
	if started {
		p.rxq.Poll()
	}
}

// Write sends b to the host and returns once the device has taken all of
// it, i.e. handed it to the host side: a slow host slows the writer down
// (QEMU keeps a buffer it cannot pass on yet until it can). Bytes go out
// in order; concurrent Writes take turns.
//
// If the host side was never open, the device drops what it is given
// (QEMU does: a virtserialport without a connected chardev discards the
// transmit queue), so Write does not wait for a reader and returns
// len(b) as a serial line would. Once a host side that was open has
// closed, Write fails with ErrHostClosed: the reader went away. A removed
// port or a broken queue make Write fail too; it then reports how many
// bytes the device took.
func (p *Port) Write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	added, closed := p.info.added, p.info.everOpen && !p.info.hostOpen
	p.mu.Unlock()
	if !added {
		return 0, fmt.Errorf("%v: write: %w", p, ErrRemoved)
	}
	if closed {
		return 0, fmt.Errorf("%v: write: %w", p, ErrHostClosed)
	}
	if err := p.startTx(); err != nil {
		return 0, err
	}
	var (
		written  int
		sizes    = make([]int, len(p.tx)) // bytes in flight per buffer
		inFlight int
		doneErr  error // the first failed request
		postErr  error // a request that could not be posted
	)
	wait := func() {
		var r txResult
		select {
		case r = <-p.txDone:
		default:
			// QEMU completes a transmit request while it handles the
			// notification: looking before sleeping saves waiting for
			// the interrupt, the bulk of a small write's cost.
			p.txq.Poll()
			// A select of one case and a default is a plain
			// non-blocking receive; the runtime's general select below
			// is then code only a write that really waits needs
			// (QEMU translated it at every boot under runikraft run).
			done := false
			select {
			case r = <-p.txDone:
				done = true
			default:
			}
			if done {
				break
			}
			select {
			case r = <-p.txDone:
			case <-p.hostGone:
				if !p.hostClosed() {
					return // reopened since: keep waiting
				}
				// The host went away with requests in flight: they
				// are the device's now (a late completion returns
				// the buffer through txDone to a later Write).
				inFlight = 0
				if doneErr == nil {
					doneErr = fmt.Errorf("%v: write: %w", p, ErrHostClosed)
				}
				return
			}
		}
		inFlight--
		p.txFree = append(p.txFree, r.buf)
		if r.err != nil && doneErr == nil {
			doneErr = fmt.Errorf("%v: write: %w", p, r.err)
		}
		// Requests complete in order, so everything before the first
		// failure was taken.
		if doneErr == nil {
			written += sizes[r.buf]
		}
	}
	for len(b) > 0 && doneErr == nil && postErr == nil {
		if len(p.txFree) == 0 {
			wait()
			continue
		}
		i := p.txFree[len(p.txFree)-1]
		p.txFree = p.txFree[:len(p.txFree)-1]
		n := copy(p.tx[i].mem, b)
		sizes[i] = n
		err := p.txq.Post(func(_ uint32, err error) { p.txDone <- txResult{i, err} },
			virtio.Buf{Addr: p.tx[i].addr, Len: uint32(n)})
		if err != nil {
			p.txFree = append(p.txFree, i)
			postErr = fmt.Errorf("%v: write: %w", p, err)
			break
		}
		inFlight++
		b = b[n:]
	}
	for inFlight > 0 {
		wait()
	}
	if doneErr != nil {
		return written, doneErr
	}
	return written, postErr
}

// startTx allocates the transmit buffers on the first Write.
func (p *Port) startTx() error {
	if p.tx != nil {
		return nil
	}
	tx := make([]dmaBuf, 0, txBufs)
	for range txBufs {
		b, err := p.alloc(txBufPages)
		if err != nil {
			return fmt.Errorf("%v: transmit buffers: %w", p, err)
		}
		tx = append(tx, b)
	}
	p.tx = tx
	p.txDone = make(chan txResult, len(tx)) // never full: one per buffer
	for i := range tx {
		p.txFree = append(p.txFree, i)
	}
	return nil
}

// Package uart receives from the machine's ns16550a UART (QEMU virt's
// serial port): the receive-data interrupt fills a buffer that Read
// empties. Transmission is not here: the hart layer owns the transmit
// side (the kernel's fd 1 and 2, written from trap context), and a
// second writer of the transmit register would interleave with it.
//
// The UART has no end of file. A byte 0x04 (Ctrl-D) is just a byte, and
// a Read waits for ever once the host stops sending; callers that need
// an end agree on one in the data, e.g. a line "END".
//
// Flow control: when the buffer is full the driver stops emptying the
// UART's FIFO, and QEMU stops reading from its chardev while the FIFO is
// full, so the host side waits instead of losing bytes.
//
// The receive loop (this file) is plain Go and tested on the host with
// fake registers; device.go touches the hardware and builds for riscv64.
package uart

import (
	"errors"
	"fmt"
	"sync"
)

// ns16550a registers (byte offsets; QEMU virt has no reg-shift) and bits.
const (
	regRBR = 0 // receive buffer (read, DLAB 0)
	regIER = 1 // interrupt enable
	regIIR = 2 // interrupt identification (read)
	regFCR = 2 // FIFO control (write)
	regLSR = 5 // line status

	ierRDI = 0x01 // interrupt when received data is available

	iirFIFOs = 0xc0 // both set when the FIFOs are enabled

	fcrEnable    = 0x01
	fcrTrigger14 = 0xc0 // receive interrupt at 14 bytes (or after a pause)

	lsrDR = 0x01 // data ready
	lsrOE = 0x02 // overrun: a byte was lost before we read the FIFO
)

// bufSize is how much the driver takes in before it stops emptying the
// FIFO and so holds the host back.
const bufSize = 64 << 10

// ErrNoUART is returned by Open on a machine whose device tree has no
// ns16550a with an interrupt.
var ErrNoUART = errors.New("uart: no ns16550a UART with an interrupt")

// Receiver is the receiving side of a UART. Read is safe for concurrent
// use (each byte goes to one reader).
type Receiver struct {
	where string

	// Hardware access, faked in tests.
	lsr  func() byte
	rbr  func() byte
	wait func() error // until the receive interrupt fires; masked until the next call

	mu       sync.Mutex
	cond     sync.Cond // data for readers, room for the receive loop
	buf      []byte    // ring
	r, n     int       // read position, bytes buffered
	err      error     // sticky: waiting for the interrupt failed
	overruns uint64
}

func newReceiver(where string, size int, lsr, rbr func() byte, wait func() error) *Receiver {
	u := &Receiver{where: where, lsr: lsr, rbr: rbr, wait: wait, buf: make([]byte, size)}
	u.cond.L = &u.mu
	return u
}

// String describes the UART, e.g. "ns16550a at 0x10000000 irq 10".
func (u *Receiver) String() string { return u.where }

// Overruns is how many times the UART reported a lost byte: bytes came
// faster than the interrupt was served. QEMU never overruns (it holds
// its chardev back instead).
func (u *Receiver) Overruns() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.overruns
}

// run is the receive loop: drain the FIFO into the buffer, then wait
// for the interrupt. Draining first also takes what arrived before the
// interrupt was enabled. The UART's interrupt line stays up until the
// FIFO is drained, so a source left masked while the buffer is full
// cannot storm.
func (u *Receiver) run() {
	for {
		u.drain()
		if err := u.wait(); err != nil {
			u.mu.Lock()
			u.err = fmt.Errorf("uart: %s: %w", u.where, err)
			u.mu.Unlock()
			u.cond.Broadcast()
			return
		}
	}
}

// drain moves bytes from the FIFO into the buffer while there are any,
// waiting for readers to make room when it is full.
func (u *Receiver) drain() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for {
		lsr := u.lsr()
		if lsr&lsrOE != 0 {
			u.overruns++
		}
		if lsr&lsrDR == 0 {
			return
		}
		for u.n == len(u.buf) {
			u.cond.Wait()
		}
		u.buf[(u.r+u.n)%len(u.buf)] = u.rbr()
		if u.n == 0 {
			u.cond.Broadcast()
		}
		u.n++
	}
}

// Read returns the bytes received so far, waiting until there is at
// least one. It never returns io.EOF: a UART has no end of file.
func (u *Receiver) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.n == 0 {
		if u.err != nil {
			return 0, u.err
		}
		u.cond.Wait()
	}
	k := 0
	for k < len(p) && u.n > 0 {
		c := copy(p[k:], u.buf[u.r:min(u.r+u.n, len(u.buf))])
		k += c
		u.r = (u.r + c) % len(u.buf)
		u.n -= c
	}
	if u.n+k == len(u.buf) {
		u.cond.Broadcast() // the receive loop may wait for room
	}
	return k, nil
}

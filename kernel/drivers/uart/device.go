//go:build riscv64

package uart

import (
	"strconv"
	"sync"

	"github.com/runikraft/runikraft/kernel/hart"
	"github.com/runikraft/runikraft/kernel/reg"
)

// open starts the receiver of the device tree's UART, once.
var open = sync.OnceValues(func() (*Receiver, error) {
	m := hart.Machine().UART
	if m.Base == 0 || m.IRQ == 0 {
		return nil, ErrNoUART
	}
	base, irq := uintptr(m.Base), m.IRQ
	u := newReceiver(Describe(), bufSize,
		func() byte { return reg.Read8(base + regLSR) },
		func() byte { return reg.Read8(base + regRBR) },
		func() error { return hart.WaitIRQ(irq) })
	// With the FIFOs on (OpenSBI turns them on), interrupt at 14 bytes
	// rather than at every byte; a pause in the input still interrupts.
	// Rewriting FCR with the enable bit unchanged clears no FIFO.
	if reg.Read8(base+regIIR)&iirFIFOs == iirFIFOs {
		reg.Write8(base+regFCR, fcrEnable|fcrTrigger14)
	}
	// Only the receive interrupt: the hart layer polls for transmission.
	reg.Write8(base+regIER, reg.Read8(base+regIER)|ierRDI)
	go u.run()
	return u, nil
})

// Present reports whether the machine has a UART the receiver can use.
func Present() bool {
	m := hart.Machine().UART
	return m.Base != 0 && m.IRQ != 0
}

// Describe names the machine's UART, e.g. "ns16550a at 0x10000000 irq
// 10". strconv, not fmt: fmt's code is otherwise first needed (and
// translated by QEMU) only on an error.
func Describe() string {
	m := hart.Machine().UART
	return "ns16550a at 0x" + strconv.FormatUint(uint64(m.Base), 16) + " irq " + strconv.FormatUint(uint64(m.IRQ), 10)
}

// Open returns the receiver of the machine's UART, enabling its receive
// interrupt and starting the receive loop on first use.
func Open() (*Receiver, error) { return open() }

//go:build riscv64

package uart

import (
	"fmt"
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
	u := newReceiver(fmt.Sprintf("ns16550a at %#x irq %d", base, irq), bufSize,
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

// Open returns the receiver of the machine's UART, enabling its receive
// interrupt and starting the receive loop on first use.
func Open() (*Receiver, error) { return open() }

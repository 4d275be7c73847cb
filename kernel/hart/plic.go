//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Device interrupts. The PLIC is claimed in trap context; the source is
// masked and marked pending, and the thread waiting for it (a driver
// goroutine in WaitIRQ) runs again. The driver acknowledges the device
// and waits again, which unmasks the source: handlers never run in trap
// context, and a level-triggered device cannot storm.

const maxIRQ = 128

var irqPending [maxIRQ]bool

// plicContext is the PLIC context of the boot hart's S-mode interrupts,
// as the device tree's interrupts-extended says (it differs between
// QEMU TCG, which also has M-mode contexts, and KVM); without that,
// QEMU virt's TCG layout.
//
//go:nosplit
func plicContext() uintptr {
	if ctx, ok := machine.PLICContext(uint64(harts[0].id)); ok {
		return uintptr(ctx)
	}
	return 2*harts[0].id + 1
}

//go:nosplit
func plicEnable(irq uintptr, on bool) {
	base := uintptr(machine.PLIC.Base)
	if base == 0 {
		return
	}
	reg.Write32(base+4*irq, 1) // priority above the threshold (0)
	en := base + 0x2000 + 0x80*plicContext() + 4*(irq/32)
	v := reg.Read32(en)
	if on {
		v |= 1 << (irq % 32)
	} else {
		v &^= 1 << (irq % 32)
	}
	reg.Write32(en, v)
	reg.Write32(base+0x200000+0x1000*plicContext(), 0)
}

// pollPLIC claims every pending source.
//
//go:nosplit
func pollPLIC() {
	base := uintptr(machine.PLIC.Base)
	if base == 0 {
		return
	}
	claim := base + 0x200004 + 0x1000*plicContext()
	for n := 0; n < maxIRQ; n++ {
		irq := uintptr(reg.Read32(claim))
		if irq == 0 {
			return
		}
		if irq < maxIRQ {
			plicEnable(irq, false)
			irqPending[irq] = true
			for j := int32(0); j < nthreads && j < maxThreads; j++ {
				if threads[j].state == tBlocked && threads[j].wait == wIRQ && threads[j].key == irq {
					wake(j) // restart: WaitIRQ runs again and sees pending
				}
			}
		}
		reg.Write32(claim, uint32(irq))
	}
}

// waitIRQ returns at once if irq fired since the last call; otherwise it
// unmasks the source and blocks (reporting false).
//
//go:nosplit
func waitIRQ(t *thread, irq uint64) bool {
	if irq == 0 || irq >= maxIRQ || machine.PLIC.Base == 0 {
		t.fr.x[abi.RegA0] = neg(int64(linux.EINVAL))
		return true
	}
	if irqPending[irq] {
		irqPending[irq] = false
		t.fr.x[abi.RegA0] = 0
		return true
	}
	plicEnable(uintptr(irq), true)
	block(t, wIRQ, uintptr(irq), 0)
	return false
}

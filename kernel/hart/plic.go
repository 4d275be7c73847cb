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
// unmasks the source and blocks (reporting false). A waiter that passes
// flags waitIRQYield returns EAGAIN instead when the hart runs out of
// threads to run (yieldIRQIdle).
//
//go:nosplit
func waitIRQ(t *thread, irq, flags uint64) bool {
	if irq == 0 || irq >= maxIRQ || machine.PLIC.Base == 0 {
		t.fr.x[abi.RegA0] = neg(int64(linux.EINVAL))
		return true
	}
	if irqPending[irq] {
		irqPending[irq] = false
		irqYielded[irq] = false
		t.fr.x[abi.RegA0] = 0
		return true
	}
	if irqYielded[irq] {
		irqYielded[irq] = false
		t.fr.x[abi.RegA0] = neg(int64(linux.EAGAIN))
		return true
	}
	plicEnable(uintptr(irq), true)
	irqYield[irq] = flags&waitIRQYield != 0
	block(t, wIRQ, uintptr(irq), 0)
	return false
}

// waitIRQYield (WaitIRQ's second argument) asks waitIRQ to return EAGAIN
// when the hart would otherwise go idle with the waiter blocked.
const waitIRQYield = 1

var (
	irqYield   [maxIRQ]bool // the waiter for this source passed waitIRQYield
	irqYielded [maxIRQ]bool // its wait ends with EAGAIN (yieldIRQIdle woke it)
)

// yieldIRQIdle wakes the interrupt waits that asked for it, to return
// EAGAIN, and reports whether it did, when no hart has anything to run.
// A driver goroutine's WaitIRQ is, for the kernel's Go runtime, a system
// call that keeps its P: the goroutines it made runnable just before
// (gVisor's TCP processor, the application's thread woken by a frame)
// sit in that P's run queue while the hart waits in WFI, until the
// runtime's sysmon sees the same call twice and retakes the P, 1-3 ms
// here (sys.go's minSleepNS and the timer grid). Told EAGAIN, WaitIRQ
// waits again with the P handed off (api.go), which runs them at once.
// Only when the hart would idle: a busy hart runs those goroutines when
// the running thread next gives its P back, and the handoff costs a
// thread wake-up. Called by idle under bkl; every other hart must be
// idle too, as in handOffIdle.
//
//go:nosplit
func yieldIRQIdle(h *hartState) bool {
	if !othersIdle(h) {
		return false
	}
	done := false
	for i := int32(0); i < nthreads && i < maxThreads; i++ {
		t := &threads[i]
		k := t.key // once: the stores below could alias it
		if t.state != tBlocked || t.wait != wIRQ || k >= maxIRQ || !irqYield[k] {
			continue
		}
		irqYield[k] = false
		irqYielded[k] = true
		wake(i) // restart: waitIRQ runs again and returns EAGAIN
		done = true
	}
	return done
}

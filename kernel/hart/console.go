//go:build riscv64

package hart

import (
	"unsafe"

	"github.com/runikraft/runikraft/kernel/reg"
)

// Console output for the hart layer: polled writes to the device tree's
// ns16550a UART through kernel/reg. Safe in trap context and before
// paging: boot uses the UART's physical address, and once paging is on
// machine.UART.Base is its address in the kernel's device region
// (mmioVA).

const defaultUART = 0x1000_0000 // QEMU virt's, used only before the DT is read (paging off)

//go:nosplit
func uartBase() uintptr {
	if machine.UART.Base != 0 {
		return uintptr(machine.UART.Base)
	}
	return defaultUART
}

//go:nosplit
func putc(c byte) {
	base := uartBase()
	for i := 0; i < 1_000_000 && reg.Read8(base+5)&0x20 == 0; i++ {
	}
	reg.Write8(base, c)
}

// consoleWrite writes n bytes at kernel address p.
//
//go:nosplit
func consoleWrite(p uintptr, n uintptr) {
	for i := uintptr(0); i < n; i++ {
		putc(*(*byte)(unsafe.Add(nil, p+i)))
	}
}

//go:nosplit
func puts(s string) {
	for i := 0; i < len(s); i++ {
		putc(s[i])
	}
}

//go:nosplit
func putHex(v uint64) {
	puts("0x")
	for shift := 60; shift >= 0; shift -= 4 {
		putc("0123456789abcdef"[(v>>uint(shift))&15])
	}
}

//go:nosplit
func putDec(v int64) {
	u := uint64(v)
	if v < 0 {
		putc('-')
		u = -u // the magnitude, math.MinInt64's too
	}
	var buf [20]byte
	i := len(buf)
	for i > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	for j, c := range buf {
		if j >= i {
			putc(c)
		}
	}
}

// ConsoleWrite writes p to the UART as the kernel's fd 1 and 2 do, but
// called directly: without os.File, the poller's locks and a system-call
// trap, code that the application's first output would otherwise run
// (and QEMU translate) at every boot. Callers serialise their writes.
func ConsoleWrite(p []byte) {
	for _, c := range p {
		putc(c)
	}
}

//go:build riscv64

package posix

import (
	"fmt"

	"github.com/runikraft/runikraft/kernel/abi"
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/hart"
)

func init() {
	currentCPU = hart.UserCPU
	cpuInfo = func() string {
		m := hart.Machine()
		isa := string(m.ISA[:min(m.ISALen, len(m.ISA))])
		var b []byte
		_, online := hart.CPUInfo()
		for k := 0; k < online; k++ {
			id, ok := hart.HartID(k)
			if !ok {
				break
			}
			b = fmt.Appendf(b, "processor\t: %d\nhart\t\t: %d\nisa\t\t: %s\nmmu\t\t: sv39\n\n", k, id, isa)
		}
		return string(b)
	}
}

// HartCPU is the real CPU: the hart layer of this machine.
type HartCPU struct{}

func (HartCPU) EnterUser(u *abi.UserContext) error { return hart.EnterUser(u) }
func (HartCPU) Kick(u *abi.UserContext)            { hart.Kick(u) }
func (HartCPU) Map(addr, length uintptr, prot, flags uint32) (uintptr, Errno) {
	return hart.UserMap(addr, length, prot, flags)
}
func (HartCPU) Unmap(addr, length uintptr) Errno { return hart.UserUnmap(addr, length) }
func (HartCPU) Protect(addr, length uintptr, prot uint32) Errno {
	return hart.UserProtect(addr, length, prot)
}
func (HartCPU) Advise(addr, length uintptr, advice int) Errno {
	return hart.UserAdvise(addr, length, advice)
}
func (HartCPU) CopyIn(dst []byte, src uintptr) Errno  { return hart.CopyIn(dst, src) }
func (HartCPU) CopyOut(dst uintptr, src []byte) Errno { return hart.CopyOut(dst, src) }

func (HartCPU) CopyInString(src uintptr, max int) (string, Errno) {
	return copyInString(hart.CopyIn, new([linux.PageSize]byte), src, max) // not hart.CopyInString: see copyInString
}

func (HartCPU) FutexWake(addr uintptr, n int, bitset uint32) int {
	return hart.UserFutexWake(addr, n, bitset)
}
func (HartCPU) FutexRequeue(from, to uintptr, n int) int { return hart.UserFutexRequeue(from, to, n) }
func (HartCPU) FutexWaiters(addr uintptr, delta int)     { hart.UserFutexWaiters(addr, delta) }

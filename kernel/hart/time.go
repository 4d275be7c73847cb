//go:build riscv64

package hart

import (
	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/reg"
)

// Time: the rdtime counter at the device tree's timebase, plus the
// wall-clock offset read once from QEMU virt's goldfish RTC.

//go:nosplit
func ticksToNS(t uint64) int64 {
	hz := machine.TimebaseHz
	if hz == 0 {
		return 0 // not reached: boot sets a default timebase
	}
	return int64(t/hz)*1e9 + int64(t%hz*1e9/hz)
}

// slackTicks and quantumTicks are slackNS and quantumNS in ticks,
// set by initTicks once boot knows the timebase: arm and schedule use
// them at every trap exit, and nsToTicks' divisions were about 20
// instructions each time (13 arms an nginx request).
var slackTicks, quantumTicks uint64

// initTicks sets slackTicks and quantumTicks (boot, after the timebase).
//
//go:nosplit
func initTicks() {
	slackTicks = nsToTicks(slackNS)
	quantumTicks = nsToTicks(quantumNS)
}

//go:nosplit
func nsToTicks(ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	hz := machine.TimebaseHz
	return uint64(ns/1e9)*hz + uint64(ns%1e9)*hz/1e9
}

//go:nosplit
func initClock() {
	if machine.RTC.Base == 0 {
		return
	}
	base := uintptr(machine.RTC.Base)
	lo := reg.Read32(base) // reading TIME_LOW latches TIME_HIGH
	hi := reg.Read32(base + 4)
	bootWall = int64(uint64(hi)<<32|uint64(lo)) - ticksToNS(reg.ReadTime())
}

const (
	clockRealtime       = 0
	clockRealtimeCoarse = 5
	clockTAI            = 11
)

//go:nosplit
func clockGettime(clk uint64, ts uintptr) int64 {
	if clk > 11 {
		return -int64(linux.EINVAL)
	}
	if !backed(ts, 16, true) {
		return -int64(linux.EFAULT)
	}
	ns := ticksToNS(reg.ReadTime())
	if clk == clockRealtime || clk == clockRealtimeCoarse || clk == clockTAI {
		ns += bootWall
	}
	put64(ts, uint64(ns/1e9))
	put64(ts+8, uint64(ns%1e9))
	return 0
}

//go:nosplit
func gettimeofday(tv uintptr) int64 {
	if tv == 0 {
		return 0
	}
	if !backed(tv, 16, true) {
		return -int64(linux.EFAULT)
	}
	ns := ticksToNS(reg.ReadTime()) + bootWall
	put64(tv, uint64(ns/1e9))
	put64(tv+8, uint64(ns%1e9/1000))
	return 0
}

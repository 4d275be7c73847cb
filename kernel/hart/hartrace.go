//go:build riscv64 && hartprof && hartrace

package hart

import (
	"sync/atomic"

	"github.com/runikraft/runikraft/kernel/reg"
)

// An event trace of the hartprof window (build with -tags
// hartprof,hartrace): every trap, resume, timer programming, IPI and idle
// period, in order, printed at power-off as lines
//
//	ev US hHART kKIND tTHREAD aAPPTID ARG [ra RA]
//
// US is microseconds since the window opened; KIND 1 trap (ARG: the
// cause; 2<<32|nr for a kernel runtime call, whose return address is RA;
// 5<<32|nr an application ECALL; 4<<32|cause another user trap), 2
// resume (ARG 1: of user mode), 3 timer programmed (ARG: the deadline in
// rdtime ticks), 4 IPI sent, 5 idle period ended (ARG: its ticks).
// go tool addr2line on the image names the RAs.
const (
	evTrap = iota + 1
	evResume
	evTimerSet
	evIPI
	evIdle
	traceCap = 40000
)

type traceEv struct{ t, who, arg, ra uint64 }

var (
	tracing  bool
	traceN   uint64
	traceBuf [traceCap]traceEv
)

//go:nosplit
func trace(h *hartState, kind int, arg, ra uint64) {
	n := atomic.AddUint64(&traceN, 1) - 1
	if n >= traceCap {
		return
	}
	e := &traceBuf[n]
	e.t = reg.ReadTime()
	e.who = uint64(kind) | uint64(h.cpu&0xff)<<8 | uint64(uint16(h.cur))<<16
	if i := h.cur; i >= 0 && i < maxThreads {
		e.who |= uint64(uint32(threads[i].appTid)) << 32
	}
	e.arg, e.ra = arg, ra
}

//go:nosplit
func traceDump() {
	n := traceN
	if n > traceCap {
		n = traceCap
	}
	for i := uint64(0); i < n; i++ {
		e := &traceBuf[i]
		puts("ev ")
		putDec(int64(ticksToNS(e.t-markedAt) / 1000))
		puts(" h")
		putDec(int64(e.who >> 8 & 0xff))
		puts(" k")
		putDec(int64(e.who & 0xff))
		puts(" t")
		putDec(int64(int16(e.who >> 16)))
		puts(" a")
		putDec(int64(e.who >> 32))
		puts(" ")
		putHex(e.arg)
		if e.ra != 0 {
			puts(" ra ")
			putHex(e.ra)
		}
		puts("\n")
	}
}

package posix

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/runikraft/runikraft/kernel/abi"
)

// The crash report's backtrace. Programs built with -O2 keep no frame
// pointers, so the return addresses are found as a debugger without
// unwind tables would find them: the pc, ra, then the words on the stack
// that are addresses inside the application's functions (Symbolize names
// them) right after a call instruction. A stale return address left on
// the stack by a call that already returned can appear; the report says
// so.

const (
	maxFrames    = 16
	maxScanBytes = 16 << 10 // of stack above sp
)

// backtrace returns the crashed thread's likely call chain, innermost
// first: pc, ra, then return addresses found on the stack.
func (t *Thread) backtrace() []uint64 {
	sym := t.p.cfg.Symbolize
	if sym == nil {
		return nil
	}
	frames := []uint64{t.u.PC}
	if ra := t.u.X[abi.RegRA]; ra != t.u.PC && sym(ra) != "" {
		frames = append(frames, ra)
	}
	sp := uintptr(t.u.X[abi.RegSP]) &^ 7
	var buf [8]byte
	// Word by word: the stack may end a few bytes above sp.
	for off := uintptr(0); off < maxScanBytes && len(frames) < maxFrames; off += 8 {
		if t.p.cpu.CopyIn(buf[:], sp+off) != 0 {
			break // the top of the stack (or a bad sp)
		}
		w := binary.LittleEndian.Uint64(buf[:])
		if w == frames[len(frames)-1] || !t.afterCall(w) || sym(w) == "" {
			continue
		}
		frames = append(frames, w)
	}
	return frames
}

// afterCall reports whether the instruction before pc is a call that
// links ra: jal ra, jalr ra, or the compressed c.jalr.
func (t *Thread) afterCall(pc uint64) bool {
	if pc < 4 || pc%2 != 0 {
		return false
	}
	var b [4]byte
	if t.p.cpu.CopyIn(b[2:], uintptr(pc-2)) == 0 {
		h := binary.LittleEndian.Uint16(b[2:])
		if h&0xf07f == 0x9002 && h&0x0f80 != 0 { // c.jalr rs1, rs1 != 0
			return true
		}
	}
	if t.p.cpu.CopyIn(b[:], uintptr(pc-4)) != 0 {
		return false
	}
	in := binary.LittleEndian.Uint32(b[:])
	rd := in >> 7 & 31
	op := in & 0x7f
	return rd == 1 && (op == 0x6f || op == 0x67 && in>>12&7 == 0)
}

// logBacktrace writes the backtrace lines of a crash report.
func (p *Process) logBacktrace(t *Thread) {
	frames := t.backtrace()
	if len(frames) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("runikraft: backtrace of thread " + strconv.Itoa(t.tid) + " (return addresses on its stack; an old one can appear):\n")
	for i, pc := range frames {
		b.WriteString("runikraft:   #" + strconv.Itoa(i) + " 0x" + strconv.FormatUint(pc, 16))
		if s := p.cfg.Symbolize(pc); s != "" {
			b.WriteString(" " + s)
		}
		b.WriteByte('\n')
	}
	p.cfg.Log.Write([]byte(b.String()))
}

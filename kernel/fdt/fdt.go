// Package fdt parses a flattened devicetree blob (DTB, devicetree
// specification v0.3/v0.4, format version 17) into a fixed-size Machine
// description.
//
// The kernel calls Parse before the Go runtime is initialised: in S-mode, on
// a small boot stack, with no g. Every function that Parse reaches is
// therefore //go:nosplit (there is no goroutine stack to grow), allocates
// nothing (there is no heap yet), and never panics (there is no panic
// machinery yet). Offsets read from the blob are checked explicitly against
// the blob's size, and failures are reported as small integer codes.
//
// The nosplit linker check bounds a chain of nosplit frames to about 800
// bytes, so the walk is a flat loop over tokens with a fixed-depth cell
// stack instead of recursion, and the parser's state lives in the caller's
// Machine rather than on the stack. That also keeps the package linkable
// when `go test -fuzz` instruments it, which inflates every frame.
package fdt

import (
	"runtime"
	"unsafe"
)

// Range is a physical address range.
type Range struct{ Base, Size uint64 }

// Device is a memory-mapped device: the first reg entry and the first
// interrupts cell (IRQ 0 means none).
type Device struct {
	Base, Size uint64
	IRQ        uint32
}

// Capacity limits of Machine.
const (
	MaxMem      = 8  // memory ranges kept; further ranges are ignored (using less RAM is safe)
	MaxReserved = 16 // reserved ranges; more is an error (ignoring one is not safe)
	MaxVirtio   = 32 // virtio-mmio slots kept; further ones are ignored
	MaxDepth    = 16 // node nesting depth including the root
	MaxCells    = 8  // largest #address-cells / #size-cells accepted
	MaxHarts    = 32 // harts used (a power of two; affinity masks have 32 bits)
	MaxISA      = 64 // bytes of riscv,isa kept
)

const maxPropName = 255 // longest property name accepted

// Machine is what the kernel needs to know about the board. It has no
// pointers, so a global one sits in zeroed, unscanned memory.
//
// Ranges that point into the blob (RNGSeed, Bootargs) stay valid only as long
// as the blob is mapped and not overwritten.
type Machine struct {
	Mem  [MaxMem]Range // memory nodes under / (name "memory[@...]" or device_type "memory"), every reg entry
	NMem int

	// Reserved holds the memory reservation block entries followed by the
	// reg entries of every child of /reserved-memory, in blob order.
	Reserved  [MaxReserved]Range
	NReserved int

	TimebaseHz uint64 // /cpus timebase-frequency, else the first cpu node's
	Harts      int    // available /cpus/* nodes with device_type "cpu"
	// HartID[i] is the hart id (reg) of the i-th available cpu node, in
	// tree order; ids need not be contiguous. NHartID ≤ MaxHarts.
	HartID  [MaxHarts]uint64
	NHartID int

	ISA    [MaxISA]byte // riscv,isa of the first available cpu, truncated
	ISALen int

	UART     Device // first "ns16550a"
	PLIC     Device // first "sifive,plic-1.0.0" or "riscv,plic0"
	PLICNDev uint32 // its riscv,ndev
	// PLICCtx[i] is the PLIC context that takes hart PLICHart[i]'s
	// S-mode external interrupt (cause 9), from the PLIC's
	// interrupts-extended and the harts' interrupt-controller phandles.
	// Layouts differ: QEMU TCG has M and S contexts per hart, KVM only S.
	PLICHart [MaxHarts]uint64
	PLICCtx  [MaxHarts]uint32
	NPLICCtx int
	Test     Device // first "sifive,test0" or "sifive,test1" (QEMU's test finisher)
	RTC      Device // first "google,goldfish-rtc"

	Virtio  [MaxVirtio]Device // "virtio,mmio" nodes in tree order
	NVirtio int

	RNGSeed  Range // /chosen rng-seed: address of the bytes inside the blob and their length
	Bootargs Range // /chosen bootargs: likewise, without the trailing NUL
	Initrd   Range // /chosen linux,initrd-start .. linux,initrd-end

	TotalSize uint32 // header totalsize

	s state // parser scratch, zero outside Parse
}

// Error codes returned by Parse. On error the Machine holds whatever was
// parsed up to that point and must not be trusted.
const (
	OK           = 0
	ErrArgs      = 1  // nil blob or nil Machine
	ErrTruncated = 2  // blob shorter than its header says, or an item runs past its block
	ErrMagic     = 3  // not a DTB
	ErrVersion   = 4  // format version not compatible with 17
	ErrLayout    = 5  // header block offsets misaligned or overlapping the header
	ErrStructure = 6  // bad token sequence in the structure block
	ErrDepth     = 7  // nodes nested deeper than MaxDepth
	ErrName      = 8  // property name offset outside the strings block, unterminated, or over 255 bytes
	ErrProperty  = 9  // property value of the wrong length
	ErrCells     = 10 // #address-cells/#size-cells too large, or a value that does not fit 64 bits
	ErrTooMany   = 11 // more than MaxReserved reserved ranges
	ErrRange     = 12 // base+size overflows 64 bits, or initrd end < start
	ErrInternal  = 13 // a read escaped the explicit checks; caught by a guard (a parser bug)
)

// ErrorString describes an error code. It returns constant strings only, so
// it is safe to call before the runtime is up.
//
//go:nosplit
func ErrorString(code int) string {
	switch code {
	case OK:
		return "ok"
	case ErrArgs:
		return "fdt: nil blob or machine"
	case ErrTruncated:
		return "fdt: blob truncated"
	case ErrMagic:
		return "fdt: bad magic"
	case ErrVersion:
		return "fdt: unsupported version"
	case ErrLayout:
		return "fdt: bad block layout in header"
	case ErrStructure:
		return "fdt: bad structure block"
	case ErrDepth:
		return "fdt: nodes nested too deep"
	case ErrName:
		return "fdt: bad property name"
	case ErrProperty:
		return "fdt: bad property length"
	case ErrCells:
		return "fdt: unsupported cell count or value"
	case ErrTooMany:
		return "fdt: too many reserved ranges"
	case ErrRange:
		return "fdt: address range overflows"
	case ErrInternal:
		return "fdt: internal bounds check failed"
	}
	return "fdt: unknown error"
}

const (
	fdtMagic   = 0xd00dfeed
	headerSize = 40
	version    = 17

	tokBeginNode = 1
	tokEndNode   = 2
	tokProp      = 3
	tokNop       = 4
	tokEnd       = 9
)

// Kinds of depth-1 nodes; deeper nodes are classified by their depth-1
// ancestor.
const (
	kindOther = iota
	kindChosen
	kindCpus
	kindReservedMemory
	kindMemory
)

// device_type values we care about.
const (
	dtNone = iota
	dtMemory
	dtCPU
)

// compatible matches, as bits so one node may match several.
const (
	compUART = 1 << iota
	compPLIC
	compTest
	compRTC
	compVirtio
	compIntc // "riscv,cpu-intc": a hart's local interrupt controller
)

// node flags.
const (
	nfDone     = 1 << iota // properties finished; the node has been applied
	nfReg                  // has reg
	nfTimebase             // has timebase-frequency
	nfDisabled             // status other than "okay"/"ok"
)

// Where regs stores ranges.
const (
	toMem = iota
	toReserved
)

// node is the current node's interesting properties, collected until its
// first child or its end (in v17 properties precede subnodes), because
// properties come in any order.
type node struct {
	name, nameLen uint32 // name in the structure block
	reg, regLen   uint32 // reg value
	isa, isaLen   uint32 // riscv,isa value
	irq, ndev     uint32
	phandle       uint32
	intx, intxLen uint32 // interrupts-extended value
	timebase      uint64
	compat        uint8
	dtype         uint8
	flags         uint8
}

// state is the parser's scratch. It lives in Machine, not on the stack, to
// keep the nosplit chain short; base is an address, not a pointer, to keep
// Machine pointer-free (no write barriers, no GC scanning).
type state struct {
	base      uintptr // the blob
	size      uint32  // readable bytes at base: the limit, then totalsize
	structEnd uint32
	strOff    uint32
	strEnd    uint32
	depth     int32 // depth of the current node; -1 outside the root
	top       uint8 // kind of the current depth-1 ancestor
	found     uint8 // compat bits of single devices already taken
	initrd    uint8 // bit 0: start seen, bit 1: end seen
	rootDone  bool
	bad       bool            // a guarded read was out of range
	ac, sc    [MaxDepth]uint8 // #address-cells/#size-cells defined by the node at each depth
	n         node

	// For the PLIC's contexts: each available hart's id and its
	// interrupt controller's phandle, and the PLIC's interrupts-extended.
	cpuHart       uint64
	cpuOK         bool
	intcHart      [MaxHarts]uint64
	intcPhandle   [MaxHarts]uint32
	nintc         int
	plicX, plicXn uint32
}

// Parse reads the DTB at address blob (physical = virtual at boot) into m and
// returns OK or an error code. The blob's size is taken from its header.
//
//go:nosplit
func Parse(blob uintptr, m *Machine) int {
	if blob == 0 || m == nil {
		return ErrArgs
	}
	// Until totalsize is known, trust firmware that the header is mapped.
	m.s = state{base: blob, size: 8}
	if m.u32(0) != fdtMagic {
		*m = Machine{}
		return ErrMagic
	}
	return m.parse(blob, m.u32(4))
}

// ParseBytes parses a DTB held in a byte slice (host tools and tests). Reads
// are limited to min(len(b), totalsize); a slice shorter than totalsize is
// ErrTruncated. The addresses in m's RNGSeed and Bootargs point into b.
//
//go:nosplit
func ParseBytes(b []byte, m *Machine) int {
	if m == nil {
		return ErrArgs
	}
	if len(b) == 0 {
		*m = Machine{}
		return ErrTruncated
	}
	limit := uint32(0xffffffff)
	if uint64(len(b)) < uint64(limit) {
		limit = uint32(len(b))
	}
	e := m.parse(uintptr(unsafe.Pointer(&b[0])), limit)
	// The parser holds b only as an address: keep the array alive until
	// here. (Compiled to a liveness mark, not a call.)
	runtime.KeepAlive(b)
	return e
}

//go:nosplit
func be32(a, b, c, d byte) uint32 {
	return uint32(a)<<24 | uint32(b)<<16 | uint32(c)<<8 | uint32(d)
}

// parse parses the blob at base, reading at most limit bytes (and, once the
// header has been checked, at most totalsize bytes).
//
//go:nosplit
func (m *Machine) parse(base uintptr, limit uint32) int {
	*m = Machine{}
	m.s.base = base
	m.s.size = limit
	m.s.depth = -1
	e := m.header(limit)
	if e == OK {
		e = m.reservations(m.u32(16))
	}
	if e == OK {
		e = m.walk(m.u32(8))
	}
	if e == OK {
		m.plicContexts()
	}
	// Until here Initrd holds start and end as seen (see chosen).
	if m.s.initrd != 3 {
		m.Initrd = Range{}
	} else if m.Initrd.Size < m.Initrd.Base {
		m.Initrd = Range{}
		if e == OK {
			e = ErrRange
		}
	} else {
		m.Initrd.Size -= m.Initrd.Base
	}
	if m.s.bad {
		e = ErrInternal
	}
	m.s = state{}
	return e
}

// plicContexts pairs each hart's interrupt controller with the PLIC
// context whose interrupts-extended entry is <that phandle, 9>: the
// entries are <phandle irq> pairs (#interrupt-cells is 1 for
// riscv,cpu-intc), one per context, in context order.
//
//go:nosplit
func (m *Machine) plicContexts() {
	s := &m.s
	if s.plicXn%8 != 0 {
		return // not <phandle irq> pairs: leave it to the caller's default
	}
	for i := 0; i < s.nintc && i < MaxHarts; i++ {
		for ctx := uint32(0); ctx < s.plicXn/8; ctx++ {
			off := s.plicX + ctx*8
			if m.u32(off) == s.intcPhandle[i] && s.intcPhandle[i] != 0 && m.u32(off+4) == 9 {
				k := m.NPLICCtx & (MaxHarts - 1)
				m.PLICHart[k], m.PLICCtx[k] = s.intcHart[i], ctx
				m.NPLICCtx++
				break
			}
		}
	}
}

// PLICContext returns the PLIC context for hart's S-mode interrupts, if
// the device tree says.
//
//go:nosplit
func (m *Machine) PLICContext(hart uint64) (uint32, bool) {
	for i := 0; i < m.NPLICCtx && i < MaxHarts; i++ {
		if m.PLICHart[i] == hart {
			return m.PLICCtx[i], true
		}
	}
	return 0, false
}

// header validates the header and sets the block bounds.
//
//go:nosplit
func (m *Machine) header(limit uint32) int {
	s := &m.s
	if limit < 8 {
		return ErrTruncated
	}
	if m.u32(0) != fdtMagic {
		return ErrMagic
	}
	total := m.u32(4)
	if total < headerSize {
		return ErrLayout
	}
	if limit < headerSize {
		return ErrTruncated
	}
	if m.u32(20) < version || m.u32(24) > version {
		return ErrVersion
	}
	if total > limit {
		return ErrTruncated
	}
	s.size = total
	m.TotalSize = total

	offStruct, offStr, offRsv := m.u32(8), m.u32(12), m.u32(16)
	sizeStr, sizeStruct := m.u32(32), m.u32(36)
	if offStruct < headerSize || offStruct%4 != 0 || offRsv < headerSize || offRsv%8 != 0 ||
		(offStr < headerSize && sizeStr != 0) {
		return ErrLayout
	}
	if uint64(offStruct)+uint64(sizeStruct) > uint64(total) ||
		uint64(offStr)+uint64(sizeStr) > uint64(total) {
		return ErrTruncated
	}
	s.structEnd = offStruct + sizeStruct
	s.strOff = offStr
	s.strEnd = offStr + sizeStr
	return OK
}

// at returns the address of blob byte off as a pointer. Reinterpreting the
// uintptr, rather than converting it, is deliberate: the address comes from
// firmware (or a pinned slice), not from Go pointer arithmetic.
//
//go:nosplit
func (m *Machine) at(off uint32) *byte {
	a := m.s.base + uintptr(off)
	return *(**byte)(unsafe.Pointer(&a))
}

// u8, u32 and u64 read big-endian values with byte loads (the blob need not
// be aligned). Callers check bounds first; the check here only turns a missed
// check into ErrInternal instead of a stray read.
//
//go:nosplit
func (m *Machine) u8(off uint32) byte {
	if off >= m.s.size {
		m.s.bad = true
		return 0
	}
	return *m.at(off)
}

//go:nosplit
func (m *Machine) u32(off uint32) uint32 {
	if off >= m.s.size || m.s.size-off < 4 {
		m.s.bad = true
		return 0
	}
	return be32(*m.at(off), *m.at(off + 1), *m.at(off + 2), *m.at(off + 3))
}

//go:nosplit
func (m *Machine) u64(off uint32) uint64 {
	if off >= m.s.size || m.s.size-off < 8 {
		m.s.bad = true
		return 0
	}
	var v uint64
	for i := uint32(0); i < 8; i++ {
		v = v<<8 | uint64(*m.at(off + i))
	}
	return v
}

// reservations reads the memory reservation block: (address, size) pairs of
// 64-bit values ending with a zero pair.
//
//go:nosplit
func (m *Machine) reservations(off uint32) int {
	for {
		if uint64(off)+16 > uint64(m.s.size) {
			return ErrTruncated
		}
		base, size := m.u64(off), m.u64(off+8)
		if base == 0 && size == 0 {
			return OK
		}
		if e := m.addRange(toReserved, base, size); e != OK {
			return e
		}
		off += 16
	}
}

// addRange appends a non-empty range to Mem or Reserved. A full Mem drops
// it (using less RAM is safe); a full Reserved is an error (ignoring a
// reservation is not).
//
//go:nosplit
func (m *Machine) addRange(to int, base, size uint64) int {
	if size == 0 {
		return OK
	}
	if base+size < base {
		return ErrRange
	}
	if to == toMem {
		if i := m.NMem; uint(i) < MaxMem {
			m.Mem[i&(MaxMem-1)] = Range{base, size} // mask: no bounds-check branch
			m.NMem = i + 1
		}
		return OK
	}
	i := m.NReserved
	if uint(i) >= MaxReserved {
		return ErrTooMany
	}
	m.Reserved[i&(MaxReserved-1)] = Range{base, size}
	m.NReserved = i + 1
	return OK
}

// walk runs over the structure block tokens starting at off.
//
//go:nosplit
func (m *Machine) walk(off uint32) int {
	s := &m.s
	for {
		if uint64(off)+4 > uint64(s.structEnd) {
			return ErrTruncated
		}
		tok := m.u32(off)
		off += 4
		e := OK
		switch tok {
		case tokBeginNode:
			if s.depth >= 0 && s.n.flags&nfDone == 0 {
				// First child: the parent's properties are complete.
				if e = m.finish(); e != OK {
					return e
				}
			}
			off, e = m.beginNode(off)
		case tokEndNode:
			if s.depth < 0 {
				return ErrStructure
			}
			if s.n.flags&nfDone == 0 {
				e = m.finish()
			}
			s.depth--
			if s.depth < 0 {
				s.rootDone = true
			}
			// The parent was finished when this child began; a property
			// after it would break the properties-before-children rule.
			s.n = node{flags: nfDone}
		case tokProp:
			if s.depth < 0 || s.n.flags&nfDone != 0 {
				return ErrStructure
			}
			off, e = m.prop(off)
		case tokNop:
		case tokEnd:
			if !s.rootDone {
				return ErrStructure
			}
			return OK
		default:
			return ErrStructure
		}
		if e != OK {
			return e
		}
	}
}

// beginNode handles FDT_BEGIN_NODE whose name starts at off and returns the
// offset of the next token.
//
//go:nosplit
func (m *Machine) beginNode(off uint32) (uint32, int) {
	s := &m.s
	if s.rootDone {
		return 0, ErrStructure // a second root
	}
	d := uint32(s.depth + 1) // depth >= -1, so d >= 0
	if d >= MaxDepth {
		return 0, ErrDepth
	}
	n, ok := m.cstrlen(off, s.structEnd)
	if !ok {
		return 0, ErrTruncated
	}
	next := (uint64(off) + uint64(n) + 1 + 3) &^ 3
	if next > uint64(s.structEnd) {
		return 0, ErrTruncated
	}
	s.depth = int32(d)
	s.ac[d], s.sc[d] = 2, 1 // spec defaults when the properties are absent
	s.n = node{name: off, nameLen: n}
	if d == 1 {
		switch {
		case m.nameIs("chosen"):
			s.top = kindChosen
		case m.nameIs("cpus"):
			s.top = kindCpus
		case m.nameIs("reserved-memory"):
			s.top = kindReservedMemory
		case m.nameIs("memory"):
			s.top = kindMemory
		default:
			s.top = kindOther
		}
	}
	return uint32(next), OK
}

// prop handles FDT_PROP whose header starts at off and returns the offset of
// the next token.
//
//go:nosplit
func (m *Machine) prop(off uint32) (uint32, int) {
	s := &m.s
	if uint64(off)+8 > uint64(s.structEnd) {
		return 0, ErrTruncated
	}
	vlen, nameoff := m.u32(off), m.u32(off+4)
	val := off + 8
	next := (uint64(val) + uint64(vlen) + 3) &^ 3
	if next > uint64(s.structEnd) {
		return 0, ErrTruncated
	}
	if uint64(nameoff) >= uint64(s.strEnd-s.strOff) {
		return 0, ErrName
	}
	// Names are shared, so one long string could be rescanned by every
	// property; capping the scan keeps the walk linear in the blob size.
	// (The spec allows 31 characters; this is lenient.)
	name := s.strOff + nameoff
	end := s.strEnd
	if end-name > maxPropName+1 {
		end = name + maxPropName + 1
	}
	nlen, ok := m.cstrlen(name, end)
	if !ok {
		return 0, ErrName
	}
	return uint32(next), m.apply(name, nlen, val, vlen)
}

// apply records or applies one property of the current node.
//
//go:nosplit
func (m *Machine) apply(name, nlen, val, vlen uint32) int {
	s := &m.s
	n := &s.n
	d := uint32(s.depth) & (MaxDepth - 1) // walk keeps 0 <= depth < MaxDepth
	switch {
	case m.eq(name, nlen, "#address-cells"), m.eq(name, nlen, "#size-cells"):
		if vlen != 4 {
			return ErrProperty
		}
		c := m.u32(val)
		if c > MaxCells {
			return ErrCells
		}
		if nlen == 14 { // len("#address-cells")
			s.ac[d] = uint8(c)
		} else {
			s.sc[d] = uint8(c)
		}
	case m.eq(name, nlen, "reg"):
		n.reg, n.regLen = val, vlen
		n.flags |= nfReg
	case m.eq(name, nlen, "compatible"):
		n.compat = m.compat(val, vlen)
	case m.eq(name, nlen, "device_type"):
		if m.strProp(val, vlen, "memory") {
			n.dtype = dtMemory
		} else if m.strProp(val, vlen, "cpu") {
			n.dtype = dtCPU
		}
	case m.eq(name, nlen, "status"):
		// Like Linux: only "okay", "ok" or no status at all is available.
		if !m.strProp(val, vlen, "okay") && !m.strProp(val, vlen, "ok") {
			n.flags |= nfDisabled
		}
	case m.eq(name, nlen, "interrupts"):
		if vlen < 4 {
			return ErrProperty
		}
		n.irq = m.u32(val)
	case m.eq(name, nlen, "phandle"):
		if vlen != 4 {
			return ErrProperty
		}
		n.phandle = m.u32(val)
	case m.eq(name, nlen, "interrupts-extended"):
		n.intx, n.intxLen = val, vlen
	case m.eq(name, nlen, "riscv,ndev"):
		if vlen != 4 {
			return ErrProperty
		}
		n.ndev = m.u32(val)
	case m.eq(name, nlen, "riscv,isa"):
		n.isa, n.isaLen = val, m.strlen(val, vlen)
	case m.eq(name, nlen, "timebase-frequency"):
		v, ok := m.number(val, vlen)
		if !ok {
			return ErrProperty
		}
		n.timebase = v
		n.flags |= nfTimebase
	case s.depth == 1 && s.top == kindChosen:
		return m.chosen(name, nlen, val, vlen)
	}
	return OK
}

// chosen applies a property of /chosen.
//
//go:nosplit
func (m *Machine) chosen(name, nlen, val, vlen uint32) int {
	switch {
	case m.eq(name, nlen, "rng-seed"):
		m.RNGSeed = Range{uint64(m.s.base) + uint64(val), uint64(vlen)}
	case m.eq(name, nlen, "bootargs"):
		m.Bootargs = Range{uint64(m.s.base) + uint64(val), uint64(m.strlen(val, vlen))}
	case m.eq(name, nlen, "linux,initrd-start"):
		v, ok := m.number(val, vlen)
		if !ok {
			return ErrProperty
		}
		m.Initrd.Base = v // start; turned into a range at the end of parse
		m.s.initrd |= 1
	case m.eq(name, nlen, "linux,initrd-end"):
		v, ok := m.number(val, vlen)
		if !ok {
			return ErrProperty
		}
		m.Initrd.Size = v // end, for now
		m.s.initrd |= 2
	}
	return OK
}

// finish applies the current node once all its properties are known.
//
//go:nosplit
func (m *Machine) finish() int {
	s := &m.s
	n := &s.n
	n.flags |= nfDone
	d := s.depth
	if d <= 0 || d >= MaxDepth {
		return OK // the root has no reg to decode
	}
	avail := n.flags&nfDisabled == 0
	hasReg := n.flags&nfReg != 0
	switch {
	case d == 1 && s.top == kindCpus:
		if n.flags&nfTimebase != 0 {
			m.TimebaseHz = n.timebase
		}
	case d == 1 && avail && hasReg && (s.top == kindMemory || n.dtype == dtMemory):
		return m.regs(toMem)
	case d == 2 && s.top == kindReservedMemory && hasReg:
		// Reserved even when disabled: over-reserving is harmless.
		return m.regs(toReserved)
	case d == 2 && s.top == kindCpus:
		s.cpuOK = false
		if !avail || n.dtype != dtCPU {
			break
		}
		if hasReg {
			id, _, e := m.regEntry(n.reg)
			if e != OK {
				return e
			}
			s.cpuHart, s.cpuOK = id, true
			if m.NHartID < MaxHarts {
				m.HartID[m.NHartID&(MaxHarts-1)] = id
				m.NHartID++
			}
		}
		m.Harts++
		if m.ISALen == 0 {
			k := n.isaLen
			if k > MaxISA {
				k = MaxISA
			}
			for i := uint32(0); i < k; i++ {
				m.ISA[i&(MaxISA-1)] = m.u8(n.isa + i)
			}
			m.ISALen = int(k)
		}
		if m.TimebaseHz == 0 && n.flags&nfTimebase != 0 {
			m.TimebaseHz = n.timebase
		}
	}
	if d == 3 && s.top == kindCpus && n.compat&compIntc != 0 && s.cpuOK && s.nintc < MaxHarts {
		s.intcHart[s.nintc&(MaxHarts-1)] = s.cpuHart
		s.intcPhandle[s.nintc&(MaxHarts-1)] = n.phandle
		s.nintc++
	}
	if !avail || !hasReg || n.compat&^compIntc == 0 {
		return OK
	}
	return m.device()
}

// device records the current node as the devices its compatible matched.
//
//go:nosplit
func (m *Machine) device() int {
	s := &m.s
	n := &s.n
	stride, e := m.regStride()
	if e != OK {
		return e
	}
	if n.regLen < stride {
		return ErrProperty
	}
	base, size, e := m.regEntry(n.reg)
	if e != OK {
		return e
	}
	dev := Device{Base: base, Size: size, IRQ: n.irq}
	take := n.compat &^ s.found // single devices: the first match wins
	if take&compUART != 0 {
		m.UART = dev
	}
	if take&compPLIC != 0 {
		m.PLIC = dev
		m.PLICNDev = n.ndev
		s.plicX, s.plicXn = n.intx, n.intxLen
	}
	if take&compTest != 0 {
		m.Test = dev
	}
	if take&compRTC != 0 {
		m.RTC = dev
	}
	s.found |= take &^ compVirtio
	if i := m.NVirtio; n.compat&compVirtio != 0 && uint(i) < MaxVirtio {
		m.Virtio[i&(MaxVirtio-1)] = dev
		m.NVirtio = i + 1
	}
	return OK
}

// regs adds every reg entry of the current node to Mem or Reserved.
//
//go:nosplit
func (m *Machine) regs(to int) int {
	stride, e := m.regStride()
	if e != OK {
		return e
	}
	n := &m.s.n
	for off := uint32(0); off < n.regLen; off += stride {
		base, size, e := m.regEntry(n.reg + off)
		if e != OK {
			return e
		}
		if e := m.addRange(to, base, size); e != OK {
			return e
		}
	}
	return OK
}

// parentCells returns the cell counts that lay out the current node's reg:
// those of its parent.
//
//go:nosplit
func (m *Machine) parentCells() (ac, sc uint32) {
	d := uint32(m.s.depth-1) & (MaxDepth - 1) // finish only runs for 1 <= depth < MaxDepth
	return uint32(m.s.ac[d]), uint32(m.s.sc[d])
}

// regStride returns the byte length of one reg entry and checks that the
// current node's reg is a whole number of entries.
//
//go:nosplit
func (m *Machine) regStride() (uint32, int) {
	ac, sc := m.parentCells()
	stride := (ac + sc) * 4
	if stride == 0 {
		return 0, ErrCells // would never advance
	}
	if m.s.n.regLen%stride != 0 {
		return 0, ErrProperty
	}
	return stride, OK
}

// regEntry decodes one (address, size) pair at off. One flat loop over both
// numbers keeps it a leaf, which matters on the deepest stack path.
//
//go:nosplit
func (m *Machine) regEntry(off uint32) (base, size uint64, e int) {
	na, ns := m.parentCells()
	var v uint64
	n := na + ns
	for i := uint32(0); i < n; i++ {
		if i == na {
			base, v = v, 0
		}
		if v>>32 != 0 {
			return 0, 0, ErrCells // more than 64 bits
		}
		v = v<<32 | uint64(m.u32(off+4*i))
	}
	if na == n {
		base, v = v, 0
	}
	size = v
	if base+size < base {
		return 0, 0, ErrRange
	}
	return base, size, OK
}

// number reads a property that is one or two cells long.
//
//go:nosplit
func (m *Machine) number(val, vlen uint32) (uint64, bool) {
	switch vlen {
	case 4:
		return uint64(m.u32(val)), true
	case 8:
		return m.u64(val), true
	}
	return 0, false
}

// compat matches each string of a compatible stringlist.
//
//go:nosplit
func (m *Machine) compat(val, vlen uint32) uint8 {
	var c uint8
	end := val + vlen // no overflow: prop checked it against structEnd
	start := val
	for i := val; i < end; i++ {
		if m.u8(i) == 0 {
			c |= m.compatOne(start, i-start)
			start = i + 1
		}
	}
	if start < end { // unterminated last string
		c |= m.compatOne(start, end-start)
	}
	return c
}

//go:nosplit
func (m *Machine) compatOne(off, n uint32) uint8 {
	switch {
	case m.eq(off, n, "ns16550a"):
		return compUART
	case m.eq(off, n, "sifive,plic-1.0.0"), m.eq(off, n, "riscv,plic0"):
		return compPLIC
	case m.eq(off, n, "sifive,test0"), m.eq(off, n, "sifive,test1"):
		return compTest
	case m.eq(off, n, "google,goldfish-rtc"):
		return compRTC
	case m.eq(off, n, "virtio,mmio"):
		return compVirtio
	case m.eq(off, n, "riscv,cpu-intc"):
		return compIntc
	}
	return 0
}

// strProp reports whether a string property's value is exactly lit
// (NUL-terminated or not).
//
//go:nosplit
func (m *Machine) strProp(val, vlen uint32, lit string) bool {
	n := m.strlen(val, vlen)
	return (n == vlen || n+1 == vlen) && m.eq(val, n, lit)
}

// nameIs reports whether the current node's name, without its unit address,
// is lit.
//
//go:nosplit
func (m *Machine) nameIs(lit string) bool {
	s := &m.s
	n := uint32(0)
	for n < s.n.nameLen && m.u8(s.n.name+n) != '@' {
		n++
	}
	return m.eq(s.n.name, n, lit)
}

// eq compares n blob bytes at off with lit, without building a string.
// It is not inlined: apply and compatOne test a property against some
// twenty names, and each inlined copy of this loop was its own code,
// which QEMU translates once per boot (550 translation blocks for the
// parse, more than the hart layer's whole boot).
//
//go:nosplit
//go:noinline
func (m *Machine) eq(off, n uint32, lit string) bool {
	if uint64(n) != uint64(len(lit)) {
		return false
	}
	for i := 0; i < len(lit); i++ {
		if m.u8(off+uint32(i)) != lit[i] {
			return false
		}
	}
	return true
}

// strlen returns the length of the string at val, stopping at vlen.
//
//go:nosplit
func (m *Machine) strlen(val, vlen uint32) uint32 {
	n := uint32(0)
	for n < vlen && m.u8(val+n) != 0 {
		n++
	}
	return n
}

// cstrlen returns the length of the NUL-terminated string at off; false if
// no NUL occurs before end.
//
//go:nosplit
func (m *Machine) cstrlen(off, end uint32) (uint32, bool) {
	for i := off; i < end; i++ {
		if m.u8(i) == 0 {
			return i - off, true
		}
	}
	return 0, false
}

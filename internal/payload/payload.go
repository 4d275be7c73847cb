// Package payload builds tiny bare-metal riscv64 ELF images for QEMU's virt
// machine, for boot tests and for measuring the bare OpenSBI baseline.
//
// The code runs in S-mode right after OpenSBI; it needs no stack and touches
// only two devices: the ns16550a UART at 0x10000000 and the sifive,test0
// finisher at 0x100000, whose exit request makes QEMU exit.
package payload

import (
	"encoding/binary"

	"github.com/runikraft/runikraft/kernel/rvasm"
)

// Base is where the single PT_LOAD segment is placed: the address OpenSBI's
// fw_dynamic jumps to on QEMU virt. QEMU 7.2 enters an ELF kernel at its
// lowest load address, not at e_entry, so the code must start here.
const Base = 0x80200000

// Device addresses on QEMU virt.
const (
	UART     = 0x10000000 // ns16550a; offset 0 is THR
	Finisher = 0x100000   // sifive,test0
)

// Finisher commands.
const (
	finisherFail = 0x3333 // exit((value >> 16))
	finisherPass = 0x5555 // exit(0)
)

// Bare wraps code in a minimal ELF64 riscv64 executable: one RWX PT_LOAD at
// Base holding code, entry Base, no sections.
func Bare(code []byte) []byte {
	const (
		ehsize    = 64
		phentsize = 56
		offset    = ehsize + phentsize // 120: 8-aligned, so no padding needed
	)
	le := binary.LittleEndian
	b := make([]byte, offset+len(code))
	copy(b, "\x7fELF")
	b[4] = 2                  // ELFCLASS64
	b[5] = 1                  // ELFDATA2LSB
	b[6] = 1                  // EV_CURRENT
	le.PutUint16(b[16:], 2)   // e_type: ET_EXEC
	le.PutUint16(b[18:], 243) // e_machine: EM_RISCV
	le.PutUint32(b[20:], 1)   // e_version
	le.PutUint64(b[24:], Base)
	le.PutUint64(b[32:], ehsize) // e_phoff
	// e_shoff, e_flags stay 0: no sections; no RVC or float ABI used.
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phentsize)
	le.PutUint16(b[56:], 1) // e_phnum

	p := b[ehsize:]
	le.PutUint32(p[0:], 1)      // PT_LOAD
	le.PutUint32(p[4:], 7)      // PF_R|PF_W|PF_X
	le.PutUint64(p[8:], offset) // p_offset
	le.PutUint64(p[16:], Base)  // p_vaddr
	le.PutUint64(p[24:], Base)  // p_paddr: QEMU loads by physical address
	le.PutUint64(p[32:], uint64(len(code)))
	le.PutUint64(p[40:], uint64(len(code)))
	le.PutUint64(p[48:], 8) // p_align: offset ≡ vaddr mod 8
	copy(b[offset:], code)
	return b
}

// PrintAndExit returns an image that writes msg to the UART byte by byte and
// then makes QEMU exit with status code (0..255: QEMU passes the finisher's
// 16-bit code to exit(3), which keeps only the low 8 bits). It does not poll
// the UART's LSR, which is fine on QEMU for short messages.
func PrintAndExit(msg string, code int) []byte {
	if code < 0 || code > 255 {
		panic("payload: exit code out of range 0..255")
	}
	var c Code
	if len(msg) > 0 {
		c.Lui(T0, UART>>12)
		for i := 0; i < len(msg); i++ {
			c.Addi(T1, Zero, int32(msg[i]))
			c.Sb(T1, T0, 0)
		}
	}
	cmd := uint32(finisherPass)
	if code != 0 {
		cmd = uint32(code)<<16 | finisherFail
	}
	c.Lui(T0, Finisher>>12)
	c.Li32(T1, cmd)
	c.Sw(T1, T0, 0)
	c.Jal(Zero, 0) // spin until QEMU acts on the write
	return Bare(c.Bytes())
}

// Echo returns an image that copies n bytes from the UART's receiver to
// its transmitter, polling the line status register both ways, then makes
// QEMU exit 0. It shows whether stdin reaches the guest intact.
func Echo(n int) []byte {
	if n < 0 || n > 1<<31-1 {
		panic("payload: echo count out of range")
	}
	const (
		lsr  = 5    // line status register offset
		dr   = 0x01 // LSR: receive data ready
		thre = 0x20 // LSR: transmit holding register empty
	)
	var c Code
	c.Lui(T0, UART>>12)
	if n > 0 {
		c.Li32(T2, uint32(n))
		loop := c.PC()
		c.Lbu(T1, T0, lsr)
		c.Andi(T1, T1, dr)
		c.Beq(T1, Zero, loop-c.PC())
		c.Lbu(T1, T0, 0) // RBR
		wait := c.PC()
		c.Lbu(T3, T0, lsr)
		c.Andi(T3, T3, thre)
		c.Beq(T3, Zero, wait-c.PC())
		c.Sb(T1, T0, 0) // THR
		c.Addi(T2, T2, -1)
		c.Bne(T2, Zero, loop-c.PC())
	}
	c.Lui(T0, Finisher>>12)
	c.Li32(T1, finisherPass)
	c.Sw(T1, T0, 0)
	c.Jal(Zero, 0)
	return Bare(c.Bytes())
}

// Reg is a RISC-V integer register number.
type Reg = rvasm.Reg

// Registers used by the payloads.
const (
	Zero = rvasm.Zero
	T0   = rvasm.T0
	T1   = rvasm.T1
	T2   = rvasm.T2
	T3   = rvasm.T3
)

// Code accumulates RV64I instructions, encoded by kernel/rvasm (no
// compressed forms, so every instruction is 4 bytes and offsets are easy
// to compute).
type Code struct{ words []uint32 }

// Bytes returns the little-endian machine code.
func (c *Code) Bytes() []byte {
	b := make([]byte, 4*len(c.words))
	for i, w := range c.words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func (c *Code) emit(w ...uint32) { c.words = append(c.words, w...) }

// PC is the offset of the next instruction, for computing branch targets.
func (c *Code) PC() int32 { return int32(4 * len(c.words)) }

// Lui: rd = imm20 << 12 (sign-extended on RV64).
func (c *Code) Lui(rd Reg, imm20 uint32) { c.emit(rvasm.Lui(rd, imm20)) }

// Addi: rd = rs1 + imm12.
func (c *Code) Addi(rd, rs1 Reg, imm int32) { c.emit(rvasm.Addi(rd, rs1, imm)) }

// Addiw: rd = sext32(rs1 + imm12).
func (c *Code) Addiw(rd, rs1 Reg, imm int32) { c.emit(rvasm.Addiw(rd, rs1, imm)) }

// Andi: rd = rs1 & imm12.
func (c *Code) Andi(rd, rs1 Reg, imm int32) { c.emit(rvasm.Andi(rd, rs1, imm)) }

// Lbu loads the zero-extended byte at rs1+imm.
func (c *Code) Lbu(rd, rs1 Reg, imm int32) { c.emit(rvasm.Lbu(rd, rs1, imm)) }

// Beq branches by off bytes if rs1 == rs2.
func (c *Code) Beq(rs1, rs2 Reg, off int32) { c.emit(rvasm.Beq(rs1, rs2, off)) }

// Bne branches by off bytes if rs1 != rs2.
func (c *Code) Bne(rs1, rs2 Reg, off int32) { c.emit(rvasm.Bne(rs1, rs2, off)) }

// Sb stores the low byte of rs2 at rs1+imm.
func (c *Code) Sb(rs2, rs1 Reg, imm int32) { c.emit(rvasm.Sb(rs2, rs1, imm)) }

// Sw stores the low word of rs2 at rs1+imm.
func (c *Code) Sw(rs2, rs1 Reg, imm int32) { c.emit(rvasm.Sw(rs2, rs1, imm)) }

// Jal jumps by off bytes relative to this instruction, linking into rd.
func (c *Code) Jal(rd Reg, off int32) { c.emit(rvasm.Jal(rd, off)) }

// Li32 loads a 32-bit constant (its low 32 bits are exact; the upper half
// is the sign extension) with lui+addiw.
func (c *Code) Li32(rd Reg, v uint32) {
	w := rvasm.Li32(rd, v)
	c.emit(w[:]...)
}

// Package rvasm encodes the RV64 instructions that Runikraft writes as
// data rather than assembles: the vDSO's clock_gettime (kernel/loader),
// the image builder's boot stub and system-call rewriting (internal/image)
// and the bare test payloads (internal/payload). One encoder, checked
// against binutils' machine words (testdata/golden.txt), instead of a bit
// shuffle in each.
//
// It imports nothing, so the kernel and the host tools can both use it.
// Each function returns one 32-bit instruction word (no compressed forms:
// every instruction is 4 bytes, so offsets are easy to compute). Operands
// are constants in every caller, so an immediate or offset out of range is
// a programming error and panics.
package rvasm

// Reg is an integer register number, x0..x31.
type Reg uint32

// The integer registers by their ABI names.
const (
	Zero Reg = iota // hard-wired zero
	RA              // return address
	SP
	GP
	TP
	T0
	T1
	T2
	S0
	S1
	A0
	A1
	A2
	A3
	A4
	A5
	A6
	A7
	S2
	S3
	S4
	S5
	S6
	S7
	S8
	S9
	S10
	S11
	T3
	T4
	T5
	T6
)

// CSRs read by encoded code.
const CSRTime = 0xc01 // the time counter (rdtime)

// Major opcodes (the low 7 bits).
const (
	opLoad   = 0x03
	opImm    = 0x13
	opAuipc  = 0x17
	opImm32  = 0x1b
	opStore  = 0x23
	opReg    = 0x33
	opLui    = 0x37
	opBranch = 0x63
	opJalr   = 0x67
	opJal    = 0x6f
	opSystem = 0x73
)

// Fixed instructions.
const (
	ecall  = 0x00000073
	ebreak = 0x00100073
)

// Ecall is the environment call: a system call from U-mode, an SBI call
// from S-mode.
func Ecall() uint32 { return ecall }

// Ebreak is the breakpoint; the image builder turns the kernel's ECALLs
// into it so they trap to the hart layer instead of the SBI.
func Ebreak() uint32 { return ebreak }

// Nop is addi zero, zero, 0.
func Nop() uint32 { return Addi(Zero, Zero, 0) }

// Ret is jalr zero, 0(ra).
func Ret() uint32 { return Jalr(Zero, RA, 0) }

// Lui: rd = imm20 << 12, sign-extended from bit 31.
func Lui(rd Reg, imm20 uint32) uint32 { return uType(opLui, rd, imm20) }

// Auipc: rd = pc + imm20 << 12, sign-extended from bit 31.
func Auipc(rd Reg, imm20 uint32) uint32 { return uType(opAuipc, rd, imm20) }

// Addi: rd = rs1 + imm.
func Addi(rd, rs1 Reg, imm int32) uint32 { return iType(opImm, 0, rd, rs1, imm) }

// Addiw: rd = sext32(rs1 + imm).
func Addiw(rd, rs1 Reg, imm int32) uint32 { return iType(opImm32, 0, rd, rs1, imm) }

// Andi: rd = rs1 & imm.
func Andi(rd, rs1 Reg, imm int32) uint32 { return iType(opImm, 7, rd, rs1, imm) }

// Lbu loads the zero-extended byte at rs1+off.
func Lbu(rd, rs1 Reg, off int32) uint32 { return iType(opLoad, 4, rd, rs1, off) }

// Ld loads the doubleword at rs1+off.
func Ld(rd, rs1 Reg, off int32) uint32 { return iType(opLoad, 3, rd, rs1, off) }

// Sb stores the low byte of rs2 at rs1+off.
func Sb(rs2, rs1 Reg, off int32) uint32 { return sType(0, rs2, rs1, off) }

// Sw stores the low word of rs2 at rs1+off.
func Sw(rs2, rs1 Reg, off int32) uint32 { return sType(2, rs2, rs1, off) }

// Sd stores rs2 at rs1+off.
func Sd(rs2, rs1 Reg, off int32) uint32 { return sType(3, rs2, rs1, off) }

// Add: rd = rs1 + rs2.
func Add(rd, rs1, rs2 Reg) uint32 { return rType(0, 0, rd, rs1, rs2) }

// Sub: rd = rs1 - rs2.
func Sub(rd, rs1, rs2 Reg) uint32 { return rType(0, 0x20, rd, rs1, rs2) }

// Mul: rd = rs1 * rs2 (low 64 bits; M extension).
func Mul(rd, rs1, rs2 Reg) uint32 { return rType(0, 1, rd, rs1, rs2) }

// Divu: rd = rs1 / rs2, unsigned (M extension).
func Divu(rd, rs1, rs2 Reg) uint32 { return rType(5, 1, rd, rs1, rs2) }

// Remu: rd = rs1 % rs2, unsigned (M extension).
func Remu(rd, rs1, rs2 Reg) uint32 { return rType(7, 1, rd, rs1, rs2) }

// Beq branches off bytes from this instruction if rs1 == rs2.
func Beq(rs1, rs2 Reg, off int32) uint32 { return bType(0, rs1, rs2, off) }

// Bne branches off bytes from this instruction if rs1 != rs2.
func Bne(rs1, rs2 Reg, off int32) uint32 { return bType(1, rs1, rs2, off) }

// Bltu branches off bytes from this instruction if rs1 < rs2, unsigned.
func Bltu(rs1, rs2 Reg, off int32) uint32 { return bType(6, rs1, rs2, off) }

// Jal jumps off bytes from this instruction, linking into rd.
func Jal(rd Reg, off int32) uint32 {
	checkImm(off, 21)
	checkEven(off)
	u := uint32(off)
	return (u>>20&1)<<31 | (u>>1&0x3ff)<<21 | (u>>11&1)<<20 | (u>>12&0xff)<<12 | rd.bits()<<7 | opJal
}

// Jalr jumps to rs1+off, linking into rd.
func Jalr(rd, rs1 Reg, off int32) uint32 { return iType(opJalr, 0, rd, rs1, off) }

// Csrrs: rd = csr; csr |= rs1. With rs1 = zero it only reads.
func Csrrs(rd Reg, csr uint32, rs1 Reg) uint32 {
	if csr > 0xfff {
		panic("rvasm: CSR number out of range")
	}
	return csr<<20 | rs1.bits()<<15 | 2<<12 | rd.bits()<<7 | opSystem
}

// Rdtime reads the time counter into rd.
func Rdtime(rd Reg) uint32 { return Csrrs(rd, CSRTime, Zero) }

// Li32 loads a 32-bit constant with lui and addiw, as the assembler's li
// does: the low 32 bits of rd are v, the upper half its sign extension.
func Li32(rd Reg, v uint32) [2]uint32 {
	lo := int32(v<<20) >> 20 // the low 12 bits, sign-extended
	return [2]uint32{Lui(rd, (v-uint32(lo))>>12), Addiw(rd, rd, lo)}
}

// Len is the length in bytes of the instruction whose first 16-bit
// parcel is half: 2 for the compressed forms, else 4. (Longer encodings
// are reserved and no Go or GNU toolchain emits them.)
func Len(half uint16) int {
	if half&3 != 3 {
		return 2
	}
	return 4
}

// bits is the register's 5-bit field, checked.
func (r Reg) bits() uint32 {
	if r > 31 {
		panic("rvasm: no such register")
	}
	return uint32(r)
}

func uType(op uint32, rd Reg, imm20 uint32) uint32 {
	if imm20 > 0xfffff {
		panic("rvasm: upper immediate out of range")
	}
	return imm20<<12 | rd.bits()<<7 | op
}

func iType(op, funct3 uint32, rd, rs1 Reg, imm int32) uint32 {
	checkImm(imm, 12)
	return uint32(imm)&0xfff<<20 | rs1.bits()<<15 | funct3<<12 | rd.bits()<<7 | op
}

func sType(funct3 uint32, rs2, rs1 Reg, off int32) uint32 {
	checkImm(off, 12)
	u := uint32(off)
	return (u>>5&0x7f)<<25 | rs2.bits()<<20 | rs1.bits()<<15 | funct3<<12 | (u&0x1f)<<7 | opStore
}

func rType(funct3, funct7 uint32, rd, rs1, rs2 Reg) uint32 {
	return funct7<<25 | rs2.bits()<<20 | rs1.bits()<<15 | funct3<<12 | rd.bits()<<7 | opReg
}

func bType(funct3 uint32, rs1, rs2 Reg, off int32) uint32 {
	checkImm(off, 13)
	checkEven(off)
	u := uint32(off)
	return (u>>12&1)<<31 | (u>>5&0x3f)<<25 | rs2.bits()<<20 | rs1.bits()<<15 | funct3<<12 | (u>>1&0xf)<<8 | (u>>11&1)<<7 | opBranch
}

// checkImm panics unless v fits a signed bits-wide immediate.
func checkImm(v int32, bits uint) {
	if v < -(1<<(bits-1)) || v >= 1<<(bits-1) {
		panic("rvasm: immediate out of range")
	}
}

// checkEven panics on an odd jump or branch offset, which the encodings
// cannot express.
func checkEven(off int32) {
	if off&1 != 0 {
		panic("rvasm: odd jump offset")
	}
}

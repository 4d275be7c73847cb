package reg

// Implemented in reg_riscv64.s. addr is the register's virtual address.

// Read8 loads a byte register.
func Read8(addr uintptr) uint8

// Read16 loads a 16-bit register; addr must be 2-byte aligned.
func Read16(addr uintptr) uint16

// Read32 loads a 32-bit register; addr must be 4-byte aligned.
func Read32(addr uintptr) uint32

// Write8 stores a byte register.
func Write8(addr uintptr, v uint8)

// Write32 stores a 32-bit register; addr must be 4-byte aligned.
func Write32(addr uintptr, v uint32)

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

// Implemented in csr_riscv64.s.

// ReadTime reads the time CSR: ticks at the device tree's timebase.
func ReadTime() uint64

// ReadSIP reads the supervisor interrupt-pending bits.
func ReadSIP() uint64

// ClearSIP clears pending bits in sip (only SSIP is writable in S-mode).
func ClearSIP(bits uint64)

// WriteSIE sets the supervisor interrupt-enable bits to v.
func WriteSIE(v uint64)

// SetSCOUNTEREN sets bits in scounteren: the counters U-mode may read.
func SetSCOUNTEREN(bits uint64)

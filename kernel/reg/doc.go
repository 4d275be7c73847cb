// Package reg is the kernel's one way to touch device registers: sized
// loads and stores to memory-mapped I/O, each ordered against ordinary
// memory like Linux's readl/writel. The UART and virtio drivers and the
// hart layer (console, PLIC, RTC, test finisher) all use it.
//
// Why not plain Go loads and stores: the compiler may merge, split,
// reorder or drop them, which is fine for memory and wrong for a device
// register, where every access has an effect. And why the fences: a
// driver writes a ring in RAM and then a notify register; the device must
// see the ring first. RISC-V orders I/O and memory accesses only with a
// FENCE, so every store is preceded by one and every load followed by one.
// AMOs with aq/rl bits would not do (they order within one address domain,
// and device memory may refuse AMOs altogether).
//
// The control and status registers that the hart layer reads and writes
// as registers (time, sip, sie, scounteren) are here too. Those that are
// part of its machinery stay with it in kernel/hart's csr_riscv64.s: stvec
// and sscratch with the trap vector, satp with the TLB flush, fcsr with
// the FP context. Go's assembler names a CSR inside the instruction, so
// each is a function of its own.
//
// Every function is a leaf assembly routine, nosplit and frameless: the
// hart layer calls them in trap context and before the Go runtime runs.
//
// The package builds on every architecture (so host tools and tests can
// list it) but has functions only on riscv64.
package reg

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
// Every function is a leaf assembly routine, nosplit and frameless: the
// hart layer calls them in trap context and before the Go runtime runs.
// Control and status registers are not here: a CSR is named inside the
// instruction, and only the hart layer's own machinery (kernel/hart's
// csr_riscv64.s) touches them.
//
// The package builds on every architecture (so host tools and tests can
// list it) but has functions only on riscv64.
package reg

// Package linux is the one place for the facts of the Linux riscv64 ABI
// that the kernel, the loader, the posix layer, the host tools and the
// tests share: system-call numbers, error numbers and names, signals, the
// flag families of open/fcntl/mmap/clone/futex/epoll/sockets, file modes,
// clock IDs, the RISC-V trap causes, and the layouts of the structures
// that cross the user/kernel boundary.
//
// The numbers are generated (go generate) from the Linux riscv64 tables
// that ship with the Go toolchain, never typed by hand: zsysnum.go and
// zconsts.go. What those tables lack (futex operations, sigevent,
// trap causes, riscv64 structure layouts) is written here in the files
// named for their area, and types.go's layouts are checked against the C
// compiler's in layout_test.go.
//
// Names are Linux's own (O_NONBLOCK, SYS_OPENAT, struct stat as Stat), so
// a reader can grep the Linux sources for them.
package linux

//go:generate go run ./internal/gen -o .

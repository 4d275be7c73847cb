// Package loader loads the one application of a Runikraft unikernel: an
// unmodified static riscv64 Linux ELF executable (ET_EXEC linked at a low
// fixed address, or static-pie ET_DYN without an interpreter) into user
// memory, and builds its initial stack the way Linux's execve does.
//
// The package has a pure part that builds and tests anywhere (Parse, Plan,
// RandomBase, AuxVector, BuildStack) and a riscv64 part (Load) that maps
// the image through the hart layer. Parsing trusts nothing in the file:
// every size and offset is checked before use, and malformed input gives
// a *FormatError, never a panic.
//
// Memory rules: every segment is mapped read-write, filled with its file
// bytes and then set to its final protection, so no page is ever writable
// and executable at once (W^X). Pages are fresh zero pages, and the loader
// writes only the bytes in [p_vaddr, p_vaddr+p_filesz) of each segment, so
// everything else (bss, page tails, gaps) reads as zero.
package loader

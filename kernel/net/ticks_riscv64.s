// readTicks for the clock (timebase_riscv64.go): the time CSR, read here
// rather than through kernel/reg.ReadTime, which the linker places more
// than a JAL's reach (1 MiB) from this package's code, so that every
// reading went through a trampoline: one more block and one more
// indirect jump (a TCG block look-up) per reading, 13 a Redis request.

#include "textflag.h"

// func readTicks() uint64
TEXT ·readTicks(SB),NOSPLIT|NOFRAME,$0-8
	CSRRS	X0, TIME, A0
	MOV	A0, ret+0(FP)
	RET

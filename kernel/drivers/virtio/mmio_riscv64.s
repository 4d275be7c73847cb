#include "textflag.h"

// Device register access, ordered like Linux's readl/writel: a FENCE
// before each store makes ring writes visible before a notify, and a
// FENCE after each load keeps ring reads after, say, InterruptStatus.
// An AMO's aq/rl bits alone would not do: they order accesses within one
// address domain, and device registers are I/O, the rings main memory.
// Plain LW/SW, never AMOs, which device memory may refuse.

// func mmioRead8(addr uintptr) uint8
TEXT ·mmioRead8(SB), NOSPLIT, $0-9
	MOV	addr+0(FP), A0
	MOVBU	(A0), A1
	FENCE
	MOVB	A1, ret+8(FP)
	RET

// func mmioRead16(addr uintptr) uint16
TEXT ·mmioRead16(SB), NOSPLIT, $0-10
	MOV	addr+0(FP), A0
	MOVHU	(A0), A1
	FENCE
	MOVH	A1, ret+8(FP)
	RET

// func mmioRead32(addr uintptr) uint32
TEXT ·mmioRead32(SB), NOSPLIT, $0-12
	MOV	addr+0(FP), A0
	MOVWU	(A0), A1
	FENCE
	MOVW	A1, ret+8(FP)
	RET

// func mmioWrite32(addr uintptr, v uint32)
TEXT ·mmioWrite32(SB), NOSPLIT, $0-12
	MOV	addr+0(FP), A0
	MOVWU	v+8(FP), A1
	FENCE
	MOVW	A1, (A0)
	RET

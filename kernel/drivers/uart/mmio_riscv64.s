#include "textflag.h"

// Byte access to the UART's registers. The FENCEs order them against
// memory like Linux's readb/writeb; the registers are I/O, where a Go
// load or store could be merged or reordered.

// func mmioRead8(addr uintptr) uint8
TEXT ·mmioRead8(SB), NOSPLIT, $0-9
	MOV	addr+0(FP), A0
	MOVBU	(A0), A1
	FENCE
	MOVB	A1, ret+8(FP)
	RET

// func mmioWrite8(addr uintptr, v uint8)
TEXT ·mmioWrite8(SB), NOSPLIT, $0-9
	MOV	addr+0(FP), A0
	MOVBU	v+8(FP), A1
	FENCE
	MOVB	A1, (A0)
	RET

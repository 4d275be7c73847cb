// Device register access (see doc.go): FENCE after each load, so later
// memory reads (a ring the device wrote) come after it; FENCE before each
// store, so earlier memory writes (a ring the driver wrote) are visible
// to the device first. Plain loads and stores, never AMOs.

#include "textflag.h"

// func Read8(addr uintptr) uint8
TEXT ·Read8(SB),NOSPLIT|NOFRAME,$0-9
	MOV	addr+0(FP), A0
	MOVBU	(A0), A1
	FENCE
	MOVB	A1, ret+8(FP)
	RET

// func Read16(addr uintptr) uint16
TEXT ·Read16(SB),NOSPLIT|NOFRAME,$0-10
	MOV	addr+0(FP), A0
	MOVHU	(A0), A1
	FENCE
	MOVH	A1, ret+8(FP)
	RET

// func Read32(addr uintptr) uint32
TEXT ·Read32(SB),NOSPLIT|NOFRAME,$0-12
	MOV	addr+0(FP), A0
	MOVWU	(A0), A1
	FENCE
	MOVW	A1, ret+8(FP)
	RET

// func Write8(addr uintptr, v uint8)
TEXT ·Write8(SB),NOSPLIT|NOFRAME,$0-9
	MOV	addr+0(FP), A0
	MOVBU	v+8(FP), A1
	FENCE
	MOVB	A1, (A0)
	RET

// func Write32(addr uintptr, v uint32)
TEXT ·Write32(SB),NOSPLIT|NOFRAME,$0-12
	MOV	addr+0(FP), A0
	MOVWU	v+8(FP), A1
	FENCE
	MOVW	A1, (A0)
	RET

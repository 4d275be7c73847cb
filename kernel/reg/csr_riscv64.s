// Control and status registers read and written as registers (see
// doc.go). Each is one CSR instruction: leaf, nosplit, frameless.

#include "textflag.h"

// func ReadTime() uint64
TEXT ·ReadTime(SB),NOSPLIT|NOFRAME,$0-8
	CSRRS	X0, TIME, A0
	MOV	A0, ret+0(FP)
	RET

// func ReadSIP() uint64
TEXT ·ReadSIP(SB),NOSPLIT|NOFRAME,$0-8
	CSRRS	X0, SIP, A0
	MOV	A0, ret+0(FP)
	RET

// func ClearSIP(bits uint64)
TEXT ·ClearSIP(SB),NOSPLIT|NOFRAME,$0-8
	MOV	bits+0(FP), A0
	CSRRC	A0, SIP, X0
	RET

// func WriteSIE(v uint64)
TEXT ·WriteSIE(SB),NOSPLIT|NOFRAME,$0-8
	MOV	v+0(FP), A0
	CSRRW	A0, SIE, X0
	RET

// func SetSCOUNTEREN(bits uint64)
TEXT ·SetSCOUNTEREN(SB),NOSPLIT|NOFRAME,$0-8
	MOV	bits+0(FP), A0
	CSRRS	A0, SCOUNTEREN, X0
	RET

// Interrupt masking and a stack probe for peek.go.

#include "textflag.h"

// func intrOff() uintptr
TEXT ·intrOff(SB),NOSPLIT|NOFRAME,$0-8
	CSRRCI	$2, SSTATUS, T0
	MOV	T0, ret+0(FP)
	RET

// func intrRestore(s uintptr)
TEXT ·intrRestore(SB),NOSPLIT|NOFRAME,$0-8
	MOV	s+0(FP), T0
	AND	$2, T0
	CSRRS	T0, SSTATUS, X0
	RET

// func stackProbe()
// 384 bytes below sp: more than Lookup's and peekLocked's frames, less
// than the room the stack guard keeps for nosplit code.
TEXT ·stackProbe(SB),NOSPLIT|NOFRAME,$0
	MOV	X0, -384(X2)
	RET

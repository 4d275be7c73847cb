// A stack probe for peek.go (interrupt masking: irqOff in csr_riscv64.s).

#include "textflag.h"

// func stackProbe()
// 384 bytes below sp: more than Lookup's and peekLocked's frames, less
// than the room the stack guard keeps for nosplit code.
TEXT ·stackProbe(SB),NOSPLIT|NOFRAME,$0
	MOV	X0, -384(X2)
	RET

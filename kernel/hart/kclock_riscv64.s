// The kernel runtime's vDSO clock_gettime (kclock.go).

#include "textflag.h"

// func kclockGettime(): C convention, A0 clock, A1 *timespec; uses only
// T registers and A0.
TEXT ·kclockGettime(SB),NOSPLIT|NOFRAME,$0
	MOV	·kclockHz(SB), T1
	CSRRS	X0, TIME, T0
	// ns = t/hz*1e9 + t%hz*1e9/hz, as ticksToNS.
	DIVU	T1, T0, T2
	REMU	T1, T0, T3
	MOV	$1000000000, T4
	MUL	T4, T3, T3
	DIVU	T1, T3, T3
	MUL	T4, T2, T2
	ADD	T3, T2, T2
	BNEZ	A0, split	// CLOCK_MONOTONIC
	MOV	·bootWall(SB), T5
	ADD	T5, T2, T2
split:
	DIV	T4, T2, T5
	REM	T4, T2, T6
	MOV	T5, 0(A1)
	MOV	T6, 8(A1)
	MOV	ZERO, A0
	RET

// func kclockAddr() uintptr
TEXT ·kclockAddr(SB),NOSPLIT|NOFRAME,$0-8
	MOV	$·kclockGettime(SB), A0
	MOV	A0, ret+0(FP)
	RET

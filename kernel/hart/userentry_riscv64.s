// EnterUser's way into user mode without a trap: see userentry.go.

#include "go_asm.h"
#include "textflag.h"

// func enterUserDirect(uc uintptr) (r uintptr)
//
// Saves what a Go call must keep (ra, sp, gp, tp, g) and the argument
// into the running thread's kernel frame (sscratch), as if the thread had
// trapped at an EBREAK just before enterUserRet, then continues as
// trapVector would after its save: the hart's trap stack, userEntry, and
// resume of the frame it returns. Every other register is the caller's
// to lose (Go's ABI keeps none across a call). The thread comes back at
// enterUserRet when its kernel frame is resumed (leaveUser's finish steps
// the pc past the "EBREAK"), with the result in a0.
TEXT ·enterUserDirect(SB),NOSPLIT|NOFRAME,$0-16
	CSRRCI	$2, SSTATUS, T0		// interrupts off: trap context from here; T0 = sstatus before
	CSRRS	X0, SSCRATCH, T3	// the thread's kernel frame
	MOV	X1, 8(T3)
	MOV	X2, 16(T3)
	MOV	X3, 24(T3)
	MOV	TP, 32(T3)
	MOV	g, 216(T3)
	MOV	uc+0(FP), T1
	MOV	T1, 80(T3)		// a0: the UserContext, as for the system call
	// sstatus as a trap from S-mode leaves it: SPP set, SPIE the SIE before.
	AND	$2, T0, T1
	SLL	$4, T1, T1
	AND	$-291, T0		// clear SIE, SPIE, SPP (0x122)
	OR	$0x100, T0
	OR	T1, T0
	MOV	T0, frame_status(T3)
	MOV	$·enterUserRet(SB), T0
	ADD	$-4, T0
	MOV	T0, frame_pc(T3)
	MOV	$3, T0			// breakpoint, the cause an EBREAK would leave
	MOV	T0, frame_cause(T3)
	MOV	X0, frame_tval(T3)
	MOV	frame_hart(T3), T4
	MOV	8(T4), T5		// the hart's emergency frame, as trapVector leaves sscratch
	CSRRW	T5, SSCRATCH, X0
	MOV	0(T4), X2		// the hart's trap stack
	ADD	$-24, X2
	MOV	T3, 8(X2)
	CALL	·userEntry(SB)
	MOV	16(X2), X31
	JMP	·resume(SB)

// enterUserRet is where the kernel frame saved by enterUserDirect is
// resumed: sp is enterUserDirect's again, so its result slot is r+8(FP).
TEXT ·enterUserRet(SB),NOSPLIT|NOFRAME,$0-16
	MOV	A0, r+8(FP)
	RET

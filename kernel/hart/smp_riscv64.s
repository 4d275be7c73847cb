// Secondary hart start and the jump into a frame: see smp.go.

#include "go_asm.h"
#include "textflag.h"

// secondaryEntry is where SBI HSM hart_start sends a secondary hart:
// a0 = hart id, a1 = its hartState (opaque), paging off, S-mode, SIE off.
// It turns on the kernel's page table (the boot hart's, bootSATP), takes
// the hart's trap stack and runs secondaryMain, which never returns.
TEXT ·secondaryEntry(SB),NOSPLIT|NOFRAME,$0
	CSRRCI	$2, SSTATUS, X0		// SIE off
	CSRRW	X0, SIE, X0
	MOV	$0x6000, T0		// sstatus.FS = dirty: FP usable
	CSRRS	T0, SSTATUS, X0
	MOV	$·bootSATP(SB), T0	// pc-relative: fine with paging off (identity)
	MOV	(T0), T0
	WORD	$0x12000073		// sfence.vma
	CSRRW	T0, SATP, X0
	WORD	$0x12000073		// sfence.vma
	MOV	0(A1), X2		// hartState.trapSP
	MOV	$0, g			// no g: trap context is nosplit
	ADD	$-16, X2
	MOV	A1, 8(X2)
	CALL	·secondaryMain(SB)
	WORD	$0x10500073		// wfi; not reached
	JMP	-1(PC)

// func secondaryEntryAddr() uintptr (also keeps secondaryEntry linked in)
TEXT ·secondaryEntryAddr(SB),NOSPLIT|NOFRAME,$0-8
	MOV	$·secondaryEntry(SB), A0
	MOV	A0, ret+0(FP)
	RET

// func enterFrame(fr uintptr) resumes frame fr (never returns).
TEXT ·enterFrame(SB),NOSPLIT|NOFRAME,$0-8
	MOV	fr+0(FP), X31
	JMP	·resume(SB)

// func sbicall4(ext, fid, a0, a1, a2, a3 uint64) (err uint64)
TEXT ·sbicall4(SB),NOSPLIT|NOFRAME,$0-56
	MOV	ext+0(FP), A7
	MOV	fid+8(FP), A6
	MOV	a0+16(FP), A0
	MOV	a1+24(FP), A1
	MOV	a2+32(FP), A2
	MOV	a3+40(FP), A3
	ECALL
	MOV	A0, err+48(FP)
	RET

// func readSscratch() uintptr: in trap context, this hart's emergency
// frame (see trapVector), which names the hart.
TEXT ·readSscratch(SB),NOSPLIT|NOFRAME,$0-8
	CSRRS	X0, SSCRATCH, A0
	MOV	A0, ret+0(FP)
	RET

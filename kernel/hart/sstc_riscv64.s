// Sstc's stimecmp CSR (sstc.go); the Go assembler has no name for it.

#include "textflag.h"

// func probeSstc() bool reads stimecmp with stvec pointing at
// sstcProbeTrap, which steps over the read if it traps (no Sstc, or the
// firmware left it off for S-mode). Interrupts must be off.
TEXT ·probeSstc(SB),NOSPLIT|NOFRAME,$0-1
	MOV	$·sstcProbeTrap(SB), T0
	CSRRW	T0, STVEC, T1		// T1: the old vector
	MOV	$1, A0			// cleared by the trap
	WORD	$0x14d023f3		// csrr t2, stimecmp (4 bytes)
	CSRRW	T1, STVEC, X0
	MOVB	A0, ret+0(FP)
	RET

// sstcProbeTrap: the stimecmp read trapped; skip it and say so in A0.
TEXT ·sstcProbeTrap(SB),NOSPLIT|NOFRAME,$0
	CSRRS	X0, SEPC, T2
	ADD	$4, T2
	CSRRW	T2, SEPC, X0
	MOV	$0, A0
	WORD	$0x10200073		// sret

// func writeStimecmp(at uint64)
TEXT ·writeStimecmp(SB),NOSPLIT|NOFRAME,$0-8
	MOV	at+0(FP), A0
	WORD	$0x14d51073		// csrw stimecmp, a0
	RET

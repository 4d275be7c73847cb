#include "textflag.h"

// func sfencePage(va uintptr) flushes this hart's translations of the
// page at va (zeropage.go), not the whole TLB.
TEXT ·sfencePage(SB),NOSPLIT|NOFRAME,$0-8
	MOV	va+0(FP), A0
	WORD	$0x12050073	// sfence.vma a0, zero (no Go mnemonic)
	RET

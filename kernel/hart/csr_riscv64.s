// Small CSR and instruction helpers for the hart layer. Each is a leaf,
// nosplit and frameless: they run in trap context and before the runtime.

#include "textflag.h"

// func rdtime() uint64
TEXT ·rdtime(SB),NOSPLIT|NOFRAME,$0-8
	CSRRS	X0, TIME, A0
	MOV	A0, ret+0(FP)
	RET

// func setSATP(v uint64) switches address space and flushes the TLB.
TEXT ·setSATP(SB),NOSPLIT|NOFRAME,$0-8
	MOV	v+0(FP), A0
	WORD	$0x12000073	// sfence.vma (no Go mnemonic)
	CSRRW	A0, SATP, X0
	WORD	$0x12000073	// sfence.vma (no Go mnemonic)
	RET

// func sfence() flushes the whole TLB after page-table changes.
TEXT ·sfence(SB),NOSPLIT|NOFRAME,$0
	WORD	$0x12000073	// sfence.vma (no Go mnemonic)
	RET

// func fenceI() makes stores to code visible to instruction fetch.
TEXT ·fenceI(SB),NOSPLIT|NOFRAME,$0
	WORD	$0x0000100f	// fence.i
	RET

// func setTrapVector(vec, scratch uintptr)
TEXT ·setTrapVector(SB),NOSPLIT|NOFRAME,$0-16
	MOV	vec+0(FP), A0
	MOV	scratch+8(FP), A1
	CSRRW	A0, STVEC, X0
	CSRRW	A1, SSCRATCH, X0
	RET

// func trapVectorAddr() uintptr (also keeps trapVector and entry linked in)
TEXT ·trapVectorAddr(SB),NOSPLIT|NOFRAME,$0-8
	MOV	$·trapVector(SB), A0
	MOV	A0, ret+0(FP)
	RET

// func entryAddr() uintptr
TEXT ·entryAddr(SB),NOSPLIT|NOFRAME,$0-8
	MOV	$·entry(SB), A0
	MOV	A0, ret+0(FP)
	RET

// func setSIE(v uint64) sets the interrupt-enable bits (sie CSR).
TEXT ·setSIE(SB),NOSPLIT|NOFRAME,$0-8
	MOV	v+0(FP), A0
	CSRRW	A0, SIE, X0
	RET

// func readSIP() uint64
TEXT ·readSIP(SB),NOSPLIT|NOFRAME,$0-8
	CSRRS	X0, SIP, A0
	MOV	A0, ret+0(FP)
	RET

// func clearSSIP() acknowledges a supervisor software interrupt.
TEXT ·clearSSIP(SB),NOSPLIT|NOFRAME,$0
	MOV	$2, A0
	CSRRC	A0, SIP, X0
	RET

// func enableUserTime() lets U-mode read the time CSR (scounteren.TM),
// which the application's vDSO uses instead of a system call.
TEXT ·enableUserTime(SB),NOSPLIT|NOFRAME,$0
	WORD	$0x10616073	// csrrsi zero, scounteren, 2
	RET

// func wfi() sleeps until an enabled interrupt is pending (even with
// sstatus.SIE off, so the idle loop can run in trap context).
TEXT ·wfi(SB),NOSPLIT|NOFRAME,$0
	WORD	$0x10500073	// wfi
	RET

// func sbicall(ext, fid, a0, a1, a2 uint64) (err, val uint64)
TEXT ·sbicall(SB),NOSPLIT|NOFRAME,$0-56
	MOV	ext+0(FP), A7
	MOV	fid+8(FP), A6
	MOV	a0+16(FP), A0
	MOV	a1+24(FP), A1
	MOV	a2+32(FP), A2
	ECALL
	MOV	A0, err+40(FP)
	MOV	A1, val+48(FP)
	RET

// func saveFP(fr uintptr) stores f0-f31 and fcsr into a frame.
TEXT ·saveFP(SB),NOSPLIT|NOFRAME,$0-8
	MOV	fr+0(FP), A0
	MOVD	F0, 288(A0)
	MOVD	F1, 296(A0)
	MOVD	F2, 304(A0)
	MOVD	F3, 312(A0)
	MOVD	F4, 320(A0)
	MOVD	F5, 328(A0)
	MOVD	F6, 336(A0)
	MOVD	F7, 344(A0)
	MOVD	F8, 352(A0)
	MOVD	F9, 360(A0)
	MOVD	F10, 368(A0)
	MOVD	F11, 376(A0)
	MOVD	F12, 384(A0)
	MOVD	F13, 392(A0)
	MOVD	F14, 400(A0)
	MOVD	F15, 408(A0)
	MOVD	F16, 416(A0)
	MOVD	F17, 424(A0)
	MOVD	F18, 432(A0)
	MOVD	F19, 440(A0)
	MOVD	F20, 448(A0)
	MOVD	F21, 456(A0)
	MOVD	F22, 464(A0)
	MOVD	F23, 472(A0)
	MOVD	F24, 480(A0)
	MOVD	F25, 488(A0)
	MOVD	F26, 496(A0)
	MOVD	F27, 504(A0)
	MOVD	F28, 512(A0)
	MOVD	F29, 520(A0)
	MOVD	F30, 528(A0)
	MOVD	F31, 536(A0)
	CSRRS	X0, FCSR, A1
	MOV	A1, 544(A0)
	RET

// func loadFP(fr uintptr) is saveFP's inverse.
TEXT ·loadFP(SB),NOSPLIT|NOFRAME,$0-8
	MOV	fr+0(FP), A0
	MOVD	288(A0), F0
	MOVD	296(A0), F1
	MOVD	304(A0), F2
	MOVD	312(A0), F3
	MOVD	320(A0), F4
	MOVD	328(A0), F5
	MOVD	336(A0), F6
	MOVD	344(A0), F7
	MOVD	352(A0), F8
	MOVD	360(A0), F9
	MOVD	368(A0), F10
	MOVD	376(A0), F11
	MOVD	384(A0), F12
	MOVD	392(A0), F13
	MOVD	400(A0), F14
	MOVD	408(A0), F15
	MOVD	416(A0), F16
	MOVD	424(A0), F17
	MOVD	432(A0), F18
	MOVD	440(A0), F19
	MOVD	448(A0), F20
	MOVD	456(A0), F21
	MOVD	464(A0), F22
	MOVD	472(A0), F23
	MOVD	480(A0), F24
	MOVD	488(A0), F25
	MOVD	496(A0), F26
	MOVD	504(A0), F27
	MOVD	512(A0), F28
	MOVD	520(A0), F29
	MOVD	528(A0), F30
	MOVD	536(A0), F31
	MOV	544(A0), A1
	CSRRW	A1, FCSR, X0
	RET

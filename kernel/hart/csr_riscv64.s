// The hart layer's machinery that Go cannot express: address-space
// switch, fences, trap-vector setup, WFI, SBI calls and the FP context.
// (CSRs read and written as plain registers are in kernel/reg.) Each is a
// leaf, nosplit and frameless: they run in trap context and before the
// runtime.

#include "go_asm.h"
#include "textflag.h"

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
	MOVD	F0, (frame_f+0)(A0)
	MOVD	F1, (frame_f+8)(A0)
	MOVD	F2, (frame_f+16)(A0)
	MOVD	F3, (frame_f+24)(A0)
	MOVD	F4, (frame_f+32)(A0)
	MOVD	F5, (frame_f+40)(A0)
	MOVD	F6, (frame_f+48)(A0)
	MOVD	F7, (frame_f+56)(A0)
	MOVD	F8, (frame_f+64)(A0)
	MOVD	F9, (frame_f+72)(A0)
	MOVD	F10, (frame_f+80)(A0)
	MOVD	F11, (frame_f+88)(A0)
	MOVD	F12, (frame_f+96)(A0)
	MOVD	F13, (frame_f+104)(A0)
	MOVD	F14, (frame_f+112)(A0)
	MOVD	F15, (frame_f+120)(A0)
	MOVD	F16, (frame_f+128)(A0)
	MOVD	F17, (frame_f+136)(A0)
	MOVD	F18, (frame_f+144)(A0)
	MOVD	F19, (frame_f+152)(A0)
	MOVD	F20, (frame_f+160)(A0)
	MOVD	F21, (frame_f+168)(A0)
	MOVD	F22, (frame_f+176)(A0)
	MOVD	F23, (frame_f+184)(A0)
	MOVD	F24, (frame_f+192)(A0)
	MOVD	F25, (frame_f+200)(A0)
	MOVD	F26, (frame_f+208)(A0)
	MOVD	F27, (frame_f+216)(A0)
	MOVD	F28, (frame_f+224)(A0)
	MOVD	F29, (frame_f+232)(A0)
	MOVD	F30, (frame_f+240)(A0)
	MOVD	F31, (frame_f+248)(A0)
	CSRRS	X0, FCSR, A1
	MOV	A1, frame_fcsr(A0)
	RET

// func loadFP(fr uintptr) is saveFP's inverse.
TEXT ·loadFP(SB),NOSPLIT|NOFRAME,$0-8
	MOV	fr+0(FP), A0
	MOVD	(frame_f+0)(A0), F0
	MOVD	(frame_f+8)(A0), F1
	MOVD	(frame_f+16)(A0), F2
	MOVD	(frame_f+24)(A0), F3
	MOVD	(frame_f+32)(A0), F4
	MOVD	(frame_f+40)(A0), F5
	MOVD	(frame_f+48)(A0), F6
	MOVD	(frame_f+56)(A0), F7
	MOVD	(frame_f+64)(A0), F8
	MOVD	(frame_f+72)(A0), F9
	MOVD	(frame_f+80)(A0), F10
	MOVD	(frame_f+88)(A0), F11
	MOVD	(frame_f+96)(A0), F12
	MOVD	(frame_f+104)(A0), F13
	MOVD	(frame_f+112)(A0), F14
	MOVD	(frame_f+120)(A0), F15
	MOVD	(frame_f+128)(A0), F16
	MOVD	(frame_f+136)(A0), F17
	MOVD	(frame_f+144)(A0), F18
	MOVD	(frame_f+152)(A0), F19
	MOVD	(frame_f+160)(A0), F20
	MOVD	(frame_f+168)(A0), F21
	MOVD	(frame_f+176)(A0), F22
	MOVD	(frame_f+184)(A0), F23
	MOVD	(frame_f+192)(A0), F24
	MOVD	(frame_f+200)(A0), F25
	MOVD	(frame_f+208)(A0), F26
	MOVD	(frame_f+216)(A0), F27
	MOVD	(frame_f+224)(A0), F28
	MOVD	(frame_f+232)(A0), F29
	MOVD	(frame_f+240)(A0), F30
	MOVD	(frame_f+248)(A0), F31
	MOV	frame_fcsr(A0), A1
	CSRRW	A1, FCSR, X0
	RET

// func irqOff() (sstatus uint64) turns sstatus.SIE off and returns
// sstatus as it was (copydirect.go).
TEXT ·irqOff(SB),NOSPLIT|NOFRAME,$0-8
	CSRRCI	$2, SSTATUS, A0
	MOV	A0, sstatus+0(FP)
	RET

// func irqRestore(sstatus uint64) turns sstatus.SIE back on if it was on
// in sstatus.
TEXT ·irqRestore(SB),NOSPLIT|NOFRAME,$0-8
	MOV	sstatus+0(FP), A0
	AND	$2, A0, A0
	CSRRS	A0, SSTATUS, X0
	RET

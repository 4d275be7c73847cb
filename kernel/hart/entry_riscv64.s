// Boot entry, trap vector and context restore: the only places where the
// hart layer needs instructions Go cannot express. Frame offsets and sizes
// come from go_asm.h, which the go command generates from type frame and
// the constants in state.go and boot.go, so they cannot drift.

#include "go_asm.h"
#include "textflag.h"

#define FR_HART	frame_hart
#define FR_PC	frame_pc
#define FR_STATUS	frame_status
#define FR_CAUSE	frame_cause
#define FR_TVAL	frame_tval
#define EARLY_STACK	const_earlyStackSize
#define BI_GOENTRY	(const_biGoEntry*8)

// entry is where the image's boot stub jumps: a0 = hart id, a1 = device
// tree, paging off, S-mode. It runs boot on a small stack in .bss, then
// continues into the Go runtime's own ELF entry on the main thread's stack.
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	CSRRCI	$2, SSTATUS, X0		// SIE off until the runtime runs
	CSRRW	X0, SIE, X0
	MOV	$0x6000, T0		// sstatus.FS = dirty: Go code may use FP
	CSRRS	T0, SSTATUS, X0
	// One hart runs boot. OpenSBI 1.1 (QEMU 7.2's) marks a hart started
	// before it stores the start address and argument hart_start gave,
	// so a secondary hart can leave its wait early with the stale ones
	// (this entry, a1 = 0) and arrive here while the boot hart runs.
	MOV	$·bootClaimed(SB), T0
	MOV	$1, T1
	AMOSWAPW	T1, (T0), T1
	BNEZ	T1, late
	MOV	$·earlyStack(SB), X2
	MOV	$EARLY_STACK, T0
	ADD	T0, X2
	MOV	$0, g			// no g: boot code is nosplit
	ADD	$-32, X2
	MOV	A0, 8(X2)
	MOV	A1, 16(X2)
	CALL	·boot(SB)
	MOV	24(X2), T0		// initial stack pointer (argc, argv, ...)
	MOV	T0, X2
	MOV	$·bootInfo(SB), T1
	MOV	BI_GOENTRY(T1), T1
	CSRRSI	$2, SSTATUS, X0		// interrupts on: the timer preempts threads
	JALR	X0, T1

// late: a hart that arrived at entry after the boot hart (see above).
// Paging is off and it has no stack: it touches only its registers and
// reads harts once startHarts has published them (hartsPublished), then
// starts as the secondary it is, or parks if it is not one of them.
late:
	MOV	$·hartsPublished(SB), T0
latewait:
	MOVW	(T0), T1
	BEQZ	T1, latewait
	FENCE
	MOV	$·harts(SB), T0
	MOV	$·nharts(SB), T1
	MOVW	(T1), T1
	MOV	$0, T2
latescan:
	BGE	T2, T1, latepark
	MOV	hartState_id(T0), T3
	BEQ	T3, A0, latefound
	ADD	$hartState__size, T0
	ADD	$1, T2
	JMP	latescan
latefound:
	MOV	T0, A1
	JMP	·secondaryEntry(SB)
latepark:
	WORD	$0x10500073		// wfi
	JMP	latepark

// trapVector is stvec (direct mode). sscratch holds the running thread's
// frame. It saves every integer register and the trap CSRs into the frame,
// points sscratch at the hart's emergency frame (so a trap inside the
// handler lands there, not on top of the thread's state), switches to the
// hart's trap stack and calls trap, which returns the frame to resume.
TEXT ·trapVector(SB),NOSPLIT|NOFRAME,$0
	CSRRW	X31, SSCRATCH, X31
	// The identity calls from user mode, answered with two registers
	// saved (fastentry.go); X31 is then the thread's UserContext.
	MOV	X29, 232(X31)
	MOV	X30, 240(X31)
	CSRRS	X0, SCAUSE, X30
	MOV	$8, X29			// ecall from U-mode
	BNE	X30, X29, slow
	MOVWU	const_ucKick(X31), X30
	MOVWU	const_ucFlags(X31), X29
	OR	X29, X30
	BNEZ	X30, slow
	ADD	$-const_fastSysFirst, X17, X30
	MOV	$(const_fastSysLast-const_fastSysFirst), X29
	BGTU	X30, X29, slow
	MOV	$1, X10			// getpid
	BEQZ	X30, fastdone
	MOVWU	const_ucTid(X31), X10	// gettid
	BEQ	X30, X29, fastdone
	MOV	X0, X10			// getppid, the uid and gid calls
fastdone:
	CSRRS	X0, SEPC, X30
	ADD	$4, X30
	CSRRW	X30, SEPC, X0
	MOV	232(X31), X29
	MOV	240(X31), X30
	CSRRW	X31, SSCRATCH, X31
	WORD	$0x10200073	// sret
slow:
	MOV	232(X31), X29
	MOV	240(X31), X30
	MOV	X1, 8(X31)
	MOV	X2, 16(X31)
	MOV	X3, 24(X31)
	MOV	TP, 32(X31)
	MOV	X5, 40(X31)
	MOV	X6, 48(X31)
	MOV	X7, 56(X31)
	MOV	X8, 64(X31)
	MOV	X9, 72(X31)
	MOV	X10, 80(X31)
	MOV	X11, 88(X31)
	MOV	X12, 96(X31)
	MOV	X13, 104(X31)
	MOV	X14, 112(X31)
	MOV	X15, 120(X31)
	MOV	X16, 128(X31)
	MOV	X17, 136(X31)
	MOV	X18, 144(X31)
	MOV	X19, 152(X31)
	MOV	X20, 160(X31)
	MOV	X21, 168(X31)
	MOV	X22, 176(X31)
	MOV	X23, 184(X31)
	MOV	X24, 192(X31)
	MOV	X25, 200(X31)
	MOV	X26, 208(X31)
	MOV	g, 216(X31)
	MOV	X28, 224(X31)
	MOV	X29, 232(X31)
	MOV	X30, 240(X31)
	CSRRS	X0, SSCRATCH, X30	// the thread's x31
	MOV	X30, 248(X31)
	MOV	FR_HART(X31), X30
	MOV	8(X30), X29		// hart's emergency frame
	CSRRW	X29, SSCRATCH, X0
	CSRRS	X0, SEPC, X29
	MOV	X29, FR_PC(X31)
	CSRRS	X0, SSTATUS, X29
	MOV	X29, FR_STATUS(X31)
	MOV	$0x6000, X29		// sstatus.FS dirty: trap context runs in one FP state (fp.go, fpSwitch)
	CSRRS	X29, SSTATUS, X0
	CSRRS	X0, SCAUSE, X29
	MOV	X29, FR_CAUSE(X31)
	CSRRS	X0, STVAL, X29
	MOV	X29, FR_TVAL(X31)
	MOV	0(X30), X2		// hart's trap stack
	ADD	$-24, X2
	MOV	X31, 8(X2)
	CALL	·trap(SB)
	MOV	16(X2), X31
	JMP	·resume(SB)

// resume(fr) restores the frame in X31 and returns from the trap into it.
TEXT ·resume(SB),NOSPLIT|NOFRAME,$0
	CSRRW	X31, SSCRATCH, X0
	MOV	FR_PC(X31), X30
	CSRRW	X30, SEPC, X0
	MOV	FR_STATUS(X31), X30
	CSRRW	X30, SSTATUS, X0
	MOV	8(X31), X1
	MOV	16(X31), X2
	MOV	24(X31), X3
	MOV	32(X31), TP
	MOV	40(X31), X5
	MOV	48(X31), X6
	MOV	56(X31), X7
	MOV	64(X31), X8
	MOV	72(X31), X9
	MOV	80(X31), X10
	MOV	88(X31), X11
	MOV	96(X31), X12
	MOV	104(X31), X13
	MOV	112(X31), X14
	MOV	120(X31), X15
	MOV	128(X31), X16
	MOV	136(X31), X17
	MOV	144(X31), X18
	MOV	152(X31), X19
	MOV	160(X31), X20
	MOV	168(X31), X21
	MOV	176(X31), X22
	MOV	184(X31), X23
	MOV	192(X31), X24
	MOV	200(X31), X25
	MOV	208(X31), X26
	MOV	216(X31), g
	MOV	224(X31), X28
	MOV	232(X31), X29
	MOV	240(X31), X30
	MOV	248(X31), X31
	WORD	$0x10200073	// sret

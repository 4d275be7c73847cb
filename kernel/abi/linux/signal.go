package linux

// NSIG is the number of signals (1..64); a sigset_t is 64 bits, and the
// rt_sig* calls refuse any other sigsetsize.
const (
	NSIG       = 64
	SigsetSize = 8
)

// sigaction flags (asm-generic/signal.h; riscv64 has no SA_RESTORER).
const (
	SA_NOCLDSTOP = 0x1
	SA_NOCLDWAIT = 0x2
	SA_SIGINFO   = 0x4
	SA_ONSTACK   = 0x08000000
	SA_RESTART   = 0x10000000
	SA_NODEFER   = 0x40000000
	SA_RESETHAND = 0x80000000
)

// sigaltstack flags.
const (
	SS_ONSTACK = 1
	SS_DISABLE = 2
)

// Signal dispositions (sa_handler values).
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// how of rt_sigprocmask.
const (
	SIG_BLOCK   = 0
	SIG_UNBLOCK = 1
	SIG_SETMASK = 2
)

// sigevent notification kinds (timer_create, mq_notify).
const (
	SIGEV_SIGNAL    = 0
	SIGEV_NONE      = 1
	SIGEV_THREAD    = 2
	SIGEV_THREAD_ID = 4
)

// si_code values.
const (
	SI_USER     = 0
	SI_KERNEL   = 0x80
	SI_QUEUE    = -1
	SI_TIMER    = -2
	SI_TKILL    = -6
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
	BUS_ADRALN  = 1
	ILL_ILLOPC  = 1
	TRAP_BRKPT  = 1
	FPE_INTDIV  = 1
)

// SignalName is the symbolic name of signal n ("SIGSEGV"), or "" if it
// has none (real-time signals).
func SignalName(n int) string {
	if n > 0 && n < len(signalNames) {
		return signalNames[n].name
	}
	return ""
}

// SignalText is strsignal(n), or "" if unknown.
func SignalText(n int) string {
	if n > 0 && n < len(signalNames) {
		return signalNames[n].desc
	}
	return ""
}

// SigBit is n's bit in a sigset_t.
func SigBit(n int) uint64 { return 1 << (uint(n) - 1) }

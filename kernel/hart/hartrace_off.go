//go:build riscv64 && hartprof && !hartrace

package hart

// Without the hartrace tag the window's event trace (hartrace.go) is off.

var tracing bool // set and cleared by the window marks; nothing reads it

//go:nosplit
func trace(*hartState, int, uint64, uint64) {}

//go:nosplit
func traceDump() {}

const (
	evTrap = iota + 1
	evResume
	evTimerSet
	evIPI
	evIdle
)

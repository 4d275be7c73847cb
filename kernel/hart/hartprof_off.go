//go:build riscv64 && !hartprof

package hart

// The scheduler profile's hooks, empty without the hartprof tag (see
// hartprof.go).

//go:nosplit
func profLock(*hartState) { bkl.lock() }

//go:nosplit
func profUnlock(*hartState) { bkl.unlock() }

//go:nosplit
func profTrap(*hartState, uint64, bool) {}

//go:nosplit
func profFast(*hartState) {}

//go:nosplit
func profResume(*hartState, uintptr) {}

//go:nosplit
func profSys(*hartState, uint64) {}

//go:nosplit
func profSwitch(*hartState) {}

//go:nosplit
func profMigrate(*hartState, uintptr) {}

//go:nosplit
func profIPI() {}

//go:nosplit
func profTimerSet(*hartState) uint64 { return 0 }

//go:nosplit
func profTimerDone(*hartState, uint64) {}

//go:nosplit
func profFence(*hartState) {}

//go:nosplit
func profIdle(*hartState, uint64) {}

//go:nosplit
func profPrint() {}

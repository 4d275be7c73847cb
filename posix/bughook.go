package posix

// The deliberately panicking system call that proves the dispatcher's
// panic containment (Thread.invoke): only test builds install it, the
// host tests from bughook_test.go and QEMU test kernels built with the
// build tag runikraft_bughook (bughook_tag.go). The stock kernel answers
// its number with ENOSYS like any unknown one.

// BugHookNr is the hook's system-call number: far above Linux's, so no
// real program reaches it by accident.
const BugHookNr = 0x7b0b

// sysBugHook indexes a slice with the application's first argument, the
// same kind of unchecked conversion as the fcntl(F_DUPFD, -1) bug: any
// value panics.
func sysBugHook(_ *Thread, a *[6]uint64) int64 {
	var none []int64
	return none[int(a[0])]
}

// bugHook is set by test builds, before any init function runs (a
// variable initialiser), so the table's init installs the hook.
var bugHook bool

// installBugHook adds the hook to the table; from init only (the table
// is read without locks afterwards).
func installBugHook() {
	table[BugHookNr] = entry{name: "runikraft_bughook", fn: sysBugHook, level: Full, note: "test builds only: panics"}
}

//go:build runikraft_bughook

package posix

// A kernel built with -tags runikraft_bughook (tests/app) answers
// BugHookNr with a panic.
var _ = func() bool { bugHook = true; return true }()

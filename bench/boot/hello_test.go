package main

import "testing"

func TestIsInit(t *testing.T) {
	for name, want := range map[string]bool{
		"os.init":                   true,
		"unicode.init.0":            true,
		"internal/godebug.init.12":  true,
		"github.com/a/b/posix.init": true,
		"runtime.(*mheap).init":     false,
		"posix.(*sigTable).init":    false,
		"os.initCwd":                false,
		"os.init.":                  false,
		"os.init.x1":                false,
		"init":                      false,
	} {
		if got := isInit(name); got != want {
			t.Errorf("isInit(%q) = %v, want %v", name, got, want)
		}
	}
}

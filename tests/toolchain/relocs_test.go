package toolchain

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

// Function-pointer tables initialised with functions from another object
// file and from libc, whose addresses the code also takes directly: the
// pattern that Lua, cJSON and SQLite all have. The link must leave only
// relocations the static-pie start code applies, and the table must hold
// the relocated addresses.
func TestFunctionPointerTable(t *testing.T) {
	timed(t)
	out := filepath.Join(t.TempDir(), "fptr")
	main, _ := filepath.Abs("testdata/fptr_main.c")
	answer, _ := filepath.Abs("testdata/fptr_answer.c")
	step(t, filepath.Dir(out), 2*time.Minute, nil, cc, "-O2", "-o", out, main, answer)
	harness.Expect(t, run(t, nil, nil, out), 0, "relocated: malloc 1, answer 1, answer() 42\n")
}

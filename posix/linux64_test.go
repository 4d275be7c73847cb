package posix

import (
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// Every row of the syscall table names the call its number is, states a
// real support level, and is honest about it.
func TestSyscallTable(t *testing.T) {
	tab := linux64()
	if len(tab) < 100 {
		t.Fatalf("only %d rows", len(tab))
	}
	for nr, e := range tab {
		if want := linux.SyscallName(nr); e.name != want {
			t.Errorf("row %d is named %q; Linux riscv64 calls %d %q", nr, e.name, nr, want)
		}
		switch e.level {
		case Full, Partial:
			if e.fn == nil {
				t.Errorf("%s: %v without a handler", e.name, e.level)
			}
		case Unimplemented:
			if e.fn != nil {
				t.Errorf("%s: ENOSYS row with a handler", e.name)
			}
		default:
			t.Errorf("%s: no support level", e.name)
		}
		note := strings.ToLower(e.note)
		for _, w := range []string{"ignored", "stub", "not enforced", "zeros"} {
			if e.level == Full && strings.Contains(note, w) {
				t.Errorf("%s is marked supported but its note says %q", e.name, e.note)
			}
		}
		if e.level == Partial && e.note == "" {
			t.Errorf("%s is partial without a note saying how", e.name)
		}
	}
}

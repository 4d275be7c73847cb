package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/bench/internal/tblog"
)

// A log in QEMU 7.2's in_asm/exec format: translations with their
// privilege, and executions of them; executions count only in supervisor
// mode and only before the first user-mode block runs.
func TestReadLog(t *testing.T) {
	log := `----------------
IN: 
Priv: 3; Virt: 0
0x0000000000001000:  00000297          auipc                   t0,0

Trace 0: 0x7f0000000100 [0000000000000000/0000000000001000/00209003/ff020200] 
----------------
IN: 
Priv: 1; Virt: 0
0x0000000080200000:  00050433          add                     s0,a0,zero
0x0000000080200004:  000584b3          add                     s1,a1,zero
0x0000000080200008:  554000ef          jal                     ra,1364

Trace 0: 0x7f0000000200 [0000000000000000/0000000080200000/00209003/ff020200] 
Trace 0: 0x7f0000000200 [0000000000000000/0000000080200000/00209003/ff020200] 
----------------
IN: 
Priv: 0; Virt: 0
0x0000000000010000:  00000013          nop

Trace 0: 0x7f0000000300 [0000000000000000/0000000000010000/00209003/ff020200] 
Trace 0: 0x7f0000000200 [0000000000000000/0000000080200000/00209003/ff020200] 
`
	name := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(name, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, executed, err := tblog.ReadLog(name)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{{Priv: 3, PC: 0x1000}, {Priv: 1, PC: 0x80200000}, {Priv: 0, PC: 0x10000}}
	if len(blocks) != len(want) {
		t.Fatalf("blocks %v, want %v", blocks, want)
	}
	for i := range want {
		if blocks[i] != want[i] {
			t.Fatalf("blocks %v, want %v", blocks, want)
		}
	}
	if len(executed) != 1 || executed[0x80200000] != 6 {
		t.Fatalf("executed %v, want 6 instructions at 0x80200000 (two runs of three, none after user mode)", executed)
	}

	syms := symtab{{0x80200000, 0x10, "runtime.rt0_go"}, {0x80200010, 0x10, "github.com/runikraft/runikraft/posix.init"}}
	var b strings.Builder
	report(&b, append(blocks[:2:2], block{Priv: 1, PC: 0x80200010}, blocks[2]), syms, 5, 0)
	out := b.String()
	for _, w := range []string{"blocks translated: 4 in all", "kernel, entry to the application's first instruction  2", "== init github.com/runikraft/runikraft/posix"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
}

func TestNames(t *testing.T) {
	for sym, pkg := range map[string]string{
		"runtime.mallocgc":                                         "runtime",
		"github.com/runikraft/runikraft/posix.Start":               "github.com/runikraft/runikraft/posix",
		"github.com/runikraft/runikraft/kernel/hart.(*space).mmap": "github.com/runikraft/runikraft/kernel/hart",
		"?": "?",
	} {
		if got := pkgOf(sym); got != pkg {
			t.Errorf("pkgOf(%q) = %q, want %q", sym, got, pkg)
		}
	}
	for sym, want := range map[string]bool{
		"os.init":        true,
		"unicode.init.0": true,
		"github.com/runikraft/runikraft/kernel.init":            true,
		"runtime.(*mheap).init":                                 false,
		"runtime.gcControllerState.init":                        false,
		"github.com/runikraft/runikraft/posix.(*sigTable).init": false,
	} {
		if got := initRE.MatchString(sym); got != want {
			t.Errorf("package init %q: %v, want %v", sym, got, want)
		}
	}
}

//go:build riscv64

package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runikraft/runikraft/kernel/hart"
)

// logBoot writes the boot timeline (runikraft run --debug) once the
// application has run its first instruction, and the kernel's own
// resident memory at that point, with how much of the application's
// file (file bytes) went back to the page allocator (released): the rest
// backs the application's read-only pages, or is a root filesystem's
// archive, which stays. It waits at most a few seconds: an application
// that never gets there is reported as such.
func logBoot(w io.Writer, ram, file, released uint64) {
	var t [hart.NPhases]int64
	for i := 0; i < 500; i++ {
		if t = hart.Timeline(); t[hart.PhaseFirstUser] != 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := hart.ReadMemStats()
	fmt.Fprint(w, formatTimeline(t))
	fmt.Fprintf(w, "runikraft: memory at the first user instruction: kernel resident %s, application %s, of RAM %s; of the application's %s file, %s went back to the allocator\n",
		mib(s.InUse-min(s.InUse, s.App)), mib(s.App), mib(ram), mib(file), mib(released))
	logAccount(w, "at the first user instruction")
}

// formatTimeline renders the stamps: the time since the machine's reset
// at which each phase ended and how long it took.
func formatTimeline(t [hart.NPhases]int64) string {
	var b strings.Builder
	b.WriteString("runikraft: boot timeline (ms since machine reset, and the phase's own time):\n")
	prev := int64(0)
	for p := hart.Phase(0); p < hart.NPhases; p++ {
		if t[p] == 0 {
			fmt.Fprintf(&b, "runikraft:   %-34s not reached\n", p)
			continue
		}
		fmt.Fprintf(&b, "runikraft:   %-34s %8.2f  +%.2f\n", p, float64(t[p])/1e6, float64(t[p]-prev)/1e6)
		prev = t[p]
	}
	return b.String()
}

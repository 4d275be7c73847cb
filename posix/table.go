package posix

import (
	"fmt"
	"io"
	"sort"
)

// Support levels in the syscall table.
const (
	Full    = "supported"
	Partial = "partial"
	None    = "ENOSYS"
)

type handler func(t *Thread, a *[6]uint64) int64

// entry is one row of the syscall table.
type entry struct {
	nr    uint64
	name  string
	fn    handler
	level string
	note  string
	quiet bool // expected probe with a fallback: not logged
}

// table maps riscv64 syscall numbers to their rows; each area's file
// contributes a slice. It is built in init (handlers reach the table
// through the thread loop, which a variable initialiser may not) and
// never changes afterwards.
var table map[uint64]*entry

func init() {
	table = buildTable(fileCalls, fsCalls, memCalls, threadCalls, signalCalls, timeCalls, miscCalls, pollCalls, unsupportedCalls)
}

func buildTable(areas ...[]entry) map[uint64]*entry {
	m := map[uint64]*entry{}
	for _, area := range areas {
		for i := range area {
			e := &area[i]
			if old, dup := m[e.nr]; dup {
				panic(fmt.Sprintf("posix: syscall %d listed twice (%s, %s)", e.nr, old.name, e.name))
			}
			if e.level == "" {
				e.level = Full
			}
			m[e.nr] = e
		}
	}
	return m
}

func lookup(nr uint64) *entry { return table[nr] }

// WriteTable prints the compatibility table as Markdown.
func WriteTable(w io.Writer) error {
	nrs := make([]uint64, 0, len(table))
	for nr := range table {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	if _, err := fmt.Fprintln(w, "| nr | syscall | support | note |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, nr := range nrs {
		e := table[nr]
		if _, err := fmt.Fprintf(w, "| %d | %s | %s | %s |\n", e.nr, e.name, e.level, e.note); err != nil {
			return err
		}
	}
	return nil
}

// unsupportedCalls are known by name so the log says what was asked for.
var unsupportedCalls = []entry{
	{nr: 198, name: "socket", level: None, note: "networking comes with the net issue"},
	{nr: 199, name: "socketpair", level: None},
	{nr: 200, name: "bind", level: None},
	{nr: 201, name: "listen", level: None},
	{nr: 202, name: "accept", level: None},
	{nr: 203, name: "connect", level: None},
	{nr: 242, name: "accept4", level: None},
	{nr: 220 + 1, name: "execve", level: None, note: "one application per image"},
	{nr: 258, name: "riscv_hwprobe", level: None, quiet: true, note: "callers fall back to AT_HWCAP"},
	{nr: 293, name: "rseq", level: None, quiet: true, note: "glibc falls back"},
	{nr: 435, name: "clone3", level: None, quiet: true, note: "libcs fall back to clone"},
	{nr: 103, name: "setitimer", level: None},
	{nr: 107, name: "timer_create", level: None},
	{nr: 232, name: "mincore", level: None},
	{nr: 283, name: "membarrier", level: None, quiet: true},
}

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// QEMU's trace events (its "log" backend, which Debian's build has),
// counted over the measured window: QEMU writes a line per event to a
// file (-D) from the start, and the window's counts are the difference
// of two readings. Logging slows QEMU a little; the counts do not
// depend on that.

type eventLog struct {
	path  string
	names []string
	args  []string
}

func newEventLog(dir, list string) (*eventLog, error) {
	l := &eventLog{path: filepath.Join(dir, "events.log")}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		for _, c := range n {
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return nil, fmt.Errorf("-events: %q is not a trace event's name", n)
			}
		}
		l.names = append(l.names, n)
		l.args = append(l.args, "-trace", "enable="+n)
	}
	if len(l.names) == 0 {
		return nil, fmt.Errorf("-events: no event named")
	}
	l.args = append(l.args, "-D", l.path)
	return l, nil
}

// count reads the log so far: events by name.
func (l *eventLog) count() (map[string]uint64, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("QEMU's trace log: %w", err)
	}
	defer f.Close()
	return countEvents(f, l.names)
}

// countEvents counts the lines of a QEMU trace log by event: a line is
// "[PID@TIME:]NAME args..." (the prefix with -msg timestamp or newer
// QEMUs), and only the names asked for count.
func countEvents(r io.Reader, names []string) (map[string]uint64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	counts := map[string]uint64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if i := bytes.IndexByte(line, ' '); i >= 0 {
			line = line[:i]
		}
		if i := bytes.LastIndexByte(line, ':'); i >= 0 {
			line = line[i+1:]
		}
		if want[string(line)] {
			counts[string(line)]++
		}
	}
	return counts, sc.Err()
}

func (l *eventLog) print(w io.Writer, before, after map[string]uint64, n float64) {
	fmt.Fprint(w, "QEMU trace events per request:")
	for _, name := range l.names {
		fmt.Fprintf(w, " %s %.2f", name, float64(after[name]-before[name])/n)
	}
	fmt.Fprintln(w)
}

// Package qemucpu splits a QEMU process's CPU time by thread, so that a
// network benchmark can say where a request's cost went: the vCPU thread
// (the guest, and the device emulation its register accesses run
// synchronously) or QEMU's main loop (the user network, slirp, and the
// device back-ends). QEMU names its threads only with
// `-name debug-threads=on` (Args): the vCPU threads "CPU N/TCG" (or
// "CPU N/KVM"), the main loop the process's own name.
package qemucpu

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Args are the QEMU arguments that name its threads.
var Args = []string{"-name", "debug-threads=on"}

// Times is CPU time in clock ticks by thread kind.
type Times struct {
	VCPU, Main, Other uint64
}

// TicksPerSecond is USER_HZ, 100 on every Linux architecture that
// reports /proc times.
const TicksPerSecond = 100

// Read sums the CPU time of process pid's threads by kind.
func Read(pid int) (Times, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return Times{}, fmt.Errorf("qemu's threads: %w", err)
	}
	var t Times
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			continue // the thread ended
		}
		name, ticks, err := parseStat(string(b))
		if err != nil {
			return Times{}, fmt.Errorf("%s: %w", task.Name(), err)
		}
		switch {
		case strings.HasPrefix(name, "CPU "):
			t.VCPU += ticks
		case task.Name() == strconv.Itoa(pid):
			t.Main += ticks
		default:
			t.Other += ticks
		}
	}
	return t, nil
}

// parseStat returns a /proc/PID/stat line's command name and utime+stime.
func parseStat(s string) (string, uint64, error) {
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "", 0, fmt.Errorf("stat line %q", s)
	}
	f := strings.Fields(s[j+1:])
	// After the name: state(0) ... utime(11) stime(12).
	if len(f) < 13 {
		return "", 0, fmt.Errorf("stat line %q: %d fields", s, len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, fmt.Errorf("stat line %q: times", s)
	}
	return s[i+1 : j], u + st, nil
}

// Sub is t minus an earlier reading.
func (t Times) Sub(e Times) Times {
	return Times{VCPU: t.VCPU - e.VCPU, Main: t.Main - e.Main, Other: t.Other - e.Other}
}

// PerOp formats the times divided over n operations, in microseconds.
func (t Times) PerOp(n int64) string {
	if n <= 0 {
		return "-"
	}
	us := func(ticks uint64) float64 { return float64(ticks) * 1e6 / TicksPerSecond / float64(n) }
	return fmt.Sprintf("%.0f/%.0f/%.0f", us(t.VCPU), us(t.Main), us(t.Other))
}

// ChildQEMU returns the pid of parent's child process that is QEMU
// (runikraft run's). Any of parent's threads may have started it, so
// every thread's children are looked at.
func ChildQEMU(parent int) (int, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.Contains(filepath.Base(exe), "qemu") {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("process %d has no QEMU child", parent)
}

// Wrapper writes an executable script into dir that runs
// qemu-system-riscv64 with Args added (for runikraft run --qemu), and
// returns its path. The script execs QEMU, so its process is QEMU's.
func Wrapper(dir string) (string, error) {
	p := filepath.Join(dir, "qemu-named-threads")
	script := "#!/bin/sh\nexec qemu-system-riscv64 \"$@\" " + strings.Join(Args, " ") + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("qemu wrapper: %w", err)
	}
	return p, nil
}

package toolchain

import (
	"regexp"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/tests/harness"
)

// A stack buffer overflow in a program built with runikraft-cc's defaults
// (it compiles with -fstack-protector-strong) is caught by the canary
// before the function returns: musl's __stack_chk_fail (with the
// libc-shim's message) says so and aborts, and the kernel reports the
// SIGABRT and passes the status on.
func TestStackCanary(t *testing.T) {
	timed(t)
	smash := compile(t, "smash.c", "-O2")

	harness.Expect(t, run(t, nil, nil, smash, "fits"), 0,
		"smash: copying 4 bytes into char[8]\nsmash: buf holds 4 bytes\nsmash: returned normally\n")

	r := run(t, nil, nil, smash, strings.Repeat("A", 64))
	if r.Code != 128+6 || r.Stdout != "smash: copying 64 bytes into char[8]\n" {
		t.Errorf("overflow: exit %d, stdout %q; want exit 134 (SIGABRT) before anything past the copy is printed", r.Code, r.Stdout)
	}
	for _, want := range []string{"*** stack smashing detected ***", "app killed by SIGABRT (signal 6)"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("overflow: stderr %q lacks %q", r.Stderr, want)
		}
	}
}

// W^X: memory is never writable and executable at once. Asking for it
// (mmap, mprotect) is refused with EACCES, while writing code and then
// switching it to read+execute works; and code copied into writable memory
// (heap, static data, stack) faults when called: SIGSEGV at the copy's
// address, reported by the kernel.
func TestWriteXorExecute(t *testing.T) {
	timed(t)
	wx := compile(t, "wx.c", "-O2")

	// The refusal is a notice on the kernel's log, which --log - shows
	// on stderr (a run the application ends itself does not show it).
	r := run(t, nil, []string{"--log", "-"}, wx, "map")
	harness.Expect(t, r, 0, "mmap(RWX): refused (Permission denied)\n"+
		"mprotect(WX): refused (Permission denied)\n"+
		"mprotect(RWX): refused (Permission denied)\n"+
		"W then X: 42\n")
	if !strings.Contains(r.Stderr, "refused a writable and executable mapping (W^X)") {
		t.Errorf("the kernel did not report the W^X refusal: stderr %q", r.Stderr)
	}

	fault := regexp.MustCompile(`app killed by SIGSEGV \(signal 11\) at pc (0x[0-9a-f]+), fault address (0x[0-9a-f]+)`)
	for _, where := range []string{"heap", "static", "stack"} {
		r := run(t, nil, nil, wx, where)
		if r.Code != 128+11 || r.Stdout != "wx: calling code copied to "+where+" memory\n" {
			t.Errorf("%s: exit %d, stdout %q; want exit 139 (SIGSEGV) before the copied code returns", where, r.Code, r.Stdout)
		}
		// An instruction fetch fault: the fault address is the pc.
		if m := fault.FindStringSubmatch(r.Stderr); m == nil || m[1] != m[2] {
			t.Errorf("%s: stderr %q; want the kernel's SIGSEGV report with the fault address at the pc", where, r.Stderr)
		}
	}
}

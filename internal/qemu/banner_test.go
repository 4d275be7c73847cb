package qemu

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi"
)

// opensbi11 is what OpenSBI v1.1 (Debian's, as run by QEMU 7.2 virt)
// prints before jumping to the kernel.
var opensbi11 = crlf(`
OpenSBI v1.1
   ____                    _____ ____ _____
  / __ \                  / ____|  _ \_   _|
 | |  | |_ __   ___ _ __ | (___ | |_) || |
 | |  | | '_ \ / _ \ '_ \ \___ \|  _ < | |
 | |__| | |_) |  __/ | | |____) | |_) || |_
  \____/| .__/ \___|_| |_|_____/|____/_____|
        | |
        |_|

Platform Name             : riscv-virtio,qemu
Platform Features         : medeleg
Platform HART Count       : 1
Platform IPI Device       : aclint-mswi
Platform Timer Device     : aclint-mtimer @ 10000000Hz
Platform Console Device   : uart8250
Platform HSM Device       : ---
Platform Reboot Device    : sifive_test
Platform Shutdown Device  : sifive_test
Firmware Base             : 0x80000000
Firmware Size             : 288 KB
Runtime SBI Version       : 1.0

Domain0 Name              : root
Domain0 Boot HART         : 0
Domain0 HARTs             : 0*
Domain0 Region00          : 0x0000000002000000-0x000000000200ffff (I)
Domain0 Region01          : 0x0000000080000000-0x000000008007ffff ()
Domain0 Region02          : 0x0000000000000000-0xffffffffffffffff (R,W,X)
Domain0 Next Address      : 0x0000000080200000
Domain0 Next Arg1         : 0x0000000087e00000
Domain0 Next Mode         : S-mode
Domain0 SysReset          : yes

Boot HART ID              : 0
Boot HART Domain          : root
Boot HART Priv Version    : v1.12
Boot HART Base ISA        : rv64imafdch
Boot HART ISA Extensions  : time,sstc
Boot HART PMP Count       : 16
Boot HART PMP Granularity : 4
Boot HART PMP Address Bits: 54
Boot HART MHPM Count      : 16
Boot HART MIDELEG         : 0x0000000000001666
Boot HART MEDELEG         : 0x0000000000f0b509
`)

// opensbiNewer imitates the layout of later OpenSBI releases: a longer
// version string and different labels, same shape.
var opensbiNewer = crlf(`
OpenSBI v1.5.1-42-gdeadbeef
   ____                    _____ ____ _____
  / __ \                  / ____|  _ \_   _|
 | |  | |_ __   ___ _ __ | (___ | |_) || |
 | |  | | '_ \ / _ \ '_ \ \___ \|  _ < | |
 | |__| | |_) |  __/ | | |____) | |_) || |_
  \____/| .__/ \___|_| |_|_____/|____/_____|
        | |
        |_|

Platform Name             : riscv-virtio,qemu
Platform Features         : medeleg
Platform HART Count       : 4
Platform Console Device   : uart8250
Firmware Base             : 0x80000000
Runtime SBI Version       : 2.0
Standard SBI Extensions   : time,rfnc,ipi,base,hsm,srst,pmu,dbcn,legacy

Domain0 Name              : root
Domain0 Region00          : 0x0000000000100000-0x0000000000100fff M: (I,R,W) S/U: (R,W)
Domain0 SysSuspend        : yes

Boot HART ID              : 0
Boot HART MHPM Info       : 16 (0x0007fff8)
Boot HART Debug Triggers  : 2 triggers
Boot HART MEDELEG         : 0x0000000000f0b509
`)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// filter runs input through a bannerFilter in chunks of the given sizes
// (cycled), then flushes as the reader does at EOF.
func filter(input string, chunks ...int) (out, banner string) {
	var o, b bytes.Buffer
	f := newBannerFilter(&o, &b)
	for i, k := 0, 0; i < len(input); k++ {
		n := min(chunks[k%len(chunks)], len(input)-i)
		f.Write([]byte(input[i : i+n]))
		i += n
	}
	f.End()
	return o.String(), b.String()
}

func TestBannerFilter(t *testing.T) {
	for _, tc := range []struct {
		name, banner, guest string
	}{
		{"ok", opensbi11, "ok\n"},
		{"empty guest", opensbi11, ""},
		{"newer opensbi", opensbiNewer, "hello\r\nworld"},
		{"guest starts with blank line", opensbi11, "\r\nafter blank\n"},
		{"guest starts with CR", opensbi11, "\rprogress"},
		{"guest label-ish but short", opensbi11, "Platform Name: mine\n"},
		{"guest label-shaped", opensbi11, "Runikraft Kernel Version  : 1\r\n"},
		{"guest prompt", opensbi11, "Name"},
		{"guest blank line, label-shaped", opensbi11, "\r\nRunikraft Kernel Version  : 1\r\n"},
		{"guest binary", opensbi11, "\x00\xff\x1b[0m\r\n"},
		{"guest capital then newline", opensbi11, "PASS\n"},
		{"no banner", "", "plain output\r\nOpenSBI mention later\n"},
		{"no banner, starts like one", "", "\r\nOpen sesame\n"},
		{"no banner, CRLF then text", "", "\r\nok"},
	} {
		in := tc.banner + tc.guest
		for _, chunks := range [][]int{{len(in) + 1}, {1}, {7, 3, 64}, {4096}} {
			out, dropped := filter(in, chunks...)
			if out != tc.guest {
				t.Errorf("%s (chunks %v): out = %q, want %q", tc.name, chunks, out, tc.guest)
			}
			if dropped != tc.banner {
				t.Errorf("%s (chunks %v): banner = %q, want %q", tc.name, chunks, dropped, tc.banner)
			}
		}
	}
}

func TestBannerFilterRandomChunks(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	guest := "ok\nsecond line\r\n\x00tail"
	for range 200 {
		out, _ := filter(opensbi11+guest, 1+r.Intn(100), 1+r.Intn(10), 1+r.Intn(300))
		if out != guest {
			t.Fatalf("out = %q, want %q", out, guest)
		}
	}
}

// Without OpenSBI's closing MEDELEG line (another firmware) the filter
// falls back to the shape: a guest line shaped exactly like
// "Label<pad to 26>: value" right after the banner is indistinguishable and
// dropped. This pins the documented limitation rather than endorsing it.
func TestBannerFilterLookalike(t *testing.T) {
	banner := strings.TrimSuffix(opensbi11, "Boot HART MEDELEG         : 0x0000000000f0b509\r\n")
	guest := "Runikraft Kernel Version  : 1\r\nrest\n"
	out, _ := filter(banner+guest, 1)
	if out != "rest\n" {
		t.Errorf("out = %q", out)
	}
}

func TestBannerFilterHolding(t *testing.T) {
	var o bytes.Buffer
	f := newBannerFilter(&o, nil)
	// Mid-line in the info section: undecided, so withheld.
	cut := strings.Index(opensbi11, "Domain0 Name") + 3
	f.Write([]byte(opensbi11[:cut]))
	if !f.holding() {
		t.Fatalf("not holding mid-banner")
	}
	// OpenSBI's closing line decides it; no timeout involved.
	f.Write([]byte(opensbi11[cut:] + "Prompt"))
	if f.holding() || o.String() != "Prompt" {
		t.Fatalf("after the banner: holding = %v, out = %q", f.holding(), o.String())
	}

	o.Reset()
	f = newBannerFilter(&o, nil)
	f.Write([]byte(strings.TrimSuffix(opensbi11, "Boot HART MEDELEG         : 0x0000000000f0b509\r\n") + "Prompt"))
	if !f.holding() || o.Len() != 0 {
		t.Fatalf("holding = %v, out = %q; want the possible label withheld", f.holding(), o.String())
	}
	f.Flush() // what the reader does after holdTimeout of silence
	f.Write([]byte("> "))
	if f.holding() || o.String() != "Prompt> " {
		t.Errorf("after flush: holding = %v, out = %q", f.holding(), o.String())
	}
}

func TestStderrWatcher(t *testing.T) {
	var b bytes.Buffer
	w := &stderrWatcher{out: &b, prefix: "qemu-system-riscv64: "}
	w.Write([]byte("qemu-system-riscv64: warning: something\nguest log line\nqemu-system-riscv64: could not load kernel 'x'\n"))
	w.Write([]byte("qemu-system-riscv64: terminating on sig"))
	w.Write([]byte("nal 15 from pid 1 (init)\n"))
	if w.lastError != "could not load kernel 'x'" {
		t.Errorf("lastError = %q", w.lastError)
	}
	if w.termSignal != 15 {
		t.Errorf("termSignal = %d", w.termSignal)
	}
	if !strings.Contains(b.String(), "terminating on signal 15") || !strings.Contains(b.String(), "guest log line\n") {
		t.Errorf("output = %q", b.String())
	}
	// Once we have signalled QEMU ourselves its farewell is noise.
	b.Reset()
	w.quiet.Store(true)
	w.Write([]byte("qemu-system-riscv64: terminating on signal 2 from pid 9 (runikraft)\n"))
	if b.Len() != 0 || w.termSignal != 2 {
		t.Errorf("quiet: output = %q, termSignal = %d", b.String(), w.termSignal)
	}
}

// QEMU stopped mid-banner (timeout): the fragment is banner, not output.
func TestBannerFilterCutOff(t *testing.T) {
	for _, n := range []int{1, 5, 12, 200, len(opensbi11) - 3} {
		out, dropped := filter(opensbi11[:n], 1)
		if out != "" || dropped != opensbi11[:n] {
			t.Errorf("cut at %d: out %q, banner %q", n, out, dropped)
		}
	}
}

func TestMarkerFilter(t *testing.T) {
	banner := "\r\nOpenSBI v9.9\r\nsomething the heuristics do not know\r\n"
	guest := "hello\x00\r\n\x1b]0;not the marker\x07bye"
	stream := banner + abi.ConsoleMarker + guest
	for _, chunk := range []int{1, 2, 3, 7, len(stream)} {
		var out, drop bytes.Buffer
		f := newMarkerFilter(&out, &drop)
		for i := 0; i < len(stream); i += chunk {
			f.Write([]byte(stream[i:min(i+chunk, len(stream))]))
		}
		f.End()
		if out.String() != guest {
			t.Errorf("chunk %d: guest output %q, want %q", chunk, out.String(), guest)
		}
		if strings.Contains(out.String(), "OpenSBI") || !strings.Contains(drop.String(), "OpenSBI") {
			t.Errorf("chunk %d: banner leaked: out %q drop %q", chunk, out.String(), drop.String())
		}
	}
}

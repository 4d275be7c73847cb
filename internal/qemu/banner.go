package qemu

import (
	"bytes"
	"io"

	"github.com/runikraft/runikraft/kernel/abi"
)

// OpenSBI prints a boot banner on the same UART the guest uses, before the
// guest runs, and has no runtime switch to silence it (QEMU passes
// fw_dynamic options 0). bannerFilter strips it from the head of the console
// stream so stdout carries only the guest's bytes (needed for go test
// -exec). The banner is recognised structurally, not by version:
//
//	"\r\nOpenSBI " ... version line and logo ... "\r\n"      (stateLogo)
//	"Label padded to 26 chars: value\r\n" or "\r\n", repeated (stateInfo)
//
// ending with the "Boot HART MEDELEG" line, after which everything is the
// guest's, with no guessing or waiting. For a firmware that never prints
// that line, the first byte that cannot continue the shape starts the
// guest's output; there a blank line is only dropped once the next line
// proves to be banner too, so a guest starting with "\r\n" keeps it.
type bannerFilter struct {
	out     io.Writer // guest output
	banner  io.Writer // dropped banner
	state   int
	pending []byte // undecided bytes (stateHeader, stateInfo)
	cur     int    // start of the current line within pending
	logo    int    // lines dropped in stateLogo, to bound a runaway
	lineLen int    // bytes of the current stateLogo line, excluding CR
	drop    []byte // banner bytes collected during one Write
	pass    []byte // guest bytes collected during one Write
}

const (
	stateHeader = iota
	stateLogo
	stateInfo
	statePass
)

const (
	bannerHeader = "\r\nOpenSBI "
	// OpenSBI 1.x ends the banner with the boot hart's delegation CSRs,
	// MEDELEG last (printed whenever the hart has S-mode, as on virt).
	lastLabel    = "Boot HART MEDELEG "
	labelWidth   = 26 // OpenSBI prints "%-26s: " style labels
	maxLogoLines = 32
)

func newBannerFilter(out, banner io.Writer) *bannerFilter {
	if banner == nil {
		banner = io.Discard
	}
	return &bannerFilter{out: out, banner: banner}
}

// Write never fails: QEMU must keep being drained even if our stdout is
// gone, or it would block on the console.
func (f *bannerFilter) Write(p []byte) (int, error) {
	if f.state == statePass {
		f.out.Write(p) // the banner is behind us
		return len(p), nil
	}
	for i := 0; i < len(p); i++ {
		f.feed(p[i])
		if f.state == statePass {
			f.pass = append(f.pass, p[i+1:]...)
			break
		}
	}
	f.drain()
	return len(p), nil
}

func (f *bannerFilter) drain() {
	if len(f.drop) > 0 {
		f.banner.Write(f.drop)
		f.drop = f.drop[:0]
	}
	if len(f.pass) > 0 {
		f.out.Write(f.pass)
		f.pass = f.pass[:0]
	}
}

// holding reports whether bytes are withheld awaiting a decision; the
// reader flushes them if nothing more arrives soon, so a guest that prints
// a short prompt and waits for input is not stalled.
func (f *bannerFilter) holding() bool {
	return f.state != statePass && len(f.pending) > 0
}

// Flush gives up on recognising a banner: withheld bytes are the guest's.
func (f *bannerFilter) Flush() {
	f.toPass()
	f.drain()
}

// End is called at EOF. Withheld bytes still look like banner, and QEMU
// stopping mid-banner (timeout, kill) is likelier than a guest whose whole
// output is a label-shaped fragment, so they are dropped as banner.
func (f *bannerFilter) End() {
	if f.state != statePass {
		f.drop = append(f.drop, f.pending...)
		f.pending = f.pending[:0]
		f.state = statePass
	}
	f.drain()
}

func (f *bannerFilter) toPass() {
	f.pass = append(f.pass, f.pending...)
	f.pending = f.pending[:0]
	f.state = statePass
}

func (f *bannerFilter) feed(c byte) {
	switch f.state {
	case stateHeader:
		f.pending = append(f.pending, c)
		n := len(f.pending)
		if bannerHeader[n-1] != c {
			f.toPass()
		} else if n == len(bannerHeader) {
			f.drop = append(f.drop, f.pending...)
			f.pending = f.pending[:0]
			f.state = stateLogo
		}
	case stateLogo:
		f.drop = append(f.drop, c)
		switch c {
		case '\r':
		case '\n':
			if f.lineLen == 0 {
				f.state = stateInfo
			} else if f.logo++; f.logo > maxLogoLines {
				f.state = statePass // not the banner we know; stop eating
			}
			f.lineLen = 0
		default:
			f.lineLen++
		}
	case stateInfo:
		f.pending = append(f.pending, c)
		switch infoLine(f.pending[f.cur:]) {
		case lineMismatch:
			f.toPass()
		case lineBlank:
			f.cur = len(f.pending) // hold it until the next line decides
		case lineInfo:
			last := bytes.HasPrefix(f.pending[f.cur:], []byte(lastLabel))
			f.drop = append(f.drop, f.pending...)
			f.pending = f.pending[:0]
			f.cur = 0
			if last {
				f.state = statePass
			}
		}
	}
}

const (
	linePartial = iota
	lineMismatch
	lineBlank
	lineInfo
)

// infoLine classifies a (possibly partial) line of the info section.
func infoLine(l []byte) int {
	n := len(l)
	if l[0] == '\r' {
		switch {
		case n == 1:
			return linePartial
		case n == 2 && l[1] == '\n':
			return lineBlank
		}
		return lineMismatch
	}
	for i, c := range l {
		switch {
		case i == 0 && !(c >= 'A' && c <= 'Z'),
			i > 0 && i < labelWidth && !printable(c),
			i == labelWidth && c != ':',
			i == labelWidth+1 && c != ' ':
			return lineMismatch
		case i > labelWidth+1 && c == '\r':
			switch {
			case i == n-1:
				return linePartial
			case i == n-2 && l[n-1] == '\n':
				return lineInfo
			}
			return lineMismatch
		case i > labelWidth+1 && !printable(c):
			return lineMismatch
		}
	}
	return linePartial
}

func printable(c byte) bool { return c >= ' ' && c <= '~' }

// markerFilter puts the kernel's console marker (abi.ConsoleMarker, the
// first thing a Runikraft kernel prints) in front of the banner filter:
// once the marker is seen, everything before it was firmware and
// everything after it is the guest's, whatever the banner looked like.
// The marker itself is dropped. Images that print no marker (bare
// payloads) are handled by the banner filter alone.
type markerFilter struct {
	*bannerFilter
	seen bool
	tail []byte // a possible start of the marker, held back
}

func newMarkerFilter(out, banner io.Writer) *markerFilter {
	return &markerFilter{bannerFilter: newBannerFilter(out, banner)}
}

func (m *markerFilter) Write(p []byte) (int, error) {
	if m.seen {
		m.out.Write(p)
		return len(p), nil
	}
	buf := append(m.tail, p...)
	m.tail = nil
	if i := bytes.Index(buf, []byte(abi.ConsoleMarker)); i >= 0 {
		m.bannerFilter.Write(buf[:i])
		m.bannerFilter.End()
		m.seen = true
		if rest := buf[i+len(abi.ConsoleMarker):]; len(rest) > 0 {
			m.out.Write(rest)
		}
		return len(p), nil
	}
	keep := 0
	for k := min(len(buf), len(abi.ConsoleMarker)-1); k > 0; k-- {
		if bytes.HasPrefix([]byte(abi.ConsoleMarker), buf[len(buf)-k:]) {
			keep = k
			break
		}
	}
	m.tail = append([]byte(nil), buf[len(buf)-keep:]...)
	m.bannerFilter.Write(buf[:len(buf)-keep])
	return len(p), nil
}

func (m *markerFilter) holding() bool {
	return !m.seen && (len(m.tail) > 0 || m.bannerFilter.holding())
}

// Flush releases held bytes as the guest's (after a quiet spell).
func (m *markerFilter) Flush() {
	if !m.seen && len(m.tail) > 0 {
		m.bannerFilter.Write(m.tail)
		m.tail = nil
	}
	m.bannerFilter.Flush()
}

func (m *markerFilter) End() {
	m.Flush()
	m.bannerFilter.End()
}

// StripBanner returns console output without the firmware banner that
// starts it (as runikraft run drops it), for tools and tests that boot
// an image on QEMU directly.
func StripBanner(out []byte) []byte {
	var guest bytes.Buffer
	f := newBannerFilter(&guest, nil)
	f.Write(out)
	f.Flush()
	return guest.Bytes()
}

package kvmrig

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
)

// frameTag starts every frame the init prints (guestinit's tag).
const frameTag = "rkvm-"

// maxFrameHeader bounds a frame's header line; maxFrameBody the stderr
// frame's body (the init sends at most 64 KB).
const (
	maxFrameHeader = 4096
	maxFrameBody   = 1 << 20
)

// frameFilter splits the outer console into the nested guest's output
// (to out) and the init's frames (see guestinit): the nested QEMU's
// stderr (to errw) and the exit status. Everything after the exit frame
// is the outer Linux powering off and is dropped. The nonce makes frames
// unforgeable by the guest, which never sees it.
type frameFilter struct {
	out, errw io.Writer
	prefix    []byte // "\n" + frameTag + nonce + " "
	state     int
	held      []byte // pass: a possible start of prefix; header: the line so far
	body      int    // bytes of a stderr frame still to come

	done    bool          // the exit frame was seen
	status  int           // its status
	ran     time.Duration // how long the nested QEMU ran, if the init said
	failure string        // a fail frame's message
}

const (
	fPass = iota
	fHeader
	fBody
	fDrop
)

func newFrameFilter(out, errw io.Writer, nonce string) *frameFilter {
	return &frameFilter{out: out, errw: errw, prefix: []byte("\n" + frameTag + nonce + " ")}
}

// Write never fails, so the console keeps being drained.
func (f *frameFilter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		switch f.state {
		case fPass:
			buf := append(f.held, p...)
			p, f.held = nil, nil
			if i := bytes.Index(buf, f.prefix); i >= 0 {
				f.out.Write(buf[:i])
				p = append([]byte(nil), buf[i+len(f.prefix):]...)
				f.state = fHeader
				continue
			}
			keep := 0
			for k := min(len(buf), len(f.prefix)-1); k > 0; k-- {
				if bytes.HasPrefix(f.prefix, buf[len(buf)-k:]) {
					keep = k
					break
				}
			}
			f.out.Write(buf[:len(buf)-keep])
			f.held = append([]byte(nil), buf[len(buf)-keep:]...)
		case fHeader:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				f.held = append(f.held, p...)
				p = nil
				if len(f.held) > maxFrameHeader {
					f.header(string(f.held))
				}
				continue
			}
			f.held = append(f.held, p[:i]...)
			p = p[i+1:]
			f.header(string(f.held))
		case fBody:
			k := min(len(p), f.body)
			f.errw.Write(p[:k])
			f.body -= k
			p = p[k:]
			if f.body == 0 {
				f.state = fPass
			}
		case fDrop:
			p = nil
		}
	}
	return n, nil
}

// header acts on a frame's header line.
func (f *frameFilter) header(line string) {
	f.held = nil
	kind, arg, _ := strings.Cut(line, " ")
	switch kind {
	case "exit":
		code, ns, _ := strings.Cut(arg, " ")
		if v, err := strconv.Atoi(code); err == nil && v >= 0 && v <= 255 {
			f.done, f.status = true, v
			if d, err := strconv.ParseInt(ns, 10, 64); err == nil && d > 0 {
				f.ran = time.Duration(d)
			}
		} else {
			f.failure = "bad exit frame " + strconv.Quote(line)
		}
		f.state = fDrop
	case "stderr":
		if v, err := strconv.Atoi(arg); err == nil && v > 0 && v <= maxFrameBody {
			f.body, f.state = v, fBody
			return
		}
		f.failure, f.state = "bad stderr frame "+strconv.Quote(line), fDrop
	case "fail":
		f.failure, f.state = arg, fDrop
	default:
		f.failure, f.state = "unknown frame "+strconv.Quote(line), fDrop
	}
}

// end releases bytes held back as a possible frame start.
func (f *frameFilter) end() {
	if f.state == fPass && len(f.held) > 0 {
		f.out.Write(f.held)
		f.held = nil
	}
}

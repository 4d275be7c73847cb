package posix

import (
	"bytes"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// copyInString reads a NUL-terminated string of fewer than max bytes
// from application memory a page at a time through copyIn. The hart
// layer's own string copy sets and clears sstatus.SUM around every byte,
// and under QEMU each change of SUM flushes the TLB, so a path argument
// cost more than the rest of a stat (and os's tests ran twice as long).
// A chunk never crosses a page: reading past the NUL stays on a page the
// string is on.
//
// The first chunk is at most firstStringChunk bytes: a path is short,
// and copying to the end of its page (2 KiB on average, byte by byte
// when the string is not 8-aligned) cost nginx about as much per request
// as the rest of its openat.
//
// page is the buffer: one given to an indirect call escapes to the heap,
// so a buffer of the function's own would be allocated at every call.
func copyInString(copyIn func([]byte, uintptr) Errno, page *[linux.PageSize]byte, src uintptr, max int) (string, Errno) {
	var long []byte // the string so far, when it spans chunks
	for scanned := 0; scanned < max; {
		n := min(linux.PageSize-int(src%linux.PageSize), max-scanned)
		if scanned == 0 {
			n = min(n, firstStringChunk)
		}
		c := page[:n]
		if e := copyIn(c, src); e != 0 {
			return "", e
		}
		if i := bytes.IndexByte(c, 0); i >= 0 {
			if long == nil {
				return string(c[:i]), 0
			}
			return string(append(long, c[:i]...)), 0
		}
		long = append(long, c...)
		scanned += len(c)
		src += uintptr(len(c))
	}
	return "", linux.ENAMETOOLONG
}

// firstStringChunk bounds copyInString's first copy: most paths fit, and
// a longer string costs one more copy.
const firstStringChunk = 256

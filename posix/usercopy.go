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
// page is the buffer: one given to an indirect call escapes to the heap,
// so a buffer of the function's own would be allocated at every call.
func copyInString(copyIn func([]byte, uintptr) Errno, page *[linux.PageSize]byte, src uintptr, max int) (string, Errno) {
	var long []byte // the string so far, when it spans pages
	for scanned := 0; scanned < max; {
		c := page[:min(linux.PageSize-int(src%linux.PageSize), max-scanned)]
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

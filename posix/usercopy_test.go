package posix

import (
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

func TestCopyInString(t *testing.T) {
	cpu := newFakeCPU()
	base, _ := cpu.Map(0, 2*linux.PageSize, linux.PROT_READ|linux.PROT_WRITE, 0) // a third page is unmapped
	put := func(at uintptr, s string) {
		if e := cpu.CopyOut(at, []byte(s)); e != 0 {
			t.Fatal(e)
		}
	}
	long := strings.Repeat("x", 300)
	put(base+10, "short\x00")
	put(base+linux.PageSize-3, "spans\x00") // over the page boundary
	put(base+2*linux.PageSize-300, long)    // runs into the unmapped page
	put(base+100, strings.Repeat("y", 200)) // no NUL within max below
	z := strings.Repeat("z", 1000)
	put(base+400, z+"\x00") // longer than the first chunk
	edge := strings.Repeat("e", firstStringChunk)
	put(base+1600, edge+"\x00") // the NUL starts the second chunk
	for _, c := range []struct {
		at   uintptr
		max  int
		want string
		e    Errno
	}{
		{base + 10, 4096, "short", 0},
		{base + 15, 4096, "", 0},
		{base + linux.PageSize - 3, 4096, "spans", 0},
		{base + linux.PageSize - 3, 5, "", linux.ENAMETOOLONG}, // max counts the NUL
		{base + linux.PageSize - 3, 6, "spans", 0},
		{base + 2*linux.PageSize - 300, 4096, "", linux.EFAULT},
		{base + 2*linux.PageSize - 300, 300, "", linux.ENAMETOOLONG}, // gives up before the hole
		{base + 100, 150, "", linux.ENAMETOOLONG},
		{base + 3*linux.PageSize, 4096, "", linux.EFAULT},
		{base + 400, 4096, z, 0},
		{base + 400, 1000, "", linux.ENAMETOOLONG},
		{base + 400, 1001, z, 0},
		{base + 1600, 4096, edge, 0},
		{base + 1600, firstStringChunk, "", linux.ENAMETOOLONG},
	} {
		got, e := copyInString(cpu.CopyIn, new([linux.PageSize]byte), c.at, c.max)
		if got != c.want || e != c.e {
			t.Errorf("at %#x max %d: %q, %v; want %q, %v", c.at-base, c.max, got, e, c.want, c.e)
		}
	}
}

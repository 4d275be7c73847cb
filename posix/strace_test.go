package posix

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

// --strace's lines for a few calls, through the fake CPU: paths, buffers
// (what write took, what read gave), flags, errno names, and exit_group
// written before it runs.
func TestStraceLines(t *testing.T) {
	cpu := newFakeCPU()
	cpu.progs[0x1000] = func(s *userSide) {
		buf := s.scratch()
		s.poke(buf, []byte("/tmp/f\x00"))
		fd := s.call(56, uint64(1<<64-100), uint64(buf), 0o1101, 0o640) // openat(AT_FDCWD, "/tmp/f", O_WRONLY|O_CREAT|O_TRUNC, 0640)
		s.poke(buf+64, []byte("hi\n"+strings.Repeat("x", 40)))
		s.call(64, uint64(fd), uint64(buf+64), 43)
		s.call(57, uint64(fd))
		s.poke(buf, []byte("/none\x00"))
		s.call(56, uint64(1<<64-100), uint64(buf), 0)
		s.call(63, 0, uint64(buf+128), 10)
		s.call(94, 5)
	}
	cpu.Map(0x6fff_0000, 0x10000, linux.PROT_READ|linux.PROT_WRITE, 1)
	var out, log, trace bytes.Buffer
	p, err := Start(Config{
		CPU: cpu, Entry: 0x1000, SP: 0x7000_0000, BrkStart: 0x40_0000,
		Stdin: strings.NewReader("in\x01"), Stdout: &out, Stderr: &out, Log: &log, Trace: &trace, Random: rand.Reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 5 {
		t.Fatalf("exit %d", code)
	}
	want := `openat(AT_FDCWD, "/tmp/f", O_WRONLY|O_CREAT|O_TRUNC, 0640) = 3
write(3, "hi\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"..., 43) = 43
close(3) = 0
openat(AT_FDCWD, "/none", O_RDONLY) = -1 ENOENT (No such file or directory)
read(0, "in\x01", 10) = 3
exit_group(5) = ?
`
	if trace.String() != want {
		t.Errorf("trace:\n%s\nwant:\n%s", trace.String(), want)
	}
}

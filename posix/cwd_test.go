package posix

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// runProcess is runFS that also returns the exited process.
func runProcess(t *testing.T, cfg Config, prog func(u *fsUser)) *Process {
	t.Helper()
	cpu := newFakeCPU()
	var mu sync.Mutex
	var errs []string
	cpu.progs[0x1000] = func(s *userSide) {
		base, e := s.cpu.Map(0, 16*linux.PageSize, linux.PROT_READ|linux.PROT_WRITE, 0)
		if e != 0 {
			panic(e)
		}
		prog(&fsUser{s: s, base: base, mu: &mu, errs: &errs})
		s.call(linux.SYS_EXIT_GROUP, 0)
	}
	var out bytes.Buffer
	cfg.CPU, cfg.Entry, cfg.SP, cfg.BrkStart = cpu, 0x1000, 0x7000_0000, 0x40_0000
	cfg.Stdin, cfg.Stdout, cfg.Stderr, cfg.Log = strings.NewReader(""), &out, &out, io.Discard
	cfg.Random = rand.Reader
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if code := wait(t, p); code != 0 {
		t.Errorf("exit %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
	return p
}

func (u *fsUser) getcwd() string {
	n := u.ok("getcwd", u.s.call(linux.SYS_GETCWD, uint64(u.buf()), 4096))
	if n <= 0 {
		return ""
	}
	return strings.TrimRight(string(u.s.peek(u.buf(), int(n))), "\x00")
}

func TestCwdMadeIfMissing(t *testing.T) {
	runProcess(t, Config{Cwd: "/a/./b/../c"}, func(u *fsUser) {
		if cwd := u.getcwd(); cwd != "/a/c" {
			u.failf("getcwd %q, want /a/c", cwd)
		}
		if m, _, _, _, e := u.stat("/a", 0); e != 0 || m != 0o40755 {
			u.failf("/a mode %o, %d", m, e)
		}
	})
}

func TestCwdErrors(t *testing.T) {
	file := func() []byte {
		var b bytes.Buffer
		e := []cpio.Entry{{Header: cpio.Header{Name: "f", Mode: cpio.TypeReg | 0o644, Size: 1}, Body: []byte("x")}}
		if err := cpio.WriteArchive(&b, e, cpio.ArchiveOptions{}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		cwd    string
		rootfs []byte
	}{
		{"relative", nil},
		{"/f", file()},
		{"/f/below", file()},
	} {
		cfg := Config{CPU: newFakeCPU(), Random: rand.Reader, BrkStart: 0x40_0000, Cwd: tc.cwd}
		if tc.rootfs != nil {
			cfg.RootFS = bytes.NewReader(tc.rootfs)
		}
		if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "working directory") {
			t.Errorf("Cwd %q: Start error %v", tc.cwd, err)
		}
	}
}

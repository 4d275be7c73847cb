package posix

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

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

// shareArchive is what runikraft run --share-cwd packs for /work.
func shareArchive(t *testing.T) []byte {
	t.Helper()
	old := int64(1_000_000_000) // 2001: long before the run
	entries := []cpio.Entry{
		{Header: cpio.Header{Name: "work", Mode: cpio.TypeDir | 0o755, Mtime: old}},
		{Header: cpio.Header{Name: "work/confdefs.h", Mode: cpio.TypeReg | 0o644, Mtime: old}, Body: []byte("#define A 1\n")},
		{Header: cpio.Header{Name: "work/mod", Mode: cpio.TypeReg | 0o644, Mtime: old}, Body: []byte("before")},
		{Header: cpio.Header{Name: "work/chmodded", Mode: cpio.TypeReg | 0o644, Mtime: old}, Body: []byte("same")},
		{Header: cpio.Header{Name: "work/gone", Mode: cpio.TypeReg | 0o644, Mtime: old}, Body: []byte("deleted")},
		// A future mtime (host clock skew) does not make a file changed.
		{Header: cpio.Header{Name: "work/future", Mode: cpio.TypeReg | 0o644, Mtime: time.Now().Add(time.Hour).Unix()}, Body: []byte("f")},
		{Header: cpio.Header{Name: "work/sub", Mode: cpio.TypeDir | 0o755, Mtime: old}},
	}
	for i := range entries {
		entries[i].Size = int64(len(entries[i].Body))
	}
	var b bytes.Buffer
	if err := cpio.WriteArchive(&b, entries, cpio.ArchiveOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type exportedFile struct {
	mode cpio.Mode
	body string
}

func readExport(t *testing.T, data []byte) map[string]exportedFile {
	t.Helper()
	got := map[string]exportedFile{}
	cr := cpio.NewReader(bytes.NewReader(data), cpio.MaxSize)
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(cr)
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = exportedFile{h.Mode, string(b)}
	}
}

func TestExportDirChangedFiles(t *testing.T) {
	p := runProcess(t, Config{RootFS: bytes.NewReader(shareArchive(t)), Cwd: "/work"}, func(u *fsUser) {
		if cwd := u.getcwd(); cwd != "/work" {
			u.failf("getcwd %q, want /work", cwd)
		}
		// Relative paths are in the shared directory.
		if got := u.readFile("confdefs.h"); got != "#define A 1\n" {
			u.failf("confdefs.h: %q", got)
		}
		u.writeFile("mod", "after")
		fd := u.ok("open new", u.open("new", 0o1101, 0o600))
		u.s.poke(u.buf(), []byte("conftest.val"))
		u.ok("write new", u.s.call(linux.SYS_WRITE, uint64(fd), uint64(u.buf()), 12))
		u.s.call(linux.SYS_CLOSE, uint64(fd))
		u.ok("chmod", u.s.call(linux.SYS_FCHMODAT, fdcwd, u.str("chmodded"), 0o755, 0))
		u.ok("unlink", u.s.call(linux.SYS_UNLINKAT, fdcwd, u.str("gone"), 0))
		u.ok("symlink", u.s.call(linux.SYS_SYMLINKAT, u.str("mod"), fdcwd, u.str("ln")))
		u.ok("mkdir", u.s.call(linux.SYS_MKDIRAT, fdcwd, u.str("newdir"), 0o755))
		u.writeFile("sub/nested", "not top level")
		u.writeFile("/tmp/elsewhere", "not here")
	})
	var b bytes.Buffer
	if err := p.ExportDir("/work", p.Started(), &b); err != nil {
		t.Fatal(err)
	}
	got := readExport(t, b.Bytes())
	want := map[string]exportedFile{
		"mod":      {cpio.TypeReg | 0o644, "after"},
		"new":      {cpio.TypeReg | 0o600, "conftest.val"},
		"chmodded": {cpio.TypeReg | 0o755, "same"},
	}
	if len(got) != len(want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %v, want %v", name, got[name], w)
		}
	}

	// Since now, nothing changed: nothing is written at all.
	b.Reset()
	if err := p.ExportDir("/work/", time.Now(), &b); err != nil || b.Len() != 0 {
		t.Errorf("unchanged directory: %d bytes, %v", b.Len(), err)
	}
	if err := p.ExportDir("/missing", p.Started(), &b); err == nil {
		t.Error("missing directory exported")
	}
	if err := p.ExportDir("/work/mod", p.Started(), &b); err == nil {
		t.Error("a file exported as a directory")
	}
}

// An export that the host cannot take (its pipe closed) is an error.
func TestExportDirWriteError(t *testing.T) {
	p := runProcess(t, Config{Cwd: "/w"}, func(u *fsUser) { u.writeFile("out", strings.Repeat("x", 20<<10)) })
	if err := p.ExportDir("/w", p.Started(), failWriter{}); err == nil || !strings.Contains(err.Error(), "host gone") {
		t.Fatalf("error %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("host gone") }

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

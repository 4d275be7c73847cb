package posix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// With a root filesystem, the program is argv[0] taken from the root or,
// as runikraft run packs it, /init (argv[0] is then the host's path):
// os.Executable and tests that reopen the test binary need the link.
func TestProcSelfExeIsInit(t *testing.T) {
	var b bytes.Buffer
	err := cpio.WriteArchive(&b, []cpio.Entry{
		{Header: cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: 4}, Body: []byte("\x7fELF")},
		{Header: cpio.Header{Name: "tool", Mode: cpio.TypeReg | 0o755, Size: 1}, Body: []byte("x")},
	}, cpio.ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv0, want string
	}{
		{"/tmp/go-build123/b001/os.test", "/init"},
		{"tool", "/tool"},
		{"/tool", "/tool"},
	} {
		runFS(t, Config{RootFS: bytes.NewReader(b.Bytes()), Args: []string{c.argv0}}, func(u *fsUser) {
			if got := u.readlink("/proc/self/exe"); got != c.want {
				u.failf("argv[0] %q: exe %q, want %q", c.argv0, got, c.want)
			}
			u.ok("unlink", u.s.call(linux.SYS_UNLINKAT, fdcwd, u.str(c.want), 0))
			if got := u.readlink("/proc/self/exe"); got != c.want+" (deleted)" {
				u.failf("argv[0] %q: exe %q once removed", c.argv0, got)
			}
		})
	}
}

// Without a root filesystem the program is no file of the machine, but
// /proc/self/exe still names it, as on Linux.
func TestProcSelfExeWithoutRootfs(t *testing.T) {
	for argv0, want := range map[string]string{"/home/u/hello": "/home/u/hello", "./hello": "/hello", "../x/../hello": "/hello"} {
		runFS(t, Config{Args: []string{argv0}}, func(u *fsUser) {
			if got := u.readlink("/proc/self/exe"); got != want {
				u.failf("argv[0] %q: exe %q, want %q", argv0, got, want)
			}
		})
	}
}

func TestProcSelfFDLookup(t *testing.T) {
	runFS(t, Config{}, func(u *fsUser) {
		fd := u.ok("open", u.open("/etc/hosts", 0, 0))
		if got := u.readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); got != "/etc/hosts" {
			u.failf("fd %d link %q", fd, got)
		}
		for _, name := range []string{"01", "+1", "-1", "999", "x"} {
			if got := u.readlink("/proc/self/fd/" + name); got != "error: "+linux.ENOENT.Error() {
				u.failf("fd/%s: %q", name, got)
			}
		}
	})
}

// /proc/meminfo gives the machine's RAM and the kernel's free figure in
// Linux's format (programs and tests watch the guest's memory with it).
func TestProcMeminfo(t *testing.T) {
	cfg := Config{MemoryBytes: 64 << 20, MemoryFree: func() uint64 { return 40 << 20 }}
	runFS(t, cfg, func(u *fsUser) {
		want := "MemTotal:          65536 kB\nMemFree:           40960 kB\nMemAvailable:      40960 kB\n"
		if got := u.readFile("/proc/meminfo"); got != want {
			u.failf("/proc/meminfo = %q, want %q", got, want)
		}
	})
}

// /proc/self/stat has Linux's 52 fields, with the identity, the thread
// count and the resident set (field 24, pages) the kernel reports, and
// getrusage's ru_maxrss the most resident (KiB); the children have none.
func TestProcSelfStatAndMaxRSS(t *testing.T) {
	cfg := Config{Args: []string{"/usr/bin/redis-server-with-a-long-name"},
		MemoryResident: func() (uint64, uint64) { return 3 << 20, 5 << 20 }}
	runFS(t, cfg, func(u *fsUser) {
		stat := u.readFile("/proc/self/stat")
		f := strings.Fields(stat)
		if len(f) != 52 || !strings.HasSuffix(stat, "\n") {
			u.failf("/proc/self/stat has %d fields (want 52): %q", len(f), stat)
			return
		}
		for i, want := range map[int]string{0: "1", 1: "(redis-server-wi)", 2: "R", 3: "0", 19: "1", 23: "768", 37: "17"} {
			if f[i] != want {
				u.failf("/proc/self/stat field %d = %q, want %q (%q)", i+1, f[i], want, stat)
			}
		}
		b := u.buf()
		u.ok("getrusage", u.s.call(linux.SYS_GETRUSAGE, 0, uint64(b)))
		if got := binary.LittleEndian.Uint64(u.s.peek(b+32, 8)); got != 5<<10 {
			u.failf("ru_maxrss %d KiB, want %d", got, 5<<10)
		}
		u.ok("getrusage children", u.s.call(linux.SYS_GETRUSAGE, uint64(1<<64-1), uint64(b)))
		if got := binary.LittleEndian.Uint64(u.s.peek(b+32, 8)); got != 0 {
			u.failf("children's ru_maxrss %d KiB, want 0", got)
		}
		u.want("getrusage(7)", u.s.call(linux.SYS_GETRUSAGE, 7, uint64(b)), -int64(linux.EINVAL))
	})
}

// Package volume boots real programs with host directories shared over
// virtio-9p (runikraft run -v, and an image's declared volumes on a
// hand-started QEMU) and checks from the host what the guest did there,
// and from the guest what the host did.
package volume

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/tests/harness"
)

var (
	runikraft string // the CLI, next to runikraft-kernel.img
	tooldir   string
	voltool   string // testdata/voltool.c, static glibc
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m, build)) }

func build(dir string) (err error) {
	tooldir = dir
	if runikraft, err = harness.Tools(dir); err != nil {
		return err
	}
	if err := harness.CTools(dir); err != nil {
		return err
	}
	voltool = filepath.Join(dir, "voltool")
	return harness.BuildC(voltool, filepath.Join("testdata", "voltool.c"), "-static")
}

func runTool(t *testing.T, flags []string, args ...string) harness.Result {
	t.Helper()
	return harness.Run(t, runikraft, flags, voltool, args...)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The everyday operations, each checked from the host afterwards.
func TestReadWriteFromHost(t *testing.T) {
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "from-host.txt"), "made on the host")
	if err := os.Mkdir(filepath.Join(host, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(host, "old", "gone.txt"), "x")
	r := runTool(t, []string{"-v", host + ":/data"},
		"cat", "/data/from-host.txt",
		"write", "/data/new.txt", "written in the guest",
		"append", "/data/new.txt", ", and more",
		"mkdir", "/data/dir",
		"write", "/data/dir/inner", "inner",
		"mv", "/data/dir/inner", "/data/dir/moved",
		"rm", "/data/old/gone.txt",
		"rmdir", "/data/old",
		"symlink", "new.txt", "/data/link",
		"readlink", "/data/link",
		"cat", "/data/link",
		"link", "/data/new.txt", "/data/hard",
		"chmod", "/data/dir/moved", "600",
		"write", "/data/trunc", "0123456789",
		"truncate", "/data/trunc", "4",
		"stat", "/data/trunc",
		"stat", "/data/dir",
		"stat", "/data/link",
		"ls", "/data",
		"statfs", "/data",
		"chdir", "/data/dir", "cat", "moved",
	)
	want := "/data/from-host.txt: made on the host\n" +
		"wrote /data/new.txt\nwrote /data/new.txt\nmkdir /data/dir\nwrote /data/dir/inner\n" +
		"mv /data/dir/inner /data/dir/moved\nrm /data/old/gone.txt\nrmdir /data/old\n" +
		"symlink /data/link -> new.txt\nreadlink /data/link: new.txt\n" +
		"/data/link: written in the guest, and more\n" +
		"link /data/new.txt /data/hard\nchmod /data/dir/moved 600\nwrote /data/trunc\ntruncate /data/trunc 4\n" +
		"stat /data/trunc: file size=4 mode=644\n" +
		"stat /data/dir: dir size=4096 mode=755\n" +
		"stat /data/link: symlink size=7 mode=777\n" +
		"/data: dir from-host.txt hard link new.txt trunc\n" +
		"statfs /data: type=0x1021997\n" +
		"chdir /data/dir\nmoved: inner\n"
	harness.Expect(t, r, 0, want)

	if got := readFile(t, filepath.Join(host, "new.txt")); got != "written in the guest, and more" {
		t.Errorf("host new.txt = %q", got)
	}
	if got := readFile(t, filepath.Join(host, "trunc")); got != "0123" {
		t.Errorf("host trunc = %q", got)
	}
	if tgt, err := os.Readlink(filepath.Join(host, "link")); err != nil || tgt != "new.txt" {
		t.Errorf("host link = %q, %v", tgt, err)
	}
	if _, err := os.Stat(filepath.Join(host, "old")); !os.IsNotExist(err) {
		t.Errorf("host old/ still there: %v", err)
	}
	st, err := os.Stat(filepath.Join(host, "dir", "moved"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("host dir/moved: %v, %v; want mode 0600", st, err)
	}
	a, _ := os.Stat(filepath.Join(host, "new.txt"))
	b, _ := os.Stat(filepath.Join(host, "hard"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Errorf("host hard is not a hard link of new.txt")
	}
	// security_model=none: what the guest made belongs to the host user.
	if fi, err := os.Stat(filepath.Join(host, "new.txt")); err == nil {
		if uid := fileUID(fi); uid != os.Getuid() {
			t.Errorf("host new.txt owned by uid %d; want the host user %d", uid, os.Getuid())
		}
	}
}

// A :ro volume refuses every change with EROFS, and the host's files
// stay as they were.
func TestReadOnly(t *testing.T) {
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "f"), "keep")
	os.Mkdir(filepath.Join(host, "d"), 0o755)
	r := runTool(t, []string{"-v", host + ":/ro:ro"},
		"cat", "/ro/f",
		"write", "/ro/f", "changed",
		"write", "/ro/new", "x",
		"mkdir", "/ro/nd",
		"rm", "/ro/f",
		"rmdir", "/ro/d",
		"mv", "/ro/f", "/ro/g",
		"symlink", "f", "/ro/l",
		"link", "/ro/f", "/ro/h",
		"chmod", "/ro/f", "600",
		"truncate", "/ro/f", "1",
		"ls", "/ro",
	)
	harness.Expect(t, r, 0, "/ro/f: keep\n"+
		"ERR open EROFS\nERR open EROFS\nERR mkdir EROFS\nERR unlink EROFS\nERR rmdir EROFS\n"+
		"ERR rename EROFS\nERR symlink EROFS\nERR link EROFS\nERR chmod EROFS\nERR truncate EROFS\n"+
		"/ro: d f\n")
	if got := readFile(t, filepath.Join(host, "f")); got != "keep" {
		t.Errorf("host f = %q after a read-only run", got)
	}
	ents, _ := os.ReadDir(host)
	if len(ents) != 2 {
		t.Errorf("host directory has %d entries after a read-only run; want 2", len(ents))
	}
}

// runWaiting runs cmd (voltool with a "wait" step), calls atWait when
// the guest prints "waiting", then lets it go on; it returns stdout,
// stderr and how the run ended.
func runWaiting(t *testing.T, cmd *exec.Cmd, atWait func()) (stdout, stderr string, err error) {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errs strings.Builder
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(outPipe)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == "waiting" {
			atWait()
			io.WriteString(in, "go\n")
		}
	}
	err = cmd.Wait()
	return out.String(), errs.String(), err
}

// The host rewrites a file between two opens in the guest: the second
// open reads the new content (no stale data cache), and a file the
// host grows is read to its new end.
func TestHostChangeBetweenOpens(t *testing.T) {
	host := t.TempDir()
	f := filepath.Join(host, "f")
	writeFile(t, f, "first version")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runikraft, "run", "--timeout", "90s", "-v", host+":/data", voltool,
		"cat", "/data/f", "stat", "/data/f", "wait", "cat", "/data/f", "stat", "/data/f", "ls", "/data")
	out, stderr, err := runWaiting(t, cmd, func() {
		writeFile(t, f, "second, longer version")
		writeFile(t, filepath.Join(host, "added"), "")
	})
	want := "/data/f: first version\nstat /data/f: file size=13 mode=644\nwaiting\nresumed\n" +
		"/data/f: second, longer version\nstat /data/f: file size=22 mode=644\n/data: added f\n"
	if err != nil || out != want {
		t.Fatalf("run: %v\nstdout %q\nwant   %q\nstderr %q", err, out, want, stderr)
	}
}

// Symlinks in the share that point outside it resolve in the guest's
// own tree, never the host's.
func TestSymlinkOutsideShare(t *testing.T) {
	host := t.TempDir()
	for name, target := range map[string]string{
		"abs":    "/etc/passwd",                    // the guest's /etc/passwd
		"up":     "../../../../../../etc/hostname", // climbs out of the mount: the guest's /etc/hostname (none)
		"upfile": "../../../../../../tmp/secret",   // the guest's /tmp/secret (none)
	} {
		if err := os.Symlink(target, filepath.Join(host, name)); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join("/tmp", "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err == nil {
		defer os.Remove(secret)
	}
	r := runTool(t, []string{"-v", host + ":/data"}, "cat", "/data/abs", "cat", "/data/up", "cat", "/data/upfile",
		"chdir", "/data", "chdir", "..", "ls", ".")
	if r.Code != 0 || strings.Contains(r.Stdout, "host secret") {
		t.Fatalf("exit %d, stdout %q: the host's files leaked", r.Code, r.Stdout)
	}
	want := "/data/abs: root:x:0:0:root:/root:/bin/sh\n\nERR open ENOENT\nERR open ENOENT\nchdir /data\nchdir ..\n"
	if !strings.HasPrefix(r.Stdout, want) || !strings.Contains(r.Stdout, " data ") && !strings.HasSuffix(r.Stdout, " data\n") {
		t.Fatalf("stdout %q; want it to start %q and list the guest's / (with data)", r.Stdout, want)
	}
}

// A large directory is listed completely with bounded memory. 10,000
// entries by default; RUNIKRAFT_TEST_100K=1 lists 100,000 (about 15 s
// more).
func TestLargeDirectory(t *testing.T) {
	n := 10_000
	if os.Getenv("RUNIKRAFT_TEST_100K") != "" {
		n = 100_000
	}
	host := t.TempDir()
	for i := range n {
		f, err := os.Create(filepath.Join(host, fmt.Sprintf("entry-%06d", i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// -m 64M: the listing must not need memory in proportion to it.
	r := runTool(t, []string{"-m", "64M", "-v", host + ":/big"}, "count", "/big", "mkfiles", "/big/..//big", "0")
	harness.Expect(t, r, 0, fmt.Sprintf("/big: %d entries\nmkfiles /big/..//big: 0\n", n))
}

// A file larger than one message (msize is at most 4 MiB) is written and
// read whole, in pieces that do not line up with messages.
func TestLargeFile(t *testing.T) {
	host := t.TempDir()
	r := runTool(t, []string{"-v", host + ":/data"}, "writebig", "/data/big", "9", "sum", "/data/big")
	data, err := os.ReadFile(filepath.Join(host, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 9<<20 {
		t.Fatalf("host big has %d bytes; want %d", len(data), 9<<20)
	}
	for m := 0; m < 9; m++ {
		for k := 0; k < 1<<20; k += 4099 {
			if want := byte((m*7 + k*13) >> 3); data[m<<20+k] != want {
				t.Fatalf("host big[%d] = %#x; want %#x", m<<20+k, data[m<<20+k], want)
			}
		}
	}
	var sum uint64
	for _, b := range data {
		sum = sum*31 + uint64(b)
	}
	harness.Expect(t, r, 0, fmt.Sprintf("writebig /data/big: 9 MiB\nsum /data/big: size=%d sum=%x\n", len(data), sum))
}

// fcntl record locks on a volume go to the host (Tlock, Tgetlock).
func TestLocks(t *testing.T) {
	host := t.TempDir()
	r := runTool(t, []string{"-v", host + ":/data"}, "lock", "/data/lockfile")
	harness.Expect(t, r, 0, "lock /data/lockfile: getlk type=F_UNLCK\n")
}

// Bad -v flags are refused before QEMU starts.
func TestVolumeFlags(t *testing.T) {
	host := t.TempDir()
	for _, c := range []struct {
		flags []string
		msg   string
	}{
		{[]string{"-v", filepath.Join(host, "missing") + ":/d"}, "host directory"},
		{[]string{"-v", host + ":d"}, "is relative"},
		{[]string{"-v", host + ":/d:rx"}, "want ro or rw"},
		{[]string{"-v", host + ":/d", "-v", host + ":/d/"}, "already the guest directory"},
		{[]string{"-v", host}, "want HOSTDIR:GUESTDIR"},
	} {
		r := runTool(t, c.flags, "exit", "0")
		if r.Code != 2 || !strings.Contains(r.Stderr, c.msg) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", c.flags, r.Code, r.Stderr, c.msg)
		}
	}
}

// An image declares a volume (runikraft-ld --volume); runikraft inspect
// shows its mount tag, and QEMU started by hand with the README's
// -fsdev/-device lines attaches a host directory there.
func TestDeclaredVolumeOnPlainQEMU(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	ld := exec.Command(filepath.Join(tooldir, "runikraft-ld"), "--bake", voltool, "--volume", "/srv/data", "-o", img)
	if out, err := ld.CombinedOutput(); err != nil {
		t.Fatalf("runikraft-ld: %v\n%s", err, out)
	}
	out, err := exec.Command(runikraft, "inspect", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "volume:  /srv/data (virtio-9p mount tag vol0") {
		t.Fatalf("runikraft inspect: %v\n%s", err, out)
	}
	host := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := exec.CommandContext(ctx, "qemu-system-riscv64", "-M", "virt", "-nographic", "-kernel", img,
		"-fsdev", "local,id=data,path="+host+",security_model=none",
		"-device", "virtio-9p-device,fsdev=data,mount_tag=vol0",
		"-append", "-- write /srv/data/hello.txt from-qemu exit 7")
	qout, err := q.CombinedOutput()
	code := -1
	if q.ProcessState != nil {
		code = q.ProcessState.ExitCode()
	}
	if code != 7 || !strings.Contains(string(qout), "wrote /srv/data/hello.txt") {
		t.Fatalf("qemu: %v, exit %d; want 7\n%s", err, code, qout)
	}
	if got := readFile(t, filepath.Join(host, "hello.txt")); got != "from-qemu" {
		t.Errorf("host hello.txt = %q", got)
	}
	// Without the device the directory is there, empty, in RAM.
	r := harness.Run(t, runikraft, nil, img, "ls", "/srv/data", "write", "/srv/data/x", "y", "ls", "/srv/data")
	harness.Expect(t, r, 0, "/srv/data:\nwrote /srv/data/x\n/srv/data: x\n")
}

// The host keeps rewriting a file at changing sizes while the guest
// reads it whole, again and again: every read ends (short or long), and
// the kernel survives.
func TestFileChangingWhileRead(t *testing.T) {
	host := t.TempDir()
	f := filepath.Join(host, "moving")
	writeFile(t, f, "start")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 3<<20)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			size := (i * 7919 * 131) % len(buf)
			if fh, err := os.OpenFile(f, os.O_WRONLY|os.O_TRUNC, 0o644); err == nil {
				fh.Write(buf[:size])
				fh.Close()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	args := []string{}
	for range 6 {
		args = append(args, "sum", "/data/moving")
	}
	r := runTool(t, []string{"-v", host + ":/data"}, args...)
	close(stop)
	<-done
	if r.Code != 0 || strings.Count(r.Stdout, "sum /data/moving: size=") != 6 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want six sums and exit 0", r.Code, r.Stdout, r.Stderr)
	}
}

// The kernel keeps names it found in a share for a second (kernel/fs/p9fs,
// Cache mode). A change made through the mount is seen at once, also
// through another path to the same directory (the working directory and
// an absolute path are two nodes); a change the host makes is seen once
// the second has passed.
func TestNameCache(t *testing.T) {
	host := t.TempDir()
	d := filepath.Join(host, "d")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d, "g"), "host file")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runikraft, "run", "--timeout", "90s", "-v", host+":/data", voltool,
		"chdir", "/data/d",
		"write", "f", "hello", "stat", "f", "rm", "/data/d/f", "stat", "f",
		"write", "f", "again", "mv", "/data/d/f", "/data/d/h", "stat", "f", "cat", "h",
		"mkdir", "sub", "rmdir", "/data/d/sub", "stat", "sub",
		"append", "/data/d/h", "+more", "cat", "h",
		"stat", "g", "wait", "sleep", "1100", "stat", "g", "cat", "g2")
	got, stderr, err := runWaiting(t, cmd, func() {
		if err := os.Remove(filepath.Join(d, "g")); err != nil {
			t.Error(err)
		}
		writeFile(t, filepath.Join(d, "g2"), "new")
	})
	for _, want := range []string{
		"chdir /data/d\n",
		"wrote f\nstat f: file size=5 mode=644\n",
		"ERR stat ENOENT\nwrote f\n",                          // removed through the absolute path
		"mv /data/d/f /data/d/h\nERR stat ENOENT\nh: again\n", // renamed away
		"rmdir /data/d/sub\nERR stat ENOENT\n",
		"h: again+more\n",
		"stat g: file size=9 mode=644\nwaiting\nresumed\nslept 1100\nERR stat ENOENT\ng2: new\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if err != nil || t.Failed() {
		t.Fatalf("run: %v\nstdout %q\nstderr %q", err, got, stderr)
	}
}

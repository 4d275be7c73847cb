//go:build unix

package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// node is what a tree or an archive says about one name.
type node struct {
	Mode   cpio.Mode
	Data   string // file contents or symlink target
	Mtime  int64
	LinkTo string // for hard links: the first name of the inode
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// makeTree builds the test tree: 1,000 files in nested directories plus
// symlinks, a hard link, an empty directory and odd names.
func makeTree(t *testing.T) string {
	dir := t.TempDir()
	for i := 0; i < 1000; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%d/e%d/f%03d", i%7, i%3, i))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, bytes.Repeat([]byte{byte(i)}, i%50), 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(dir, "a/b/c/d/e/f/g"), 0o750))
	must(t, os.Mkdir(filepath.Join(dir, "empty"), 0o700))
	must(t, os.Symlink("../d0/e0/f000", filepath.Join(dir, "a/rel")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "a/abs")))
	must(t, os.Symlink("does/not/exist", filepath.Join(dir, "a/dangling")))
	must(t, os.Symlink("b", filepath.Join(dir, "a/dirlink")))
	must(t, os.WriteFile(filepath.Join(dir, "a/b/orig"), []byte("shared"), 0o640))
	must(t, os.Link(filepath.Join(dir, "a/b/orig"), filepath.Join(dir, "z-link")))
	odd := []string{"with space", "new\nline", "ünïcödé-日本語", strings.Repeat("n", 255), "-dash", "back\\slash", "tab\tx"}
	for _, n := range odd {
		must(t, os.WriteFile(filepath.Join(dir, "a", n), []byte(n), 0o644))
	}
	suid := filepath.Join(dir, "a/suid")
	must(t, os.WriteFile(suid, []byte("x"), 0o755))
	must(t, os.Chmod(suid, 0o4755|fs.ModeSetuid))
	must(t, os.Chmod(suid, 0o755|fs.ModeSetuid|fs.ModeSetgid))
	must(t, os.Mkdir(filepath.Join(dir, "tmp"), 0o777))
	must(t, os.Chmod(filepath.Join(dir, "tmp"), 0o777|fs.ModeSticky))
	return dir
}

// walkTree describes a host tree as the archive should.
func walkTree(t *testing.T, dir string) map[string]node {
	out := map[string]node{}
	first := map[uint64]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{Mode: cpio.Mode(st.Mode), Mtime: fi.ModTime().Unix()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Data, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			n.Data = string(b)
			if st.Nlink > 1 {
				if f, ok := first[uint64(st.Ino)]; ok {
					n.LinkTo = f
				} else {
					first[uint64(st.Ino)] = name
				}
			}
		}
		out[name] = n
		return err
	}))
	return out
}

// readArchive describes an archive the same way, resolving hard links the
// way an unpacker does, and checks the cpio conventions on the way.
func readArchive(t *testing.T, data []byte) (map[string]node, []cpio.Header) {
	out := map[string]node{}
	var hdrs []cpio.Header
	type group struct {
		first string
		data  string
	}
	links := map[uint32]*group{}
	r := cpio.NewReader(bytes.NewReader(data), cpio.MaxSize)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		body, err := io.ReadAll(r)
		must(t, err)
		hdrs = append(hdrs, *h)
		n := node{Mode: h.Mode, Data: string(body), Mtime: h.Mtime}
		if h.Mode.IsRegular() && h.Nlink > 1 {
			g := links[h.Ino]
			if g == nil {
				g = &group{first: h.Name}
				links[h.Ino] = g
			} else {
				n.LinkTo = g.first
			}
			if h.Size > 0 {
				g.data = string(body)
			}
		}
		out[h.Name] = n
	}
	// Hard links get their data from the link that carried it.
	for name, n := range out {
		if n.Mode.IsRegular() {
			if g := links[hdrIno(hdrs, name)]; g != nil {
				n.Data = g.data
				out[name] = n
			}
		}
	}
	return out, hdrs
}

func hdrIno(hdrs []cpio.Header, name string) uint32 {
	for _, h := range hdrs {
		if h.Name == name {
			return h.Ino
		}
	}
	return 0
}

func diffTrees(t *testing.T, want, got map[string]node, ignoreDirMtime bool) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%q missing from archive", name)
			continue
		}
		if ignoreDirMtime && w.Mode.IsDir() {
			g.Mtime = w.Mtime
		}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%q: archive has %+v, tree has %+v", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%q in archive but not in tree", name)
		}
	}
}

func TestPackReadsBackIdentical(t *testing.T) {
	dir := makeTree(t)
	want := walkTree(t, dir)
	if len(want) < 1000+20 {
		t.Fatalf("tree has only %d entries", len(want))
	}
	for _, format := range []cpio.Format{cpio.FormatNewc, cpio.FormatCRC} {
		t.Run(format.String(), func(t *testing.T) {
			var buf bytes.Buffer
			must(t, Pack(dir, &buf, Options{Format: format}))
			got, hdrs := readArchive(t, buf.Bytes())
			diffTrees(t, want, got, false)
			for _, h := range hdrs {
				if h.UID != 0 || h.GID != 0 {
					t.Errorf("%q owned by %d:%d, want 0:0", h.Name, h.UID, h.GID)
				}
			}
			// Data sits in the last link (z-link sorts after a/b/orig).
			for _, h := range hdrs {
				if h.Name == "a/b/orig" && (h.Size != 0 || h.Nlink != 2) {
					t.Errorf("first link: %+v", h)
				}
				if h.Name == "z-link" && (h.Size != 6 || h.Nlink != 2) {
					t.Errorf("last link: %+v", h)
				}
			}
			if got["a/suid"].Mode != cpio.TypeReg|cpio.ModeSetuid|cpio.ModeSetgid|0o755 {
				t.Errorf("suid mode %v", got["a/suid"].Mode)
			}
			if got["tmp"].Mode != cpio.TypeDir|cpio.ModeSticky|0o777 {
				t.Errorf("tmp mode %v", got["tmp"].Mode)
			}
		})
	}
}

func TestPackDeterministic(t *testing.T) {
	dir := makeTree(t)
	opts := Options{Mtime: time.Unix(1234567890, 0), UID: 1000, GID: 100}
	var a, b bytes.Buffer
	must(t, Pack(dir, &a, opts))
	// Touch everything: with a fixed mtime the archive must not change.
	later := time.Now().Add(time.Hour)
	must(t, os.Chtimes(filepath.Join(dir, "a/b/orig"), later, later))
	must(t, os.Chtimes(filepath.Join(dir, "d3"), later, later))
	must(t, Pack(dir, &b, opts))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two packs of the same tree differ")
	}
	_, hdrs := readArchive(t, a.Bytes())
	for _, h := range hdrs {
		if h.Mtime != 1234567890 || h.UID != 1000 || h.GID != 100 {
			t.Fatalf("%q: mtime %d owner %d:%d", h.Name, h.Mtime, h.UID, h.GID)
		}
	}
}

func TestPackKeepOwner(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	var buf bytes.Buffer
	must(t, Pack(dir, &buf, Options{KeepOwner: true, UID: 7}))
	_, hdrs := readArchive(t, buf.Bytes())
	if len(hdrs) != 1 || hdrs[0].UID != uint32(os.Getuid()) || hdrs[0].GID != uint32(os.Getgid()) {
		t.Errorf("headers %+v, want owner %d:%d", hdrs, os.Getuid(), os.Getgid())
	}
}

func TestPackLimits(t *testing.T) {
	dir := makeTree(t)
	cases := []struct {
		opts Options
		want string
	}{
		{Options{MaxFiles: 10}, "more than 10 entries (MaxFiles)"},
		{Options{MaxBytes: 1000}, "file data passes 1000 bytes (MaxBytes)"},
		{Options{MaxFileSize: 40}, "bytes, limit 40 (MaxFileSize)"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Pack(dir, &buf, c.opts)
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.opts, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%+v: %d bytes written before failing", c.opts, buf.Len())
		}
	}
	// Unlimited and exact limits pass.
	want := walkTree(t, dir)
	must(t, Pack(dir, io.Discard, Options{MaxFiles: len(want), MaxBytes: -1}))
}

func TestPackUnsupported(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "ok"), []byte("ok"), 0o644))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Skipf("cannot create a unix socket: %v", err)
	}
	defer l.Close()

	var buf bytes.Buffer
	err = Pack(dir, &buf, Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || len(ue.Files) != 2 || ue.Files[0].Name != "fifo" || ue.Files[1].Name != "sock" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), `"fifo" (fifo) "sock" (socket)`) || buf.Len() != 0 {
		t.Errorf("err = %v, %d bytes written", err, buf.Len())
	}

	var skipped []string
	must(t, Pack(dir, &buf, Options{SkipUnsupported: true, OnSkip: func(name string, mode fs.FileMode) {
		skipped = append(skipped, name)
	}}))
	got, _ := readArchive(t, buf.Bytes())
	if len(got) != 1 || got["ok"].Data != "ok" || strings.Join(skipped, ",") != "fifo,sock" {
		t.Errorf("archive %v, skipped %v", got, skipped)
	}
}

func TestPackErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "file")
	must(t, os.WriteFile(f, nil, 0o644))
	if err := Pack(f, io.Discard, Options{}); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("file as root: %v", err)
	}
	if err := Pack(filepath.Join(dir, "missing"), io.Discard, Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
	if err := Pack(dir, io.Discard, Options{Mtime: time.Unix(-1, 0)}); err == nil {
		t.Errorf("negative mtime accepted")
	}
}

// A root given as a symlink to a directory is packed as that directory.
func TestPackRootSymlink(t *testing.T) {
	dir := makeTree(t)
	link := filepath.Join(t.TempDir(), "root")
	must(t, os.Symlink(dir, link))
	var a, b bytes.Buffer
	must(t, Pack(dir, &a, Options{}))
	must(t, Pack(link, &b, Options{}))
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("packing through a symlinked root differs")
	}
}

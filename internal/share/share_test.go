package share

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

type item struct {
	mode cpio.Mode
	body string
	ino  uint32
}

func readArchive(t *testing.T, data []byte) (map[string]item, []string) {
	t.Helper()
	got := map[string]item{}
	var order []string
	cr := cpio.NewReader(bytes.NewReader(data), cpio.MaxSize)
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return got, order
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(cr)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := got[h.Name]; dup {
			t.Errorf("%s twice in the archive", h.Name)
		}
		got[h.Name] = item{h.Mode, string(b), h.Ino}
		order = append(order, h.Name)
	}
}

func write(t *testing.T, p, body string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(body), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestPackTopLevelAtAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "confdefs.h"), "#define X 1\n", 0o640)
	write(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "self"), "the image", 0o755)
	write(t, filepath.Join(dir, "big"), strings.Repeat("b", 2000), 0o644)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub", "deep"), "not shared", 0o644)
	if err := os.Symlink("confdefs.h", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	self, err := os.Stat(filepath.Join(dir, "self"))
	if err != nil {
		t.Fatal(err)
	}
	init := cpio.Entry{Header: cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: 3}, Body: []byte("app")}
	var notes []string
	var b bytes.Buffer
	err = Pack(&b, dir, Options{
		Extra:       []cpio.Entry{init},
		Skip:        func(fi os.FileInfo) bool { return os.SameFile(fi, self) },
		Note:        func(s string) { notes = append(notes, s) },
		MaxFileSize: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readArchive(t, b.Bytes())
	prefix := strings.TrimPrefix(filepath.ToSlash(dir), "/")
	want := map[string]item{
		"init":                 {cpio.TypeReg | 0o755, "app", 0},
		prefix + "/confdefs.h": {cpio.TypeReg | 0o640, "#define X 1\n", 0},
		prefix + "/run.sh":     {cpio.TypeReg | 0o755, "#!/bin/sh\n", 0},
	}
	parts := strings.Split(prefix, "/")
	for i := range parts {
		want[strings.Join(parts[:i+1], "/")] = item{}
	}
	if len(got) != len(want) {
		t.Errorf("archive has %d entries, want %d: %v", len(got), len(want), got)
	}
	inos := map[uint32]string{}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("no %s", name)
		case w.mode == 0 && !g.mode.IsDir():
			t.Errorf("%s: mode %v, want a directory", name, g.mode)
		case w.mode != 0 && (g.mode != w.mode || g.body != w.body):
			t.Errorf("%s: %v %q, want %v %q", name, g.mode, g.body, w.mode, w.body)
		}
		if other, dup := inos[g.ino]; dup {
			t.Errorf("%s and %s share inode %d", name, other, g.ino)
		}
		inos[g.ino] = name
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "big") || !strings.Contains(notes[0], "limit") {
		t.Errorf("notes %q; want one about big", notes)
	}
}

func TestPackTotalLimit(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		write(t, filepath.Join(dir, n), strings.Repeat(n, 400), 0o644)
	}
	var notes []string
	var b bytes.Buffer
	if err := Pack(&b, dir, Options{MaxTotalSize: 1000, Note: func(s string) { notes = append(notes, s) }}); err != nil {
		t.Fatal(err)
	}
	got, _ := readArchive(t, b.Bytes())
	prefix := strings.TrimPrefix(filepath.ToSlash(dir), "/")
	for n, shared := range map[string]bool{"a": true, "b": true, "c": false, "d": false} {
		if _, ok := got[prefix+"/"+n]; ok != shared {
			t.Errorf("%s shared: %v, want %v", n, ok, shared)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "2 file(s) past the total limit") || !strings.Contains(notes[0], "c, d") {
		t.Errorf("notes %q", notes)
	}
}

func baseArchive(t *testing.T, entries ...cpio.Entry) []byte {
	t.Helper()
	for i := range entries {
		if entries[i].Link == "" {
			entries[i].Size = int64(len(entries[i].Body))
		}
	}
	var b bytes.Buffer
	if err := cpio.WriteArchive(&b, entries, cpio.ArchiveOptions{Format: cpio.FormatCRC}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPackMergesBase(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "mine"), "shared", 0o644)
	write(t, filepath.Join(dir, "theirs"), "host", 0o644)
	prefix := strings.TrimPrefix(filepath.ToSlash(dir), "/")
	parts := strings.Split(prefix, "/")
	first := parts[0]
	entries := []cpio.Entry{
		{Header: cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755}, Body: []byte("app")},
		{Header: cpio.Header{Name: "one", Mode: cpio.TypeReg | 0o644}, Body: []byte("x")},
		{Header: cpio.Header{Name: "two", Mode: cpio.TypeReg | 0o644}, Link: "one"},
		{Header: cpio.Header{Name: prefix + "/theirs", Mode: cpio.TypeReg | 0o600}, Body: []byte("baked")},
	}
	for i := range parts { // WriteArchive wants every parent
		entries = append(entries, cpio.Entry{Header: cpio.Header{Name: strings.Join(parts[:i+1], "/"), Mode: cpio.TypeDir | 0o1777}})
	}
	base := baseArchive(t, entries...)
	var notes []string
	var b bytes.Buffer
	if err := Pack(&b, dir, Options{Base: bytes.NewReader(base), Note: func(s string) { notes = append(notes, s) }}); err != nil {
		t.Fatal(err)
	}
	got, order := readArchive(t, b.Bytes())
	if g := got[prefix+"/mine"]; g.body != "shared" {
		t.Errorf("mine: %q", g.body)
	}
	if g := got[prefix+"/theirs"]; g.body != "baked" {
		t.Errorf("theirs: %q; the base's file wins", g.body)
	}
	if g := got[first]; g.mode != cpio.TypeDir|0o1777 {
		t.Errorf("%s: mode %v; the base's directory is kept", first, g.mode)
	}
	if got["one"].ino != got["two"].ino || got[prefix+"/mine"].ino <= got["two"].ino {
		t.Errorf("inodes: one %d two %d mine %d", got["one"].ino, got["two"].ino, got[prefix+"/mine"].ino)
	}
	if order[len(order)-1] != prefix+"/mine" {
		t.Errorf("order %q: shared files come last", order)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "theirs") {
		t.Errorf("notes %q", notes)
	}
}

func TestPackBaseHasAncestorAsFile(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f"), "x", 0o644)
	first := strings.Split(strings.TrimPrefix(filepath.ToSlash(dir), "/"), "/")[0]
	base := baseArchive(t, cpio.Entry{Header: cpio.Header{Name: first, Mode: cpio.TypeSymlink | 0o777}, Body: []byte("/elsewhere")})
	var notes []string
	var b bytes.Buffer
	if err := Pack(&b, dir, Options{Base: bytes.NewReader(base), Note: func(s string) { notes = append(notes, s) }}); err != nil {
		t.Fatal(err)
	}
	got, _ := readArchive(t, b.Bytes())
	if len(got) != 1 || len(notes) != 1 || !strings.Contains(notes[0], "not sharing") {
		t.Errorf("archive %v notes %q; want the base alone and a note", got, notes)
	}
}

func TestPackErrors(t *testing.T) {
	var b bytes.Buffer
	if err := Pack(&b, "relative", Options{}); err == nil {
		t.Error("relative directory accepted")
	}
	if err := Pack(&b, filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("missing directory accepted")
	}
	if err := Pack(&b, t.TempDir(), Options{Base: strings.NewReader("garbage")}); err == nil {
		t.Error("malformed base accepted")
	}
}

// rawEntry is a newc entry with any name, as a hostile guest could send.
func rawEntry(name string, mode cpio.Mode, body string) string {
	f := []uint32{1, uint32(mode), 0, 0, 1, 0, uint32(len(body)), 0, 0, 0, 0, uint32(len(name) + 1), 0}
	s := "070701"
	for _, v := range f {
		s += fmt.Sprintf("%08X", v)
	}
	s += name + "\x00"
	for len(s)%4 != 0 {
		s += "\x00"
	}
	s += body
	for len(s)%4 != 0 {
		s += "\x00"
	}
	return s
}

func exportArchive(entries ...string) []byte {
	return []byte(strings.Join(entries, "") + rawEntry(cpio.Trailer, 0, ""))
}

func TestApply(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write(t, filepath.Join(dir, "same"), "unchanged", 0o644)
	write(t, filepath.Join(dir, "old"), "old content", 0o644)
	write(t, filepath.Join(dir, "chmod"), "content", 0o644)
	write(t, filepath.Join(outside, "target"), "outside", 0o644)
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, n := range []string{"same", "chmod"} {
		if err := os.Chtimes(filepath.Join(dir, n), past, past); err != nil {
			t.Fatal(err)
		}
	}
	archive := exportArchive(
		rawEntry("same", cpio.TypeReg|0o644, "unchanged"),
		rawEntry("old", cpio.TypeReg|0o600, "new content"),
		rawEntry("new", cpio.TypeReg|0o4755, "created"),
		rawEntry("chmod", cpio.TypeReg|0o755, "content"),
		rawEntry("sub/x", cpio.TypeReg|0o644, "nested"),
		rawEntry("x/../y", cpio.TypeReg|0o644, "cleaned to y"),
		rawEntry("link", cpio.TypeReg|0o644, "through the link?"),
		rawEntry("adir", cpio.TypeReg|0o644, "over a directory?"),
		rawEntry("sym", cpio.TypeSymlink|0o777, "/etc/passwd"),
		rawEntry("dir", cpio.TypeDir|0o755, ""),
		rawEntry(".", cpio.TypeDir|0o755, ""),
	)
	var warns []string
	changed, err := Apply(bytes.NewReader(archive), dir, func(s string) { warns = append(warns, s) })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(changed)
	if want := []string{"chmod", "new", "old", "y"}; !slices.Equal(changed, want) {
		t.Errorf("changed %q, want %q", changed, want)
	}
	for name, want := range map[string]struct {
		body string
		perm os.FileMode
	}{
		"same":  {"unchanged", 0o644},
		"old":   {"new content", 0o600},
		"new":   {"created", 0o755}, // no setuid from the guest
		"chmod": {"content", 0o755},
		"y":     {"cleaned to y", 0o644},
	} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		fi, serr := os.Lstat(p)
		if err != nil || serr != nil || string(b) != want.body || fi.Mode() != want.perm {
			t.Errorf("%s: %q %v (%v %v); want %q %v", name, b, fi.Mode(), err, serr, want.body, want.perm)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "same")); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("unchanged file touched: %v %v", fi.ModTime(), err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "target")); string(b) != "outside" {
		t.Errorf("written through the symlink: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "adir")); err != nil || !fi.IsDir() {
		t.Errorf("directory replaced: %v %v", fi, err)
	}
	for _, n := range []string{"sub", "sym", "dir"} {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s created", n)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".runikraft") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
	wantWarns := []string{"sub/x", "link", "adir", "sym", "dir", `"."`}
	if len(warns) != len(wantWarns) {
		t.Errorf("warnings %q", warns)
	}
	for _, w := range wantWarns {
		if !slices.ContainsFunc(warns, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning about %s in %q", w, warns)
		}
	}
}

func TestApplyMalformedWritesNothing(t *testing.T) {
	good := rawEntry("a", cpio.TypeReg|0o644, "first")
	for name, data := range map[string][]byte{
		"escapes":   exportArchive(good, rawEntry("../evil", cpio.TypeReg|0o644, "x")),
		"absolute":  exportArchive(good, rawEntry("/tmp/evil", cpio.TypeReg|0o644, "x")),
		"truncated": exportArchive(good, rawEntry("b", cpio.TypeReg|0o644, "second"))[:len(good)+20],
		"no end":    []byte(good),
		"garbage":   []byte("this is not an archive"),
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "cwd")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			changed, err := Apply(bytes.NewReader(data), dir, nil)
			if err == nil {
				t.Fatalf("accepted; changed %q", changed)
			}
			for _, d := range []string{dir, parent} {
				if ents, _ := os.ReadDir(d); len(ents) > 1 || (d == dir && len(ents) > 0) {
					t.Errorf("%s has %d entries after a malformed export", d, len(ents))
				}
			}
		})
	}
}

func TestApplyEmpty(t *testing.T) {
	changed, err := Apply(bytes.NewReader(nil), t.TempDir(), nil)
	if err != nil || changed != nil {
		t.Fatalf("empty export: %q %v", changed, err)
	}
	changed, err = Apply(bytes.NewReader(exportArchive()), t.TempDir(), nil)
	if err != nil || changed != nil {
		t.Fatalf("trailer only: %q %v", changed, err)
	}
}

// What Pack shares and the kernel sends back round-trips through Apply
// without touching anything when nothing changed.
func TestApplyOwnArchive(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f"), "body", 0o644)
	var b bytes.Buffer
	w := cpio.NewWriter(&b, &cpio.WriterOptions{BlockSize: 4})
	for _, e := range []struct{ name, body string }{{"f", "body"}, {"g", "new"}} {
		if err := w.WriteHeader(&cpio.Header{Name: e.name, Mode: cpio.TypeReg | 0o644, Size: int64(len(e.body)), Nlink: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	changed, err := Apply(bytes.NewReader(b.Bytes()), dir, nil)
	if err != nil || !slices.Equal(changed, []string{"g"}) {
		t.Fatalf("changed %q %v", changed, err)
	}
}

func TestPackPseudoFilesystem(t *testing.T) {
	var notes []string
	var b bytes.Buffer
	if err := Pack(&b, "/proc/self", Options{Note: func(s string) { notes = append(notes, s) }}); err != nil {
		t.Fatal(err)
	}
	got, _ := readArchive(t, b.Bytes())
	if len(got) != 2 || !got["proc/self"].mode.IsDir() || len(notes) != 1 || !strings.Contains(notes[0], "pseudo") {
		t.Errorf("archive %v, notes %q", got, notes)
	}
}

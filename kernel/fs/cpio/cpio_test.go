package cpio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
)

// item is a header with its body, as read back from an archive.
type item struct {
	Header
	Body string
}

// readAll reads every entry of an archive, bodies included.
func readAll(t testing.TB, data []byte, maxSize int64) ([]item, error) {
	t.Helper()
	r := NewReader(bytes.NewReader(data), maxSize)
	var out []item
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return out, err
		}
		out = append(out, item{*h, string(body)})
	}
}

// writeItems writes items verbatim with a streaming Writer.
func writeItems(t testing.TB, items []item, opts *WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	for _, it := range items {
		h := it.Header
		if err := w.WriteHeader(&h); err != nil {
			t.Fatalf("WriteHeader(%q): %v", h.Name, err)
		}
		if _, err := io.WriteString(w, it.Body); err != nil {
			t.Fatalf("Write(%q): %v", h.Name, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func sampleEntries() []Entry {
	return []Entry{
		{Header: Header{Name: "bin", Mode: TypeDir | 0o755, Mtime: 1000}},
		{Header: Header{Name: "bin/app", Mode: TypeReg | ModeSetuid | 0o755, Size: 5, Mtime: 2000, UID: 1, GID: 2}, Body: []byte("hello")},
		{Header: Header{Name: "bin/app2", Mode: TypeReg | 0o755}, Link: "bin/app"},
		{Header: Header{Name: "bin/sh", Mode: TypeSymlink | 0o777, Size: 3}, Body: []byte("app")},
		{Header: Header{Name: "tmp", Mode: TypeDir | ModeSticky | 0o777}},
		{Header: Header{Name: "empty", Mode: TypeReg | 0o644}},
		{Header: Header{Name: "odd", Mode: TypeReg | 0o600, Size: 7}, Body: []byte("1234567")},
		{Header: Header{Name: "dev", Mode: TypeDir | 0o755}},
		{Header: Header{Name: "dev/null", Mode: TypeChar | 0o666, RdevMajor: 1, RdevMinor: 3}},
	}
}

func buildArchive(t testing.TB, entries []Entry, opts ArchiveOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteArchive(&buf, entries, opts); err != nil {
		t.Fatalf("WriteArchive: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, format := range []Format{FormatNewc, FormatCRC} {
		t.Run(format.String(), func(t *testing.T) {
			data := buildArchive(t, sampleEntries(), ArchiveOptions{Format: format})
			if len(data)%DefaultBlockSize != 0 {
				t.Errorf("archive length %d not a multiple of %d", len(data), DefaultBlockSize)
			}
			items, err := readAll(t, data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]item{}
			var names []string
			for _, it := range items {
				got[it.Name] = it
				names = append(names, it.Name)
			}
			want := "bin bin/app bin/app2 bin/sh dev dev/null empty odd tmp"
			if s := strings.Join(names, " "); s != want {
				t.Errorf("order = %q, want %q", s, want)
			}
			app, app2 := got["bin/app"], got["bin/app2"]
			// Data goes in the last link; both share the inode.
			if app.Size != 0 || app2.Body != "hello" || app.Ino != app2.Ino || app.Nlink != 2 || app2.Nlink != 2 {
				t.Errorf("hard links: %+v / %+v", app, app2)
			}
			if app2.Mode != TypeReg|ModeSetuid|0o755 || app2.UID != 1 || app2.GID != 2 || app2.Mtime != 2000 {
				t.Errorf("link metadata not shared: %+v", app2)
			}
			if format == FormatCRC && app2.Check != Checksum([]byte("hello"), 0) {
				t.Errorf("check = %x", app2.Check)
			}
			if got["bin/sh"].Body != "app" || !got["bin/sh"].Mode.IsSymlink() {
				t.Errorf("symlink: %+v", got["bin/sh"])
			}
			if got["tmp"].Mode != TypeDir|ModeSticky|0o777 {
				t.Errorf("tmp mode %v", got["tmp"].Mode)
			}
			if got["bin"].Nlink != 2 || got["dev"].Nlink != 2 {
				t.Errorf("dir nlink: %d %d", got["bin"].Nlink, got["dev"].Nlink)
			}
			if d := got["dev/null"]; d.RdevMajor != 1 || d.RdevMinor != 3 {
				t.Errorf("dev/null: %+v", d)
			}
			// Writing what was read gives the same bytes.
			again := writeItems(t, items, &WriterOptions{Format: format})
			if !bytes.Equal(again, data) {
				t.Errorf("rewrite differs from original")
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	base := buildArchive(t, sampleEntries(), ArchiveOptions{FixedMtime: true, Mtime: 42})
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		e := sampleEntries()
		rng.Shuffle(len(e), func(i, j int) { e[i], e[j] = e[j], e[i] })
		// Mtimes differ but are overridden.
		for j := range e {
			e[j].Mtime = int64(rng.Intn(1000))
		}
		if got := buildArchive(t, e, ArchiveOptions{FixedMtime: true, Mtime: 42}); !bytes.Equal(got, base) {
			t.Fatalf("shuffle %d: archive differs", i)
		}
	}
	items, err := readAll(t, base, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Mtime != 42 {
			t.Errorf("%s: mtime %d", it.Name, it.Mtime)
		}
	}
}

func TestWriteArchiveErrors(t *testing.T) {
	reg := func(name string) Entry {
		return Entry{Header: Header{Name: name, Mode: TypeReg | 0o644}}
	}
	cases := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"dup", []Entry{reg("a"), reg("a")}, `entry "a" appears twice`},
		{"no parent", []Entry{reg("a/b")}, `parent directory "a" is not in the archive`},
		{"bad link", []Entry{reg("a"), {Header: Header{Name: "b"}, Link: "c"}}, `hard link target "c" is not a regular-file entry`},
		{"unclean", []Entry{reg("./a")}, `name is not clean (want "a")`},
		{"absolute", []Entry{reg("/a")}, `name is absolute`},
		{"escape", []Entry{reg("../a")}, `name escapes the root`},
		{"short", []Entry{{Header: Header{Name: "a", Mode: TypeReg | 0o644, Size: 4}, Body: []byte("ab")}}, `data is 2 bytes, header says 4`},
		{"long", []Entry{{Header: Header{Name: "a", Mode: TypeReg | 0o644, Size: 1}, Body: []byte("ab")}}, `longer than header size 1`},
		{"trailer", []Entry{reg(Trailer)}, `reserved for the trailer`},
		{"big mtime", []Entry{{Header: Header{Name: "a", Mode: TypeReg | 0o644, Mtime: 1 << 32}}}, `mtime 4294967296 out of range`},
		{"bad mode", []Entry{{Header: Header{Name: "a", Mode: 0o644}}}, `unknown file type`},
	}
	for _, c := range cases {
		err := WriteArchive(io.Discard, c.entries, ArchiveOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(io.Discard, nil)
	if err := w.WriteHeader(&Header{Name: "a", Mode: TypeReg | 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("abc")); n != 2 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("Write = %d, %v", n, err)
	}
	w = NewWriter(io.Discard, &WriterOptions{Format: FormatCRC})
	if err := w.WriteHeader(&Header{Name: "a", Mode: TypeReg | 0o644, Size: 2, Check: 1}); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ab"))
	if err := w.Close(); !errors.Is(err, ErrChecksum) {
		t.Errorf("Close = %v, want checksum error", err)
	}
	w = NewWriter(io.Discard, nil)
	w.WriteHeader(&Header{Name: "a", Mode: TypeReg | 0o644, Size: 2})
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "2 bytes of body not written") {
		t.Errorf("Close = %v", err)
	}
	if err := NewWriter(io.Discard, &WriterOptions{BlockSize: 3}).Close(); err == nil {
		t.Errorf("block size 3 accepted")
	}
}

// hdr formats a raw header; fields in archive order, namesize included.
func hdr(magic string, f [13]uint32) string {
	s := magic
	for _, v := range f {
		s += fmt.Sprintf("%08X", v)
	}
	return s
}

// rawEntry builds a correctly padded entry with the given mode and body.
func rawEntry(magic, name string, mode Mode, body string, check uint32) string {
	h := hdr(magic, [13]uint32{1, uint32(mode), 0, 0, 1, 0, uint32(len(body)), 0, 0, 0, 0, uint32(len(name) + 1), check})
	s := h + name + "\x00"
	s += strings.Repeat("\x00", pad4(int64(len(s))))
	s += body + strings.Repeat("\x00", pad4(int64(len(body))))
	return s
}

var trailer = rawEntry(magicNewc, Trailer, 0, "", 0)

func TestMalformed(t *testing.T) {
	reg := TypeReg | 0o644
	okFile := rawEntry(magicNewc, "f", reg, "x", 0)
	cases := []struct {
		name string
		data string
		kind error
		want string
	}{
		{"empty input", "", ErrTruncated, `entry #1 (header at offset 0): archive truncated: archive ends without TRAILER!!!`},
		{"no trailer", okFile, ErrTruncated, `entry #2 (header at offset 116): archive truncated: archive ends without TRAILER!!!`},
		{"bad magic", "070707" + okFile[6:], ErrFormat, `bad magic "070707" (want "070701" or "070702")`},
		{"non-hex mode", okFile[:14] + "0000X1A4" + okFile[22:], ErrFormat, `mode field "0000X1A4" is not 8 hex digits`},
		{"signed field", okFile[:22] + "+0000000" + okFile[30:], ErrFormat, `uid field "+0000000" is not 8 hex digits`},
		{"space in field", okFile[:54] + " 0000001" + okFile[62:], ErrFormat, `filesize field " 0000001" is not 8 hex digits`},
		{"name size 0", hdr(magicNewc, [13]uint32{1, uint32(reg), 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}) + "\x00\x00", ErrFormat, `entry #1 (header at offset 0): malformed archive: name size is 0`},
		{"name size 4097", hdr(magicNewc, [13]uint32{1, uint32(reg), 0, 0, 1, 0, 0, 0, 0, 0, 0, 4097, 0}), ErrFormat, `name size 4097 exceeds 4096`},
		{"missing NUL", hdr(magicNewc, [13]uint32{1, uint32(reg), 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0}) + "ab", ErrFormat, `name is not NUL-terminated`},
		{"embedded NUL", hdr(magicNewc, [13]uint32{1, uint32(reg), 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0}) + "a\x00b\x00", ErrFormat, `name contains NUL`},
		{"empty name", rawEntry(magicNewc, "", reg, "", 0) + trailer, ErrUnsafe, `name is empty`},
		{"absolute", rawEntry(magicNewc, "/etc/passwd", reg, "", 0) + trailer, ErrUnsafe, `entry #1 "/etc/passwd" (header at offset 0): unsafe name: name is absolute`},
		{"absolute after clean", rawEntry(magicNewc, "//x/../etc", reg, "", 0) + trailer, ErrUnsafe, `name is absolute`},
		{"dotdot", rawEntry(magicNewc, "../x", reg, "", 0) + trailer, ErrUnsafe, `name escapes the root`},
		{"dotdot inside", rawEntry(magicNewc, "a/../../x", reg, "", 0) + trailer, ErrUnsafe, `name escapes the root`},
		{"too large", rawEntry(magicNewc, "big", reg, strings.Repeat("x", 101), 0) + trailer, ErrTooLarge, `entry #1 "big" (header at offset 0): entry too large: file size 101 exceeds limit 100`},
		{"name padding", rawEntry(magicNewc, "ab", reg, "", 0)[:114] + "\x01\x00" + trailer, ErrFormat, `entry #1 "ab" (header at offset 0): malformed archive: non-zero padding after name`},
		{"body padding", okFile[:113] + "\x00\x07\x00" + trailer, ErrFormat, `entry #1 "f" (header at offset 0): malformed archive: non-zero padding after body`},
		{"dir with size", rawEntry(magicNewc, "d", TypeDir|0o755, "abcd", 0) + trailer, ErrFormat, `directory entry has size 4, want 0`},
		{"unknown type", rawEntry(magicNewc, "u", 0o644, "", 0) + trailer, ErrFormat, `mode 000644 has an unknown file type or stray bits`},
		{"stray mode bits", rawEntry(magicNewc, "u", 0o1100644, "", 0) + trailer, ErrFormat, `unknown file type or stray bits`},
		{"root not dir", rawEntry(magicNewc, "./", reg, "", 0) + trailer, ErrFormat, `root entry "." has mode 100644, not a directory`},
		{"newc check", rawEntry(magicNewc, "f", reg, "x", 5) + trailer, ErrFormat, `check field is 00000005, want 0 in newc format`},
		{"crc mismatch", rawEntry(magicCRC, "f", reg, "x", 5) + trailer, ErrChecksum, `body sums to 00000078, header says 00000005`},
		{"crc empty file", rawEntry(magicCRC, "f", reg, "", 7) + trailer, ErrChecksum, `body sums to 00000000, header says 00000007`},
		{"empty symlink", rawEntry(magicNewc, "l", TypeSymlink|0o777, "", 0) + trailer, ErrFormat, `symlink has an empty target`},
		{"long symlink", rawEntry(magicNewc, "l", TypeSymlink|0o777, strings.Repeat("a", 4096), 0) + trailer, ErrTooLarge, `symlink target size 4096 exceeds 4095`},
		{"through symlink", rawEntry(magicNewc, "l", TypeSymlink|0o777, "/etc", 0) + rawEntry(magicNewc, "l/passwd", reg, "", 0) + trailer, ErrUnsafe, `entry #2 "l/passwd" (header at offset 116): unsafe name: parent "l" is a symlink`},
		{"mixed magic", rawEntry(magicNewc, "a", reg, "", 0) + rawEntry(magicCRC, "b", reg, "", 0) + trailer, ErrFormat, `entry #2 (header at offset 112): malformed archive: magic "070702" differs from the archive's newc format`},
		{"trailer with size", rawEntry(magicNewc, Trailer, 0, "abcd", 0), ErrFormat, `trailer has size 4`},
		{"truncated header", okFile[:50], ErrTruncated, `header ends after 50 of 110 bytes`},
		{"truncated name", okFile[:111], ErrTruncated, `name ends after 1 of 2 bytes`},
		{"truncated body", okFile[:112], ErrTruncated, `entry #1 "f" (header at offset 0): archive truncated: body ends with 1 bytes missing`},
		{"truncated pad", okFile[:114], ErrTruncated, `padding after body ends after 1 of 3 bytes`},
	}
	for _, c := range cases {
		_, err := readAll(t, []byte(c.data), 100)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got  %v\n want %v containing %q", c.name, err, c.kind, c.want)
		}
	}
}

func TestAcceptsVariants(t *testing.T) {
	// Lower-case hex, "./" prefixes, a harmless "..", and data after the
	// trailer are all fine.
	lower := strings.ToLower(hdr(magicNewc, [13]uint32{0xab, uint32(TypeReg | 0o644), 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0})) + "x\x00"
	data := lower + rawEntry(magicNewc, "./a/../b", TypeReg|0o644, "", 0) + trailer + "garbage"
	items, err := readAll(t, []byte(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Ino != 0xab || items[1].Name != "b" {
		t.Errorf("items = %+v", items)
	}
}

func TestTruncationEverywhere(t *testing.T) {
	for _, format := range []Format{FormatNewc, FormatCRC} {
		data := buildArchive(t, sampleEntries(), ArchiveOptions{Format: format, BlockSize: 4})
		if _, err := readAll(t, data, 100); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n++ {
			_, err := readAll(t, data[:n], 100)
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v: truncated to %d of %d bytes: err = %v", format, n, len(data), err)
			}
		}
	}
}

func TestReadlink(t *testing.T) {
	data := buildArchive(t, sampleEntries(), ArchiveOptions{})
	r := NewReader(bytes.NewReader(data), 100)
	for {
		h, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "bin/app" {
			if _, err := r.Readlink(); err == nil {
				t.Error("Readlink on a regular file succeeded")
			}
		}
		if h.Name == "bin/sh" {
			if s, err := r.Readlink(); err != nil || s != "app" {
				t.Fatalf("Readlink = %q, %v", s, err)
			}
			return
		}
	}
}

// errAfter fails with a non-EOF error after n bytes.
type errAfter struct {
	r io.Reader
	n int
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	if len(p) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

func TestStickyError(t *testing.T) {
	data := buildArchive(t, sampleEntries(), ArchiveOptions{})
	r := NewReader(&errAfter{bytes.NewReader(data), 300}, 100)
	var err error
	for err == nil {
		_, err = r.Next()
		if err == nil {
			_, err = io.ReadAll(r)
		}
	}
	if !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("second Next = %v, want sticky %v", err2, err)
	}
}

// Not reading bodies must still verify crc checksums.
func TestSkipVerifiesChecksum(t *testing.T) {
	data := rawEntry(magicCRC, "f", TypeReg|0o644, "abc", 1) + trailer
	r := NewReader(strings.NewReader(data), 100)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want checksum mismatch", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(buildArchive(f, sampleEntries(), ArchiveOptions{}))
	f.Add(buildArchive(f, sampleEntries(), ArchiveOptions{Format: FormatCRC, BlockSize: 4}))
	f.Add([]byte(rawEntry(magicNewc, "l", TypeSymlink|0o777, "/etc", 0) + rawEntry(magicNewc, "x", TypeReg|0o644, "", 0) + trailer))
	f.Add([]byte(trailer))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := readAll(t, data, 1<<16)
		if err != nil {
			return
		}
		// What was accepted must be written back and read back unchanged.
		format := FormatNewc
		if len(data) >= 6 && string(data[:6]) == magicCRC {
			format = FormatCRC
		}
		out, err := writeItemsErr(items, format)
		if err != nil {
			t.Fatalf("accepted entries not writable: %v", err)
		}
		again, err := readAll(t, out, 1<<16)
		if err != nil {
			t.Fatalf("rewritten archive rejected: %v", err)
		}
		if fmt.Sprint(again) != fmt.Sprint(items) {
			t.Fatalf("rewrite changed entries:\n%v\n%v", items, again)
		}
	})
}

// writeItemsErr is writeItems returning errors instead of failing.
func writeItemsErr(items []item, format Format) ([]byte, error) {
	var buf bytes.Buffer
	w := NewWriter(&buf, &WriterOptions{Format: format})
	for _, it := range items {
		h := it.Header
		if err := w.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, it.Body); err != nil {
			return nil, err
		}
	}
	err := w.Close()
	return buf.Bytes(), err
}

func TestReadFile(t *testing.T) {
	a := buildArchive(t, sampleEntries(), ArchiveOptions{})
	if b, err := ReadFile(a, "odd", 100); err != nil || string(b) != "1234567" {
		t.Errorf("ReadFile(odd) = %q, %v", b, err)
	}
	if b, err := ReadFile(a, "bin/app2", 100); err != nil || string(b) != "hello" {
		t.Errorf("ReadFile of a hard link = %q, %v", b, err)
	}
	for _, c := range []struct {
		name string
		max  int64
	}{{"odd", 6}, {"bin/sh", 100}, {"tmp", 100}, {"missing", 100}} {
		if b, err := ReadFile(a, c.name, c.max); err == nil {
			t.Errorf("ReadFile(%s, max %d) = %q, want an error", c.name, c.max, b)
		}
	}
}

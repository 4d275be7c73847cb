package cpio

import (
	"fmt"
	"io"
	"path"
	"sort"
)

// Entry is one member of an archive built by WriteArchive.
type Entry struct {
	// Header carries the name, mode, owner, times and device numbers.
	// WriteArchive assigns Ino, Nlink, Check and, for hard links, Size
	// itself; the values given are ignored.
	Header
	// Link, if set, makes this entry a hard link to the regular-file
	// entry of that name, whose own Link must be empty. The link shares
	// that entry's inode, metadata and data; only Name is taken from here.
	Link string
	// Body is the data of a symlink (its target) or a regular file.
	Body []byte
	// Open, if Body is nil, returns a regular file's data. It may be
	// called twice in the crc format (checksum, then copy); the data must
	// be Size bytes long both times.
	Open func() (io.ReadCloser, error)
}

// ArchiveOptions configures WriteArchive.
type ArchiveOptions struct {
	Format    Format
	BlockSize int // see WriterOptions
	// FixedMtime, if set, replaces every entry's Mtime with Mtime, so the
	// archive does not depend on when its files were touched.
	FixedMtime bool
	Mtime      int64
}

// WriteArchive writes entries as a complete, deterministic archive: the same
// entries in any order give the same bytes.
//
//   - Entries are sorted by name in byte order, "." first; a directory
//     therefore precedes everything inside it.
//   - Inode numbers are assigned from 1 in output order, device numbers
//     are kept as given.
//   - Nlink is the number of links in the archive for regular files, 2 plus
//     the number of subdirectories for directories, and 1 otherwise.
//   - Hard links are emitted as Linux's cpio does: all links of a file
//     share one inode number, every link but the last carries Size 0 and
//     the last carries the data.
//
// Names must be clean, unique, and have their parent directory (other than
// the implicit root) among the entries.
func WriteArchive(w io.Writer, entries []Entry, opts ArchiveOptions) error {
	order := make([]*Entry, len(entries))
	byName := make(map[string]*Entry, len(entries))
	for i := range entries {
		e := &entries[i]
		order[i] = e
		if c, err := CleanName(e.Name); err != nil {
			return err
		} else if c != e.Name {
			return fmt.Errorf("cpio: entry %q: name is not clean (want %q)", e.Name, c)
		}
		if _, dup := byName[e.Name]; dup {
			return fmt.Errorf("cpio: entry %q appears twice", e.Name)
		}
		byName[e.Name] = e
	}
	sort.Slice(order, func(i, j int) bool { return nameLess(order[i].Name, order[j].Name) })

	// Group hard links under their primary entry and count subdirectories.
	links := make(map[*Entry][]*Entry)
	subdirs := make(map[string]uint32)
	for _, e := range order {
		if e.Name != "." {
			parent := path.Dir(e.Name)
			if parent != "." {
				p, ok := byName[parent]
				if !ok || !p.Mode.IsDir() || p.Link != "" {
					return fmt.Errorf("cpio: entry %q: parent directory %q is not in the archive", e.Name, parent)
				}
			}
			if e.Link == "" && e.Mode.IsDir() {
				subdirs[parent]++
			}
		}
		if e.Link == "" {
			links[e] = append(links[e], e)
			continue
		}
		p, ok := byName[e.Link]
		if !ok || p.Link != "" || !p.Mode.IsRegular() {
			return fmt.Errorf("cpio: entry %q: hard link target %q is not a regular-file entry", e.Name, e.Link)
		}
		links[p] = append(links[p], e)
	}

	cw := NewWriter(w, &WriterOptions{Format: opts.Format, BlockSize: opts.BlockSize})
	inos := make(map[*Entry]uint32)
	next := uint32(1)
	for _, e := range order {
		primary := e
		if e.Link != "" {
			primary = byName[e.Link]
		}
		group := links[primary]
		h := primary.Header
		h.Name = e.Name
		if opts.FixedMtime {
			h.Mtime = opts.Mtime
		}
		ino, ok := inos[primary]
		if !ok {
			ino = next
			next++
			inos[primary] = ino
		}
		h.Ino = ino
		h.Check = 0
		switch {
		case h.Mode.IsRegular():
			h.Nlink = uint32(len(group))
		case h.Mode.IsDir():
			h.Nlink = 2 + subdirs[e.Name]
		default:
			h.Nlink = 1
		}
		last := group[len(group)-1] == e
		if h.Mode.IsRegular() && !last {
			h.Size = 0
		}
		if h.Size > 0 && opts.Format == FormatCRC && h.Mode.IsRegular() {
			sum, err := checksumEntry(primary)
			if err != nil {
				return fmt.Errorf("cpio: entry %q: %w", e.Name, err)
			}
			h.Check = sum
		}
		if err := cw.WriteHeader(&h); err != nil {
			return err
		}
		if h.Size > 0 {
			if err := copyBody(cw, primary, h.Size); err != nil {
				return fmt.Errorf("cpio: entry %q: %w", e.Name, err)
			}
		}
	}
	return cw.Close()
}

// nameLess orders names bytewise with the root first. Bytewise order
// already puts a directory before its contents, since a prefix sorts first.
func nameLess(a, b string) bool {
	if a == "." || b == "." {
		return a == "." && b != "."
	}
	return a < b
}

func openBody(e *Entry) (io.ReadCloser, error) {
	if e.Body != nil || e.Open == nil {
		return io.NopCloser(&byteReader{b: e.Body}), nil
	}
	return e.Open()
}

// byteReader avoids importing bytes for a one-method reader.
type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func checksumEntry(e *Entry) (uint32, error) {
	if e.Body != nil {
		return Checksum(e.Body, 0), nil
	}
	rc, err := openBody(e)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var sum uint32
	buf := make([]byte, 32<<10)
	for {
		n, err := rc.Read(buf)
		sum = Checksum(buf[:n], sum)
		if err == io.EOF {
			return sum, nil
		}
		if err != nil {
			return 0, fmt.Errorf("computing checksum: %w", err)
		}
	}
}

// copyBody writes exactly size bytes of e's data and fails if the data is
// shorter or longer, which means the file changed while being archived.
func copyBody(cw *Writer, e *Entry, size int64) error {
	rc, err := openBody(e)
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.CopyN(cw, rc, size)
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("data is %d bytes, header says %d (file changed?)", n, size)
		}
		return fmt.Errorf("copying data: %w", err)
	}
	var one [1]byte
	if k, _ := io.ReadFull(rc, one[:]); k > 0 {
		return fmt.Errorf("data is longer than header size %d (file changed?)", size)
	}
	return nil
}

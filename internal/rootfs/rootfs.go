// Package rootfs packs a host directory into the cpio archive that the
// kernel unpacks as its root filesystem before the application starts.
package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// Default limits. The root lives in the guest's memory, so an accidental
// pack of a home directory should fail loudly rather than build a huge image.
const (
	DefaultMaxFiles = 100_000
	DefaultMaxBytes = 1 << 30
)

// Options configures Pack. The zero value records uid/gid 0, keeps each
// file's mtime, writes newc and applies the default limits.
type Options struct {
	Format cpio.Format
	// Mtime, if not the zero Time, is recorded for every entry instead of
	// its own modification time, for reproducible images.
	Mtime time.Time
	// UID and GID are recorded as every entry's owner unless KeepOwner is
	// set, in which case the host's owners are kept.
	UID, GID  uint32
	KeepOwner bool
	// MaxFiles bounds the number of entries (files, directories, symlinks,
	// and each hard link); 0 means DefaultMaxFiles, negative no limit.
	MaxFiles int
	// MaxBytes bounds the total size of regular-file data, counting each
	// hard-linked file once; 0 means DefaultMaxBytes, negative no limit.
	MaxBytes int64
	// MaxFileSize bounds one regular file; 0 or negative means the
	// format's limit, cpio.MaxSize.
	MaxFileSize int64
	// SkipUnsupported makes Pack leave out sockets, devices and FIFOs,
	// reporting each to OnSkip, instead of failing with *UnsupportedError.
	SkipUnsupported bool
	OnSkip          func(name string, mode fs.FileMode)
	// Extra entries join the tree's (runikraft run adds the application
	// as /init); one whose name the tree also has is an error.
	Extra []cpio.Entry
}

// Unsupported is a file Pack cannot put in a root filesystem.
type Unsupported struct {
	Name string // slash-separated, relative to the packed directory
	Mode fs.FileMode
}

// UnsupportedError lists every socket, device and FIFO found, so the user
// can fix the tree in one go. The kernel's in-memory filesystem has no
// use for them: devices come from the kernel, not from the image.
type UnsupportedError struct {
	Dir   string
	Files []Unsupported
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rootfs: %s: %d file(s) that cannot go into the unikernel's root filesystem (sockets, devices and FIFOs: its /dev comes from the kernel, and a program makes its FIFOs with mkfifo at run time); remove them, or point --rootfs at a copy of the directory without them:", e.Dir, len(e.Files))
	for _, f := range e.Files {
		fmt.Fprintf(&b, " %q (%s)", f.Name, kindOf(f.Mode))
	}
	return b.String()
}

// ErrLimit is wrapped by errors for exceeding MaxFiles, MaxBytes or
// MaxFileSize.
var ErrLimit = errors.New("rootfs: limit exceeded")

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "irregular file"
}

// Pack writes the tree rooted at dir to w as a cpio archive.
//
// Symlinks are stored as symlinks, whatever they point at, and never
// followed; the root directory itself is not an entry (the kernel owns
// "/"). Modes keep setuid, setgid and sticky bits. Files that share an
// inode become hard links. The output depends only on the tree's contents
// and metadata, not on directory order, and with Options.Mtime not on
// timestamps either. Nothing is written unless the whole tree is
// acceptable, except when a file changes while it is being read.
func Pack(dir string, w io.Writer, opts Options) error {
	maxFiles := opts.MaxFiles
	if maxFiles == 0 {
		maxFiles = DefaultMaxFiles
	}
	maxBytes := opts.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	maxFile := opts.MaxFileSize
	if maxFile <= 0 || maxFile > cpio.MaxSize {
		maxFile = cpio.MaxSize
	}
	aopts := cpio.ArchiveOptions{Format: opts.Format}
	if !opts.Mtime.IsZero() {
		sec := opts.Mtime.Unix()
		if sec < 0 || sec > cpio.MaxSize {
			return fmt.Errorf("rootfs: mtime %v is outside the archive's range", opts.Mtime)
		}
		aopts.FixedMtime, aopts.Mtime = true, sec
	}

	root, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if !root.IsDir() {
		return fmt.Errorf("rootfs: %s is not a directory", dir)
	}
	// WalkDir does not descend into a root that is a symlink; only the
	// root is followed, links inside the tree are kept as links.
	walkRoot, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}

	var (
		entries []cpio.Entry
		bad     []Unsupported
		total   int64
		inodes  = map[fileKey]string{} // first name seen for each multiply-linked inode
	)
	err = filepath.WalkDir(walkRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == walkRoot {
			return nil
		}
		rel, err := filepath.Rel(walkRoot, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		fi, err := d.Info() // lstat: WalkDir does not follow symlinks
		if err != nil {
			return err
		}
		mode := fi.Mode()
		if mode&(fs.ModeSocket|fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0 {
			bad = append(bad, Unsupported{name, mode})
			return nil
		}
		if len(entries) >= maxFiles && maxFiles > 0 {
			return fmt.Errorf("%w: %s: more than %d entries (MaxFiles)", ErrLimit, name, maxFiles)
		}
		if len(name) >= cpio.MaxNameSize {
			return fmt.Errorf("%s: path is %d bytes, the archive allows %d", name, len(name), cpio.MaxNameSize-1)
		}
		e := cpio.Entry{Header: cpio.Header{
			Name:  name,
			Mode:  toCPIOMode(mode),
			UID:   opts.UID,
			GID:   opts.GID,
			Mtime: fi.ModTime().Unix(),
		}}
		id, haveID := sysInfo(fi)
		if opts.KeepOwner && haveID {
			e.UID, e.GID = id.uid, id.gid
		}
		switch {
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if len(target) > cpio.MaxSymlinkSize {
				return fmt.Errorf("%s: symlink target is %d bytes, the archive allows %d", name, len(target), cpio.MaxSymlinkSize)
			}
			e.Body = []byte(target)
			e.Size = int64(len(target))
		case mode.IsRegular():
			if haveID && id.nlink > 1 {
				if first, ok := inodes[id.key]; ok {
					e.Link = first
					break
				}
				inodes[id.key] = name
			}
			size := fi.Size()
			if size > maxFile {
				return fmt.Errorf("%w: %s: file is %d bytes, limit %d (MaxFileSize)", ErrLimit, name, size, maxFile)
			}
			total += size
			if maxBytes > 0 && total > maxBytes {
				return fmt.Errorf("%w: %s: file data passes %d bytes (MaxBytes)", ErrLimit, name, maxBytes)
			}
			e.Size = size
			e.Open = opener(p, fi)
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rootfs: packing %s: %w", dir, err)
	}
	if len(bad) > 0 {
		sort.Slice(bad, func(i, j int) bool { return bad[i].Name < bad[j].Name })
		if !opts.SkipUnsupported {
			return &UnsupportedError{Dir: dir, Files: bad}
		}
		if opts.OnSkip != nil {
			for _, b := range bad {
				opts.OnSkip(b.Name, b.Mode)
			}
		}
	}
	for _, x := range opts.Extra {
		for _, e := range entries {
			if e.Header.Name == x.Header.Name {
				return fmt.Errorf("rootfs: %s already has %s", dir, x.Header.Name)
			}
		}
		entries = append(entries, x)
	}
	if err := cpio.WriteArchive(w, entries, aopts); err != nil {
		return fmt.Errorf("rootfs: packing %s: %w", dir, err)
	}
	return nil
}

// toCPIOMode converts Go's file mode to the Unix st_mode the archive
// stores; fs.FileMode keeps setuid, setgid and sticky in its own bits.
func toCPIOMode(m fs.FileMode) cpio.Mode {
	c := cpio.Mode(m.Perm())
	if m&fs.ModeSetuid != 0 {
		c |= cpio.ModeSetuid
	}
	if m&fs.ModeSetgid != 0 {
		c |= cpio.ModeSetgid
	}
	if m&fs.ModeSticky != 0 {
		c |= cpio.ModeSticky
	}
	switch {
	case m.IsDir():
		c |= cpio.TypeDir
	case m&fs.ModeSymlink != 0:
		c |= cpio.TypeSymlink
	default:
		c |= cpio.TypeReg
	}
	return c
}

// opener returns a function that opens the regular file at p and checks
// it is still the file that was walked, so a file swapped for a symlink
// or a device in between is not read.
func opener(p string, walked fs.FileInfo) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := openNoFollow(p)
		if err != nil {
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if !fi.Mode().IsRegular() || !os.SameFile(fi, walked) {
			f.Close()
			return nil, fmt.Errorf("%s: replaced while packing", p)
		}
		return f, nil
	}
}

// FileEntry is an archive entry for the host file at path, stored as name
// with mode perm.
func FileEntry(name, path string, perm cpio.Mode) (cpio.Entry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return cpio.Entry{}, fmt.Errorf("rootfs: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return cpio.Entry{}, fmt.Errorf("rootfs: %s is not a regular file", path)
	}
	e := cpio.Entry{Header: cpio.Header{Name: name, Mode: cpio.TypeReg | perm, Size: fi.Size()}}
	e.Open = opener(path, fi)
	return e, nil
}

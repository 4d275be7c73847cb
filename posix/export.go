package posix

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

// Sharing the host's working directory by copy (runikraft run
// --share-cwd): the host packs its files into the root filesystem at the
// same path, the application starts there (Config.Cwd), and once it has
// exited the kernel sends back the files it created or changed there
// (ExportDir), which the host writes into its directory.

// enterCwd makes dir, an absolute path, the working directory before the
// first thread runs, making it and its parents if they are missing.
func (p *Process) enterCwd(dir string) error {
	if dir == "" {
		return nil
	}
	if !strings.HasPrefix(dir, "/") {
		return errors.New("not an absolute path")
	}
	v := p.fs.v
	dir = path.Clean(dir) // no "." or ".." left to make
	cur := ""
	for _, part := range strings.Split(dir, "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		if err := v.Mkdir(fs.Loc{}, cur, 0o755); err != nil && err != linux.EEXIST {
			return err
		}
	}
	l, err := v.Lookup(fs.Loc{}, dir, true)
	if err != nil {
		return err
	}
	if !l.Stat().IsDir() {
		return linux.ENOTDIR
	}
	p.fs.setCwd(l)
	return nil
}

// Started is when the application's first thread was about to run, its
// filesystem set up: files whose status changed since are its doing.
func (p *Process) Started() time.Time { return p.started }

// ExportDir writes to w a newc archive of the regular files at the top
// level of dir (an absolute path) whose status changed at or after since,
// each named by its plain file name, with its permission bits and mtime.
// The status change time covers every write, truncation, chmod, utimes
// and rename, and unlike the mtime cannot be set back by the program.
// Subdirectories, symlinks and special files are left out, and deleted
// files leave no trace. Nothing at all is written when no file changed.
//
// Call it after the application exited: a file that changes while it is
// read makes the archive fail.
func (p *Process) ExportDir(dir string, since time.Time, w io.Writer) error {
	v := p.fs.v
	d, err := v.Open(fs.Loc{}, dir, linux.O_RDONLY|linux.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	var names []string
	err = d.ReadDir(func(e fs.Dirent) bool {
		if e.Name != "." && e.Name != ".." && (e.Type == linux.DT_REG || e.Type == linux.DT_UNKNOWN) {
			names = append(names, e.Name)
		}
		return true
	})
	at := d.Loc()
	d.Close()
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	slices.Sort(names)

	bw := bufio.NewWriterSize(w, 64<<10) // few, large writes to a console port
	var cw *cpio.Writer
	ino := uint32(0)
	for _, name := range names {
		st, err := v.Stat(at, name, linux.AT_SYMLINK_NOFOLLOW)
		if err != nil || st.Mode&linux.S_IFMT != linux.S_IFREG || st.Ctime.Before(since) {
			continue
		}
		if cw == nil {
			cw = cpio.NewWriter(bw, &cpio.WriterOptions{BlockSize: 4})
		}
		ino++
		if err := exportFile(v, at, name, ino, cw); err != nil {
			return fmt.Errorf("export %s/%s: %w", strings.TrimRight(dir, "/"), name, err)
		}
	}
	if cw == nil {
		return nil
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	return nil
}

// exportFile writes the regular file name in at as one archive entry.
func exportFile(v *fs.VFS, at fs.Loc, name string, ino uint32, cw *cpio.Writer) error {
	f, err := v.Open(at, name, linux.O_RDONLY|linux.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size > cpio.MaxSize {
		return fmt.Errorf("%d bytes: more than an archive entry holds", st.Size)
	}
	h := &cpio.Header{
		Name: name, Mode: cpio.TypeReg | cpio.Mode(st.Mode&0o7777),
		Nlink: 1, Ino: ino, Mtime: min(max(st.Mtime.Unix(), 0), cpio.MaxSize), Size: st.Size,
	}
	if err := cw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.CopyN(cw, f.IO(), st.Size)
	if err != nil {
		return fmt.Errorf("read %d of %d bytes: %w", n, st.Size, err)
	}
	return nil
}

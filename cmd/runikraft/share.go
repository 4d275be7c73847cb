package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/runikraft/runikraft/internal/appimage"
	"github.com/runikraft/runikraft/internal/rootfs"
	"github.com/runikraft/runikraft/internal/share"
	"github.com/runikraft/runikraft/kernel/fs/cpio"
)

const shareCwdUsage = "start the application in a copy of the current directory's regular files (same path; " +
	"none over 16 MiB, 128 MiB in all) and write back the files it creates or changes there when it exits " +
	"(deletions are not); on when started through binfmt_misc"

// sharing is a --share-cwd run's state on the host.
type sharing struct {
	dir     string // the host's working directory, the guest's too
	archive string // root filesystem to boot with (-initrd)
	export  string // file QEMU writes the changed files into
}

// shareCwd packs the working directory and what the application needs
// next to it into a root filesystem archive: the archive initrd already
// is (--rootfs), a baked image's own root filesystem or program, or the
// application file as /init.
func shareCwd(image, initrd string, packed bool, baked *appimage.Info, note func(string)) (s *sharing, err error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("current directory: %w", err)
	}
	s = &sharing{dir: dir}
	defer func() {
		if err != nil {
			s.remove()
		}
	}()
	opts := share.Options{Note: note}
	switch {
	case packed: // --rootfs: an archive with the application as /init
		f, err := os.Open(initrd)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		opts.Base = f
	case baked != nil && baked.Rootfs:
		opts.Base = bytes.NewReader(baked.Initrd)
	case baked != nil:
		// -initrd replaces the baked program, so it comes along as /init.
		opts.Extra = []cpio.Entry{{Header: cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: int64(len(baked.Initrd))}, Body: baked.Initrd}}
	default:
		init, err := rootfs.FileEntry("init", image, 0o755)
		if err != nil {
			return nil, err
		}
		opts.Extra = []cpio.Entry{init}
	}
	if baked != nil {
		// The image is a kernel, not a program: if the kernel found it
		// at argv[0] in the archive it would try to run it.
		if self, err := os.Stat(image); err == nil {
			opts.Skip = func(fi os.FileInfo) bool { return os.SameFile(fi, self) }
		}
	}
	f, err := createTemp("share")
	if err != nil {
		return nil, err
	}
	s.archive = f.Name()
	err = share.Pack(f, dir, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	e, err := createTemp("export")
	if err != nil {
		return nil, err
	}
	s.export = e.Name()
	if err := e.Close(); err != nil {
		return nil, err
	}
	return s, nil
}

// writeBack writes the files the guest sent back into the directory;
// problems are warnings, the run's status stays the application's.
func (s *sharing) writeBack(stderr io.Writer) {
	warn := func(msg string) { fmt.Fprintf(stderr, "runikraft: warning: --share-cwd: %s\n", msg) }
	f, err := os.Open(s.export)
	if err != nil {
		warn(fmt.Sprintf("changed files not written back: %v", err))
		return
	}
	defer f.Close()
	if _, err := share.Apply(f, s.dir, warn); err != nil {
		warn(fmt.Sprintf("changed files not written back: %v", err))
	}
}

func (s *sharing) remove() {
	for _, p := range []string{s.archive, s.export} {
		if p != "" {
			os.Remove(p)
		}
	}
}

//go:build unix

package cpio

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needCPIO skips the test when GNU cpio is not installed.
func needCPIO(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio tool not installed (apt-get install cpio): compatibility not checked")
	}
	return p
}

// makeTree creates a small tree with every kind of entry the packer emits
// and returns its names in byte order.
func makeTree(t *testing.T, dir string) []string {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "d/sub"), 0o755))
	must(os.Mkdir(filepath.Join(dir, "sticky"), 0o755))
	must(os.Chmod(filepath.Join(dir, "sticky"), 0o1777))
	must(os.WriteFile(filepath.Join(dir, "d/f"), []byte("hard linked\n"), 0o644))
	must(os.Link(filepath.Join(dir, "d/f"), filepath.Join(dir, "d/h")))
	must(os.WriteFile(filepath.Join(dir, "suid"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(filepath.Join(dir, "suid"), 0o4755))
	must(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	must(os.WriteFile(filepath.Join(dir, "sp ace\nnewline-é"), []byte("odd"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "d/sub/odd5"), []byte("12345"), 0o640))
	must(os.Symlink("d/f", filepath.Join(dir, "rel")))
	must(os.Symlink("/nonexistent/target", filepath.Join(dir, "abs")))
	must(os.Symlink("missing", filepath.Join(dir, "dangling")))
	mt := time.Unix(1700000000, 0)
	var names []string
	must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		names = append(names, filepath.ToSlash(rel))
		return nil
	}))
	slices.Sort(names)
	// Deepest first, so a directory's time is set after its contents
	// stopped changing. Symlinks keep theirs: os cannot set it.
	for i := len(names) - 1; i >= 0; i-- {
		p := filepath.Join(dir, names[i])
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			must(os.Chtimes(p, mt, mt))
		}
	}
	return names
}

// checkAgainstTree compares archive items with the files they came from.
func checkAgainstTree(t *testing.T, dir string, items []item, names []string, ignoreOwner bool) {
	t.Helper()
	var got []string
	byIno := map[uint32][]item{}
	for _, it := range items {
		got = append(got, it.Name)
		if it.Mode.IsRegular() {
			byIno[it.Ino] = append(byIno[it.Ino], it)
		}
		p := filepath.Join(dir, it.Name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%q: %v", it.Name, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if Mode(st.Mode) != it.Mode {
			t.Errorf("%q: mode %v, file has %v", it.Name, it.Mode, Mode(st.Mode))
		}
		if !ignoreOwner && (it.UID != st.Uid || it.GID != st.Gid) {
			t.Errorf("%q: owner %d:%d, file has %d:%d", it.Name, it.UID, it.GID, st.Uid, st.Gid)
		}
		if !it.Mode.IsDir() && !it.Mode.IsSymlink() && it.Mtime != fi.ModTime().Unix() {
			t.Errorf("%q: mtime %d, file has %d", it.Name, it.Mtime, fi.ModTime().Unix())
		}
		switch {
		case it.Mode.IsSymlink():
			target, _ := os.Readlink(p)
			if it.Body != target {
				t.Errorf("%q: target %q, want %q", it.Name, it.Body, target)
			}
		case it.Mode.IsRegular() && it.Size > 0:
			data, _ := os.ReadFile(p)
			if it.Body != string(data) {
				t.Errorf("%q: body %q, want %q", it.Name, it.Body, data)
			}
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("names = %q, want %q", got, names)
	}
	links := byIno[itemByName(items, "d/f").Ino]
	if len(links) != 2 || links[0].Size != 0 || links[1].Body != "hard linked\n" {
		t.Errorf("hard link group = %+v; want d/f empty and d/h with the data", links)
	}
}

func itemByName(items []item, name string) item {
	for _, it := range items {
		if it.Name == name {
			return it
		}
	}
	return item{}
}

// TestGNUCreates reads archives written by `cpio -o` and checks that our
// writer reproduces them byte for byte.
func TestGNUCreates(t *testing.T) {
	cpioPath := needCPIO(t)
	dir := t.TempDir()
	names := makeTree(t, dir)
	for _, format := range []Format{FormatNewc, FormatCRC} {
		t.Run(format.String(), func(t *testing.T) {
			cmd := exec.Command(cpioPath, "-o", "-H", format.String(), "--null", "--quiet", "--reproducible")
			cmd.Dir = dir
			cmd.Stdin = strings.NewReader(strings.Join(names, "\x00") + "\x00")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			data, err := cmd.Output()
			if err != nil {
				t.Fatalf("cpio -o: %v: %s", err, stderr.Bytes())
			}
			items, err := readAll(t, data, 1<<20)
			if err != nil {
				t.Fatalf("reading GNU archive: %v", err)
			}
			checkAgainstTree(t, dir, items, names, false)
			if again := writeItems(t, items, &WriterOptions{Format: format}); !bytes.Equal(again, data) {
				t.Errorf("rewriting GNU archive: %d bytes differ from GNU's %d", len(again), len(data))
			}
		})
	}
}

// TestGNUExtracts writes an archive from a tree and lets `cpio -i` unpack
// it, then compares the two trees.
func TestGNUExtracts(t *testing.T) {
	cpioPath := needCPIO(t)
	src := t.TempDir()
	names := makeTree(t, src)
	for _, format := range []Format{FormatNewc, FormatCRC} {
		t.Run(format.String(), func(t *testing.T) {
			// Build entries from the tree by hand, as the packer would.
			var entries []Entry
			first := map[uint64]string{}
			for _, name := range names {
				p := filepath.Join(src, name)
				fi, err := os.Lstat(p)
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				e := Entry{Header: Header{Name: name, Mode: Mode(st.Mode), Mtime: fi.ModTime().Unix()}}
				switch {
				case e.Mode.IsSymlink():
					target, _ := os.Readlink(p)
					e.Body = []byte(target)
					e.Size = int64(len(target))
				case e.Mode.IsRegular():
					if f, ok := first[uint64(st.Ino)]; ok {
						e.Link = f
						break
					}
					first[uint64(st.Ino)] = name
					e.Body, _ = os.ReadFile(p)
					e.Size = int64(len(e.Body))
				}
				entries = append(entries, e)
			}
			var buf bytes.Buffer
			if err := WriteArchive(&buf, entries, ArchiveOptions{Format: format}); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			cmd := exec.Command(cpioPath, "-i", "-d", "-m", "--quiet", "--no-absolute-filenames")
			cmd.Dir = out
			cmd.Stdin = bytes.NewReader(buf.Bytes())
			if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
				t.Fatalf("cpio -i: %v: %s", err, msg)
			}
			items, err := readAll(t, buf.Bytes(), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstTree(t, out, items, names, os.Geteuid() != 0)
			a, _ := os.Lstat(filepath.Join(out, "d/f"))
			b, _ := os.Lstat(filepath.Join(out, "d/h"))
			if a == nil || b == nil || !os.SameFile(a, b) {
				t.Errorf("d/f and d/h are not hard linked after extraction")
			}
		})
	}
}

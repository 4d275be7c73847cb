package ramfs

import (
	"errors"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
)

func TestSeed(t *testing.T) {
	f := New(Options{})
	if err := f.Seed("/etc", linux.S_IFDIR|0o755, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Seed("/etc/passwd", linux.S_IFREG|0o644, []byte("root\n")); err != nil {
		t.Fatal(err)
	}
	// What is there stays: a directory keeps its mode, a file its body.
	if err := f.Seed("/etc", linux.S_IFDIR|0o700, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Seed("/etc/passwd", linux.S_IFREG|0o600, []byte("other\n")); err != nil {
		t.Fatal(err)
	}
	etc := f.root.ents["etc"].n
	pw := etc.ents["passwd"].n
	if etc.mode != linux.S_IFDIR|0o755 || pw.mode != linux.S_IFREG|0o644 || pw.size != 5 || string(pw.pages[0][:5]) != "root\n" {
		t.Fatalf("etc mode %o, passwd mode %o size %d", etc.mode, pw.mode, pw.size)
	}
	if f.root.nlink != 3 || etc.nlink != 2 || pw.nlink != 1 {
		t.Fatalf("link counts: root %d, etc %d, passwd %d", f.root.nlink, etc.nlink, pw.nlink)
	}
	for _, c := range []struct {
		name string
		mode uint32
		body []byte
		want error
	}{
		{"/etc/passwd", linux.S_IFDIR | 0o755, nil, syscall.ENOTDIR},   // a file where a directory is asked for
		{"/etc/passwd/x", linux.S_IFREG | 0o644, nil, syscall.ENOTDIR}, // a file on the way
		{"/no/x", linux.S_IFREG | 0o644, nil, syscall.ENOENT},          // no parent
		{"etc/x", linux.S_IFREG | 0o644, nil, syscall.EINVAL},          // relative
		{"/", linux.S_IFDIR | 0o755, nil, syscall.EINVAL},
		{"/etc/", linux.S_IFDIR | 0o755, nil, syscall.EINVAL},
		{"/etc//x", linux.S_IFREG | 0o644, nil, syscall.EINVAL},
		{"/etc/../x", linux.S_IFREG | 0o644, nil, syscall.EINVAL},
		{"/etc/l", linux.S_IFLNK | 0o777, nil, syscall.EINVAL}, // only directories and files
		{"/etc/d", linux.S_IFDIR | 0o755, []byte("x"), syscall.EINVAL},
	} {
		if err := f.Seed(c.name, c.mode, c.body); !errors.Is(err, c.want) {
			t.Errorf("Seed(%q, %o) = %v, want %v", c.name, c.mode, err, c.want)
		}
	}
	// Space is charged as for any other file, and running out says so.
	small := New(Options{MaxBytes: inodeCost + entryCost + 16})
	if err := small.Seed("/f", linux.S_IFREG|0o644, []byte("x")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Seed over the limit = %v, want ENOSPC", err)
	}
}

package fs_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
	"github.com/runikraft/runikraft/kernel/fs/ramfs"
)

// TestConcurrent has many goroutines create, write, read, rename, link
// and remove files, make and remove shared directories, list them and
// append to one shared file. Run with -race; afterwards the tree must be
// consistent and the shared file must hold every append.
func TestConcurrent(t *testing.T) {
	v := fs.New(ramfs.New(ramfs.Options{MaxBytes: 64 << 20}), fs.Cred{})
	mkdirs(t, v, "/work", "/shared")
	log, err := v.Open(root, "/log", linux.O_WRONLY|linux.O_CREAT|linux.O_APPEND, 0o644)
	ok(t, err)
	const (
		workers = 16
		rounds  = 150
		rec     = 16
	)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			fail := func(format string, args ...any) { errs <- fmt.Errorf(format, args...) }
			for i := 0; i < rounds; i++ {
				name := fmt.Sprintf("/work/g%d_%d", g, i)
				want := bytes.Repeat([]byte{byte(g)}, 100+i)
				f, err := v.Open(root, name, linux.O_RDWR|linux.O_CREAT|linux.O_EXCL, 0o644)
				if err != nil {
					fail("create %s: %v", name, err)
					return
				}
				f.Write(want)
				got := make([]byte, len(want))
				if n, _ := f.ReadAt(got, 0); n != len(want) || !bytes.Equal(got, want) {
					fail("%s: read back %d bytes", name, n)
				}
				f.Close()
				if err := v.Rename(root, name, root, name+".r", 0); err != nil {
					fail("rename %s: %v", name, err)
				}
				if err := v.Link(root, name+".r", root, name+".l", 0); err != nil {
					fail("link %s: %v", name, err)
				}
				// Shared names: any of these errors is a legitimate race loss.
				d := fmt.Sprintf("/shared/d%d", i%4)
				if err := v.Mkdir(root, d, 0o755); err != nil && !isErr(err, syscall.EEXIST) {
					fail("mkdir %s: %v", d, err)
				}
				sf := fmt.Sprintf("%s/f%d", d, g)
				if f, err := v.Open(root, sf, linux.O_WRONLY|linux.O_CREAT, 0o644); err == nil {
					f.Write([]byte("x"))
					f.Close()
					v.Unlink(root, sf, 0)
				} else if !isErr(err, syscall.ENOENT) {
					fail("create %s: %v", sf, err)
				}
				if err := v.Unlink(root, d, linux.AT_REMOVEDIR); err != nil &&
					!isErr(err, syscall.ENOENT) && !isErr(err, syscall.ENOTEMPTY) {
					fail("rmdir %s: %v", d, err)
				}
				if err := v.Rename(root, "/shared/d0", root, "/shared/d1", 0); err != nil &&
					!isErr(err, syscall.ENOENT) && !isErr(err, syscall.ENOTEMPTY) {
					fail("rename dirs: %v", err)
				}
				if i%10 == 0 { // list while others change the directory
					if d, err := v.Open(root, "/work", linux.O_RDONLY, 0); err == nil {
						d.ReadDir(func(fs.Dirent) bool { return true })
						d.Close()
					} else {
						fail("open /work: %v", err)
					}
				}
				if n, err := log.Write(bytes.Repeat([]byte{'a' + byte(g)}, rec)); n != rec || err != nil {
					fail("append: %d %v", n, err)
				}
				if err := v.Unlink(root, name+".r", 0); err != nil {
					fail("unlink %s: %v", name, err)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(names(t, v, "/work")); got != workers*rounds {
		t.Fatalf("%d files in /work, want %d", got, workers*rounds)
	}
	for _, n := range names(t, v, "/work") {
		st, err := v.Stat(root, "/work/"+n, 0)
		ok(t, err)
		if st.Nlink != 1 {
			t.Fatalf("%s: nlink %d", n, st.Nlink)
		}
	}
	data := readFile(t, v, "/log")
	if len(data) != workers*rounds*rec {
		t.Fatalf("log has %d bytes, want %d", len(data), workers*rounds*rec)
	}
	for i := 0; i < len(data); i += rec { // appends never interleave
		if strings.Count(data[i:i+rec], data[i:i+1]) != rec {
			t.Fatalf("torn append at %d", i)
		}
	}
	checkLinks(t, v, "/")
}

package posix

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runikraft/runikraft/kernel/abi/linux"
	"github.com/runikraft/runikraft/kernel/fs"
)

type countingFile struct {
	fileDefaults
	closes atomic.Int32
	wq     waitQueue
}

func (f *countingFile) Close() Errno          { f.closes.Add(1); return 0 }
func (f *countingFile) Stat() fs.Stat         { return anonStat(0) }
func (f *countingFile) Ready() uint32         { return 0 }
func (f *countingFile) waitQueue() *waitQueue { return &f.wq }
func (f *countingFile) Name(*Process) string  { return "counting" }

// dup3 over a descriptor closes the file it held when that was its last
// descriptor, and only then; closes racing with it never leak a file or
// close one twice.
func TestDupToClosesReplaced(t *testing.T) {
	ft := newFDTable(newConsole(Config{}))
	a, b := &countingFile{}, &countingFile{}
	fa, _ := ft.install(&openFile{f: a}, 3, false)
	fb, _ := ft.install(&openFile{f: b}, 3, false)
	fb2, _ := ft.install(ft.fds[fb].of, 3, false) // a second descriptor of b

	if e := ft.dupTo(fa, fb, false); e != 0 {
		t.Fatal(e)
	}
	if b.closes.Load() != 0 {
		t.Fatal("b closed while fb2 still refers to it")
	}
	if e := ft.dupTo(fa, fb2, true); e != 0 {
		t.Fatal(e)
	}
	if b.closes.Load() != 1 {
		t.Fatalf("b closed %d times once its last descriptor was replaced, want 1", b.closes.Load())
	}
	if e := ft.dupTo(fa, fa, false); e != linux.EBADF {
		t.Errorf("dupTo(fd, same fd) = %v, want EBADF (callers refuse it)", e)
	}
	if e := ft.dupTo(99, 5, false); e != linux.EBADF {
		t.Errorf("dupTo(unopened, 5) = %v, want EBADF", e)
	}
	for _, fd := range []int{fa, fb, fb2} {
		if e := ft.closeFD(fd); e != 0 {
			t.Fatal(e)
		}
	}
	if a.closes.Load() != 1 || ft.files != 3 { // only stdin, stdout, stderr left
		t.Errorf("a closed %d times, %d files referenced; want 1 and 3", a.closes.Load(), ft.files)
	}

	// Racing dup3 and close on the same target.
	c := &countingFile{}
	fc, _ := ft.install(&openFile{f: c}, 3, false)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); ft.dupTo(fc, 10, false) }()
		go func() { defer wg.Done(); ft.closeFD(10) }()
	}
	wg.Wait()
	ft.closeFD(10)
	ft.closeFD(fc)
	if c.closes.Load() != 1 || ft.files != 3 {
		t.Errorf("after the race: c closed %d times, %d files referenced; want 1 and 3", c.closes.Load(), ft.files)
	}
}

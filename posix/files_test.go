package posix

import (
	"math/rand/v2"
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

// install always gives the lowest free descriptor at or above its
// minimum, whatever closes and dup3s came before (the table starts its
// search at a lower bound it keeps): checked against a plain scan over
// random operations.
func TestInstallLowestFree(t *testing.T) {
	ft := newFDTable(newConsole(Config{}))
	rng := rand.New(rand.NewPCG(1, 2))
	lowest := func(min int) int {
		for fd := min; ; fd++ {
			if fd >= len(ft.fds) || ft.fds[fd].of == nil {
				return fd
			}
		}
	}
	for i := 0; i < 5000; i++ {
		switch op := rng.IntN(10); {
		case op < 4:
			min := 0
			if rng.IntN(3) == 0 {
				min = rng.IntN(40)
			}
			want := lowest(min)
			got, e := ft.install(&openFile{f: &countingFile{}}, min, false)
			if e != 0 || got != want {
				t.Fatalf("op %d: install(min %d) = %d, %v; want %d", i, min, got, e, want)
			}
		case op < 8:
			ft.closeFD(rng.IntN(45))
		default:
			old := rng.IntN(45)
			if old < len(ft.fds) && ft.fds[old].of != nil {
				ft.dupTo(old, rng.IntN(45), false)
			}
		}
	}
}

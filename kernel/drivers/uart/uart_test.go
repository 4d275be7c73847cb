package uart

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeUART plays the ns16550a and QEMU behind it: a receive FIFO the
// host fills, and an interrupt line.
type fakeUART struct {
	mu      sync.Mutex
	fifo    []byte
	overrun bool
	irq     chan struct{}
	waitErr error
}

const testBufSize = 1000

func newFake() (*fakeUART, *Receiver) {
	f := &fakeUART{irq: make(chan struct{}, 1)}
	u := newReceiver("fake", testBufSize, f.lsr, f.rbr, f.wait)
	return f, u
}

func (f *fakeUART) lsr() byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	var v byte
	if len(f.fifo) > 0 {
		v |= lsrDR
	}
	if f.overrun {
		v |= lsrOE
		f.overrun = false // cleared by reading LSR
	}
	return v
}

func (f *fakeUART) rbr() byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fifo) == 0 {
		return 0
	}
	c := f.fifo[0]
	f.fifo = f.fifo[1:]
	return c
}

func (f *fakeUART) wait() error {
	_, ok := <-f.irq
	if !ok {
		return f.waitErr
	}
	return nil
}

// send puts up to 16 bytes in the FIFO, like QEMU, and interrupts.
func (f *fakeUART) send(b []byte) int {
	f.mu.Lock()
	n := min(len(b), 16-len(f.fifo))
	f.fifo = append(f.fifo, b[:n]...)
	f.mu.Unlock()
	select {
	case f.irq <- struct{}{}:
	default: // the line is up already
	}
	return n
}

func (f *fakeUART) queued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fifo)
}

func TestReceive(t *testing.T) {
	f, u := newFake()
	go u.run()
	want := make([]byte, 20_000)
	rand.Read(want)
	copy(want, "\x04\x03\x00\r\n") // Ctrl-D is a byte like any other
	go func() {
		for rest := want; len(rest) > 0; {
			rest = rest[f.send(rest[:min(len(rest), 1+rand.Intn(16))]):]
		}
	}()
	var got []byte
	buf := make([]byte, 777)
	for len(got) < len(want) {
		n, err := u.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes differ")
	}
	// No end of file: a Read waits.
	done := make(chan struct{})
	go func() {
		u.Read(buf)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Read returned without input")
	case <-time.After(20 * time.Millisecond):
	}
	f.send([]byte("z"))
	<-done
}

func TestFullBufferHoldsHostBack(t *testing.T) {
	f, u := newFake()
	go u.run()
	total := testBufSize + 100
	go func() {
		for sent := 0; sent < total; {
			sent += f.send(bytes.Repeat([]byte{'a'}, min(16, total-sent)))
		}
	}()
	// The buffer fills; the rest stays in the FIFO (and with the host).
	deadline := time.Now().Add(5 * time.Second)
	for {
		u.mu.Lock()
		n := u.n
		u.mu.Unlock()
		if n == testBufSize && f.queued() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("buffer %d of %d, FIFO %d", n, testBufSize, f.queued())
		}
		time.Sleep(100 * time.Microsecond)
	}
	got, err := io.ReadAtLeast(u, make([]byte, total), total)
	if got != total || err != nil {
		t.Fatalf("read %d, %v", got, err)
	}
	if u.Overruns() != 0 {
		t.Fatal("overrun without one")
	}
}

func TestWaitFails(t *testing.T) {
	f, u := newFake()
	f.mu.Lock()
	f.fifo = []byte("abc")
	f.overrun = true
	f.mu.Unlock()
	f.waitErr = errors.New("no PLIC")
	close(f.irq)
	u.run() // drains, then the wait fails
	b := make([]byte, 10)
	if n, err := u.Read(b); string(b[:n]) != "abc" || err != nil {
		t.Fatalf("read %q, %v", b[:n], err)
	}
	if _, err := u.Read(b); err == nil || !strings.Contains(err.Error(), "uart: fake: no PLIC") {
		t.Fatalf("read after the wait failed: %v", err)
	}
	if u.Overruns() != 1 {
		t.Fatalf("%d overruns", u.Overruns())
	}
	if n, err := u.Read(nil); n != 0 || err != nil {
		t.Fatal("empty read")
	}
}

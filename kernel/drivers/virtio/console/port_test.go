package console

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

func testPort(open bool) (*Port, *fakeQueue, *fakeQueue, *memory) {
	mem := newMemory()
	rx, tx := newFakeQueue(rxBufs), newFakeQueue(2*txBufs)
	p := newPort(1, "fake", rx, tx, mem.alloc)
	p.update(portInfo{added: true, named: true, name: "p", hostOpen: open, everOpen: open})
	return p, rx, tx, mem
}

// readAll reads p to end of file in a goroutine, with odd-sized reads.
func readAll(p *Port) chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		var out []byte
		buf := make([]byte, 1000)
		for {
			n, err := p.Read(buf[:1+rand.Intn(len(buf))])
			out = append(out, buf[:n]...)
			if err == io.EOF {
				ch <- out
				return
			}
			if err != nil {
				ch <- append(out, "ERROR: "+err.Error()...)
				return
			}
		}
	}()
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestReadUntilHostCloses(t *testing.T) {
	p, rx, _, mem := testPort(true)
	got := readAll(p)
	want := make([]byte, 300_000)
	rand.Read(want)
	rest := want
	for len(rest) > 0 {
		// The reader gives buffers back as it goes; the device fills
		// what it has, in chunks like QEMU's chardev reads.
		n := min(len(rest), 1+rand.Intn(5000))
		left := mem.fill(rx, rest[:n])
		rest = rest[n-len(left):]
		rx.Poll()
	}
	// End of file only after all of it.
	p.update(portInfo{added: true, named: true, name: "p", everOpen: true})
	if out := <-got; !bytes.Equal(out, want) {
		t.Fatalf("read %d bytes, want %d (equal prefix: %v)", len(out), len(want), bytes.HasPrefix(want, out))
	}
	if n, err := p.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read after end of file: %d, %v", n, err)
	}
}

func TestReadFlowControl(t *testing.T) {
	p, rx, _, mem := testPort(true)
	first := make(chan int)
	go func() { // starts the receive side
		n, _ := p.Read(make([]byte, 1))
		first <- n
	}()
	waitFor(t, "receive buffers", func() bool { return rx.pending() == rxBufs })
	big := bytes.Repeat([]byte{'x'}, (rxBufs+2)*rxBufPages*virtio.PageSize)
	left := mem.fill(rx, big)
	rx.Poll()
	if n := <-first; n != 1 {
		t.Fatalf("first read %d", n)
	}
	// The first Read took one byte of the first buffer; the rest waits.
	if len(left) != 2*virtio.PageSize {
		t.Fatalf("device could place all but %d bytes; want all but two buffers", len(left))
	}
	// Reading the first buffer to its end gives it back.
	buf := make([]byte, virtio.PageSize)
	if n, _ := p.Read(buf); n != virtio.PageSize-1 {
		t.Fatalf("read %d", n)
	}
	if rx.pending() != 1 {
		t.Fatalf("%d buffers given back, want 1", rx.pending())
	}
}

func TestReadWaitsForFirstOpen(t *testing.T) {
	p, rx, _, mem := testPort(false)
	done := make(chan string)
	go func() {
		b := make([]byte, 10)
		n, err := p.Read(b)
		done <- string(b[:n]) + "|" + errString(err)
	}()
	select {
	case r := <-done:
		t.Fatalf("Read before the host opened the port returned %q", r)
	case <-time.After(20 * time.Millisecond):
	}
	p.update(portInfo{added: true, named: true, name: "p", hostOpen: true, everOpen: true})
	waitFor(t, "receive buffers", func() bool { return rx.pending() == rxBufs })
	mem.fill(rx, []byte("hi"))
	rx.Poll()
	if r := <-done; r != "hi|" {
		t.Fatalf("Read = %q", r)
	}
}

func TestReadReopen(t *testing.T) {
	p, rx, _, mem := testPort(true)
	p.update(portInfo{added: true, named: true, name: "p", everOpen: true})
	if _, err := p.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read of a closed port: %v", err)
	}
	p.update(portInfo{added: true, named: true, name: "p", hostOpen: true, everOpen: true})
	mem.fill(rx, []byte("again"))
	rx.Poll()
	b := make([]byte, 10)
	if n, err := p.Read(b); string(b[:n]) != "again" || err != nil {
		t.Fatalf("read after reopening: %q, %v", b[:n], err)
	}
}

func TestReadRemovedAndBroken(t *testing.T) {
	p, rx, _, mem := testPort(true)
	go func() {
		waitFor(t, "receive buffers", func() bool { return rx.pending() == rxBufs })
		mem.fill(rx, []byte("last"))
		rx.Poll()
		p.update(portInfo{}) // removed
	}()
	if out := <-readAll(p); string(out) != "last" {
		t.Fatalf("removed port read %q", out)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrRemoved) {
		t.Fatalf("write to a removed port: %v", err)
	}

	p, rx, _, mem = testPort(true)
	go func() {
		waitFor(t, "receive buffers", func() bool { return rx.pending() == rxBufs })
		mem.fill(rx, []byte("ok"))
		rx.fail(errors.New("device gone"))
		rx.Poll()
	}()
	if out := <-readAll(p); !strings.HasPrefix(string(out), "okERROR: ") || !strings.Contains(string(out), "device gone") {
		t.Fatalf("broken queue read %q", out)
	}

	p, _, _, mem = testPort(true)
	mem.fail = true
	if _, err := p.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "receive buffers") {
		t.Fatalf("read without memory: %v", err)
	}
}

// device serves a transmit queue until stop: it takes what is posted,
// at its own pace, and interrupts.
func device(tx *fakeQueue, mem *memory, out *bytes.Buffer, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if rand.Intn(3) == 0 {
				time.Sleep(10 * time.Microsecond)
			}
			// One request at a time, as a slow host would.
			if r, ok := tx.take(); ok {
				for _, b := range r.bufs {
					if b.DeviceWrites {
						panic("device-writable transmit buffer")
					}
					out.Write(mem.at(b))
				}
				tx.complete(r, 0)
			}
			tx.Poll()
		}
	}()
	return &wg
}

func TestWriteOrder(t *testing.T) {
	p, _, tx, mem := testPort(true)
	var out bytes.Buffer
	stop := make(chan struct{})
	wg := device(tx, mem, &out, stop)
	const writers, writes = 4, 20
	var ws sync.WaitGroup
	lens := make([][]int, writers)
	for w := range writers {
		ws.Add(1)
		go func() {
			defer ws.Done()
			for i := range writes {
				// A block: writer, index, payload, end mark.
				n := rand.Intn(3 * txBufPages * virtio.PageSize)
				lens[w] = append(lens[w], n)
				b := append([]byte{0xf0 | byte(w), byte(i)}, bytes.Repeat([]byte{'a' + byte(w)}, n)...)
				b = append(b, 0xee)
				if k, err := p.Write(b); k != len(b) || err != nil {
					t.Errorf("write = %d, %v", k, err)
				}
			}
		}()
	}
	ws.Wait()
	close(stop)
	wg.Wait()
	// Each Write must arrive whole, and each writer's in its order.
	b := out.Bytes()
	next := make([]int, writers)
	for len(b) > 0 {
		w := int(b[0] &^ 0xf0)
		if b[0]&0xf0 != 0xf0 || w >= writers || len(b) < 2 || int(b[1]) != next[w] {
			t.Fatalf("block starts with % x", b[:min(len(b), 2)])
		}
		n := lens[w][next[w]]
		if len(b) < n+3 || !bytes.Equal(b[2:2+n], bytes.Repeat([]byte{'a' + byte(w)}, n)) || b[2+n] != 0xee {
			t.Fatalf("writer %d block %d is not whole", w, next[w])
		}
		next[w]++
		b = b[n+3:]
	}
	for w, n := range next {
		if n != writes {
			t.Fatalf("writer %d: %d blocks arrived", w, n)
		}
	}
}

func TestWriteChunks(t *testing.T) { writeChunks(t) }

// TestWriteChunksSmallRAM writes through the buffers a small machine
// gets: the same bytes arrive, in more requests.
func TestWriteChunksSmallRAM(t *testing.T) {
	defer func(n int) { txBufPages = n }(txBufPages)
	SizeForRAM(smallRAM)
	if txBufPages != 8 {
		t.Fatalf("at 64 MiB: %d pages a buffer, want 8", txBufPages)
	}
	SizeForRAM(16 << 20)
	if txBufPages != smallTxBufPages {
		t.Fatalf("at 16 MiB: %d pages a buffer, want %d", txBufPages, smallTxBufPages)
	}
	writeChunks(t)
}

func writeChunks(t *testing.T) {
	p, _, tx, mem := testPort(false) // not open on the host: written all the same
	var out bytes.Buffer
	stop := make(chan struct{})
	wg := device(tx, mem, &out, stop)
	b := make([]byte, 10*txBufPages*virtio.PageSize+1)
	rand.Read(b)
	if n, err := p.Write(b); n != len(b) || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	if n, err := p.Write(nil); n != 0 || err != nil {
		t.Fatalf("empty write = %d, %v", n, err)
	}
	close(stop)
	wg.Wait()
	if !bytes.Equal(out.Bytes(), b) {
		t.Fatal("bytes differ")
	}
}

func TestWriteBroken(t *testing.T) {
	p, _, tx, mem := testPort(true)
	chunk := txBufPages * virtio.PageSize
	go func() {
		// Take two chunks, then break.
		for taken := 0; taken < 2; {
			if r, ok := tx.take(); ok {
				mem.at(r.bufs[0])
				tx.complete(r, 0)
				taken++
			}
		}
		tx.fail(errors.New("device gone"))
		tx.Poll()
	}()
	n, err := p.Write(make([]byte, 10*chunk))
	if n != 2*chunk || err == nil || !strings.Contains(err.Error(), "device gone") {
		t.Fatalf("write = %d, %v; want %d and an error", n, err, 2*chunk)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

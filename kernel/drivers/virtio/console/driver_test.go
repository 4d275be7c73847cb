package console

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// fakeSerial is a virtio-serial device as QEMU implements it: it answers
// control messages before it completes them, and drops a control
// message when no receive buffer is posted.
type fakeSerial struct {
	mem    *memory
	ctrlRx *fakeQueue
	rx, tx []*fakeQueue

	mu        sync.Mutex
	ports     map[uint32]*fakeHostPort
	guestOpen map[uint32]bool
	refused   []uint32 // PORT_READY 0
	dropped   int
	sent      []string // the driver's messages, in order
}

type fakeHostPort struct {
	name     string // "" for none
	hostOpen bool
	console  bool
}

func newFakeSerial(t *testing.T, nports int, ports map[uint32]*fakeHostPort) (*fakeSerial, *driver, *[]string) {
	mem := newMemory()
	f := &fakeSerial{mem: mem, ctrlRx: newFakeQueue(ctrlRxBufs), ports: ports, guestOpen: map[uint32]bool{}}
	for range nports {
		f.rx = append(f.rx, newFakeQueue(rxBufs))
		f.tx = append(f.tx, newFakeQueue(2*txBufs))
	}
	all, err := mem.alloc(1 + ctrlRxBufs*ctrlRxBufSize/virtio.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	var rxBufs []dmaBuf
	for i := range ctrlRxBufs {
		off := virtio.PageSize + i*ctrlRxBufSize
		rxBufs = append(rxBufs, dmaBuf{mem: all.mem[off : off+ctrlRxBufSize], addr: all.addr + uintptr(off)})
	}
	var logMu sync.Mutex
	logs := &[]string{}
	d := newDriver("fake", nports, f.ctrlRx, f, rxBufs, dmaBuf{mem: all.mem[:virtio.PageSize], addr: all.addr},
		func(id uint32) (queue, queue) { return f.rx[id], f.tx[id] }, mem.alloc,
		func(format string, args ...any) {
			logMu.Lock()
			*logs = append(*logs, fmt.Sprintf(format, args...))
			logMu.Unlock()
		})
	return f, d, logs
}

// Do is the control transmit queue.
func (f *fakeSerial) Do(bufs ...virtio.Buf) (uint32, error) {
	m, err := decodeCtrl(f.mem.at(bufs[0]))
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m.String())
	switch m.event {
	case evDeviceReady:
		for id := range uint32(64) {
			if f.ports[id] != nil {
				f.sendLocked(ctrlMsg{id: id, event: evPortAdd})
			}
		}
	case evPortReady:
		p := f.ports[m.id]
		if m.value == 0 {
			f.refused = append(f.refused, m.id)
			break
		}
		if p.console {
			f.sendLocked(ctrlMsg{id: m.id, event: evConsolePort, value: 1})
		}
		if p.name != "" {
			f.sendLocked(ctrlMsg{id: m.id, event: evPortName, value: 1, data: []byte(p.name + "\x00")})
		}
		if p.hostOpen {
			f.sendLocked(ctrlMsg{id: m.id, event: evPortOpen, value: 1})
		}
	case evPortOpen:
		f.guestOpen[m.id] = m.value == 1
	}
	return 0, nil
}

func (f *fakeSerial) send(m ctrlMsg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendLocked(m)
}

func (f *fakeSerial) sendLocked(m ctrlMsg) {
	r, ok := f.ctrlRx.take()
	if !ok {
		f.dropped++
		return
	}
	b := f.mem.at(r.bufs[0])
	n := m.encode(b)
	n += copy(b[n:], m.data)
	f.ctrlRx.complete(r, uint32(n))
}

func TestHandshake(t *testing.T) {
	f, d, logs := newFakeSerial(t, 4, map[uint32]*fakeHostPort{
		0: {console: true},
		1: {name: "runikraft.stdin", hostOpen: true},
		2: {name: "runikraft.stdout", hostOpen: true},
		3: {name: "runikraft.stderr"},
		5: {name: "beyond"},
	})
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	if got := d.names(); !reflect.DeepEqual(got, []string{"runikraft.stdin", "runikraft.stdout", "runikraft.stderr"}) {
		t.Fatalf("names %q; device got %q, dropped %d; log %q", got, f.sent, f.dropped, *logs)
	}
	f.mu.Lock()
	want := []string{
		"DEVICE_READY port 0 value 1",
		"PORT_READY port 0 value 1", "PORT_READY port 1 value 1", "PORT_READY port 2 value 1",
		"PORT_READY port 3 value 1", "PORT_READY port 5 value 0",
		"PORT_OPEN port 0 value 1", // the console port
	}
	if !reflect.DeepEqual(f.sent, want) || f.dropped != 0 {
		t.Errorf("driver sent %q (%d dropped), want %q", f.sent, f.dropped, want)
	}
	f.mu.Unlock()
	if len(*logs) != 1 || !strings.Contains((*logs)[0], "PORT_ADD port 5") {
		t.Errorf("log %q", *logs)
	}

	p, err := d.open("runikraft.stdout")
	if err != nil || p.ID() != 2 || !p.HostConnected() || p.String() != `virtio-console port 2 "runikraft.stdout" (fake)` {
		t.Fatalf("open = %v, %v", p, err)
	}
	if q, _ := d.open("runikraft.stdout"); q != p {
		t.Fatal("second open gave another Port")
	}
	if p, _ := d.open("runikraft.stderr"); p.HostConnected() {
		t.Fatal("stderr host side open")
	}
	f.mu.Lock()
	if !f.guestOpen[2] || !f.guestOpen[3] || f.guestOpen[1] || len(f.sent) != len(want)+2 {
		t.Errorf("guest open %v after %q", f.guestOpen, f.sent)
	}
	f.mu.Unlock()
	if _, err := d.open("nope"); !errors.Is(err, ErrNoPort) {
		t.Fatalf("open of a missing name: %v", err)
	}
}

// The device fills the port's receive buffers and then, on the control
// queue, says the host closed the port. If the control queue is looked
// at first, the data must still come before end of file.
func TestEOFAfterData(t *testing.T) {
	f, d, _ := newFakeSerial(t, 2, map[uint32]*fakeHostPort{1: {name: "in", hostOpen: true}})
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	p, err := d.open("in")
	if err != nil {
		t.Fatal(err)
	}
	// Start the receive side with a first byte.
	first := make(chan error)
	go func() {
		_, err := p.Read(make([]byte, 1))
		first <- err
	}()
	waitFor(t, "receive buffers", func() bool { return f.rx[1].pending() == rxBufs })
	f.mem.fill(f.rx[1], []byte("x"))
	f.rx[1].Poll()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		waitFor(t, "receive buffers", func() bool { return f.rx[1].pending() == rxBufs })
		data := []byte(strings.Repeat(fmt.Sprint(round), 5000+round))
		if left := f.mem.fill(f.rx[1], data); len(left) != 0 {
			t.Fatal("data does not fit")
		}
		f.send(ctrlMsg{id: 1, event: evPortOpen, value: 0})
		f.ctrlRx.Poll() // the control queue only
		out, err := io.ReadAll(p)
		if err != nil || string(out) != string(data) {
			t.Fatalf("round %d: read %d bytes before end of file (%v), want %d", round, len(out), err, len(data))
		}
		// The host reopens the port (a new connection).
		f.send(ctrlMsg{id: 1, event: evPortOpen, value: 1})
		f.ctrlRx.Poll()
	}
	if f.dropped != 0 {
		t.Fatalf("%d control messages dropped", f.dropped)
	}
}

// Ports the device adds later are found once named.
func TestHotplug(t *testing.T) {
	f, d, _ := newFakeSerial(t, 4, map[uint32]*fakeHostPort{1: {name: "a"}})
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.ports[2] = &fakeHostPort{name: "b", hostOpen: true}
	f.mu.Unlock()
	f.send(ctrlMsg{id: 2, event: evPortAdd})
	f.ctrlRx.Poll()
	if err := d.settle(); err != nil {
		t.Fatal(err)
	}
	p, err := d.open("b")
	if err != nil || !p.HostConnected() {
		t.Fatalf("hot-plugged port: %v, %v", p, err)
	}
	// Removed: reads end, writes fail, the name is gone.
	f.send(ctrlMsg{id: 2, event: evPortRemove})
	f.ctrlRx.Poll()
	if _, err := p.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read of a removed port: %v", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrRemoved) {
		t.Fatalf("write to a removed port: %v", err)
	}
	if _, err := d.open("b"); !errors.Is(err, ErrNoPort) {
		t.Fatalf("open of a removed port: %v", err)
	}
}

// Many events in a row never run the device out of control buffers.
func TestControlBuffersRecycled(t *testing.T) {
	f, d, _ := newFakeSerial(t, 2, map[uint32]*fakeHostPort{1: {name: "a"}})
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	p, err := d.open("a")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		f.send(ctrlMsg{id: 1, event: evPortOpen, value: uint16(i % 2)})
		if i%(ctrlRxBufs-1) == 0 {
			f.ctrlRx.Poll()
		}
	}
	f.ctrlRx.Poll()
	if f.dropped != 0 || !p.HostConnected() {
		t.Fatalf("%d dropped; host connected %v", f.dropped, p.HostConnected())
	}
}

func TestControlQueueBroken(t *testing.T) {
	f, d, _ := newFakeSerial(t, 2, map[uint32]*fakeHostPort{1: {name: "a"}})
	f.ctrlRx.fail(errors.New("device gone"))
	if err := d.start(); err == nil || !strings.Contains(err.Error(), "device gone") {
		t.Fatalf("start with a broken control queue: %v", err)
	}
}

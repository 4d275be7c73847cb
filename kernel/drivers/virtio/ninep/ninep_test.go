package ninep

import (
	"bytes"
	"errors"
	"testing"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
)

// fakeDevice plays virtio-9p over buffers at made-up device addresses:
// it records the request and writes reply (or claims n bytes).
type fakeDevice struct {
	mem   map[uintptr][]byte
	req   []byte
	reply []byte
	claim uint32 // if not 0, the length reported instead of len(reply)
}

func (f *fakeDevice) Do(bufs ...virtio.Buf) (uint32, error) {
	if len(bufs) != 2 || bufs[0].DeviceWrites || !bufs[1].DeviceWrites {
		return 0, errors.New("bad chain")
	}
	f.req = append([]byte(nil), f.mem[bufs[0].Addr][:bufs[0].Len]...)
	in := f.mem[bufs[1].Addr][:bufs[1].Len]
	n := copy(in, f.reply)
	if f.claim != 0 {
		return f.claim, nil
	}
	return uint32(n), nil
}

func newFake(bigSize int) (*Transport, *fakeDevice) {
	f := &fakeDevice{mem: map[uintptr][]byte{}}
	small := make([]byte, 2*Slots*smallSize)
	big := make([]byte, bigSize)
	for i := 0; i < 2*Slots; i++ {
		f.mem[0x1000_0000+uintptr(i*smallSize)] = small[i*smallSize:]
	}
	f.mem[0x2000_0000] = big
	return newTransport("t", f, dmaBuf{small, 0x1000_0000}, dmaBuf{big, 0x2000_0000}), f
}

func TestRoundTrip(t *testing.T) {
	tr, f := newFake(1 << 20)
	if tr.Msize() != 1<<20 {
		t.Fatalf("Msize = %d", tr.Msize())
	}
	// A read: small request, the data part of the reply in the big buffer.
	req := []byte{23, 0, 0, 0, 116, 9, 0, 1, 2, 3}
	f.reply = append([]byte{20, 0, 0, 0, 117, 0, 0, 9, 0, 0, 0}, bytes.Repeat([]byte{'d'}, 9)...)
	hdr := make([]byte, 11)
	data := make([]byte, 1<<19)
	n, err := tr.RoundTrip(req, nil, hdr, data)
	if err != nil || n != 20 {
		t.Fatalf("RoundTrip = %d, %v", n, err)
	}
	if f.req[5] != 0 && f.req[5] >= Slots || f.req[6] != 0 {
		t.Errorf("wire tag %d %d is not a slot number", f.req[5], f.req[6])
	}
	if hdr[5] != 9 || hdr[6] != 0 || string(data[:9]) != "ddddddddd" {
		t.Errorf("reply header %v data %q: the caller's tag and the data expected", hdr, data[:9])
	}
	// A write: the payload travels in the big buffer after the header.
	f.reply = []byte{11, 0, 0, 0, 119, 0, 0, 4, 0, 0, 0}
	f.reply[5] = 0
	resp := make([]byte, 64)
	if _, err := tr.RoundTrip([]byte{0, 0, 0, 0, 118, 5, 0}, bytes.Repeat([]byte{'w'}, 100000), resp, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.req) != 100007 || f.req[7] != 'w' {
		t.Errorf("device got %d bytes", len(f.req))
	}
	// A reply whose tag is not the request's stays a mismatch.
	f.reply = []byte{11, 0, 0, 0, 119, 0x77, 0, 4, 0, 0, 0}
	tr.RoundTrip([]byte{0, 0, 0, 0, 118, 5, 0}, nil, resp, nil)
	if resp[5] == 5 && resp[6] == 0 {
		t.Error("a reply with a foreign tag was given the caller's")
	}
	// NOTAG (Tversion) is kept as it is.
	f.reply = []byte{7, 0, 0, 0, 101, 0xff, 0xff}
	tr.RoundTrip([]byte{7, 0, 0, 0, 100, 0xff, 0xff}, nil, resp, nil)
	if f.req[5] != 0xff || f.req[6] != 0xff || resp[5] != 0xff || resp[6] != 0xff {
		t.Errorf("NOTAG changed: request %v reply %v", f.req[:7], resp[:7])
	}
}

func TestRoundTripRefuses(t *testing.T) {
	tr, f := newFake(64 << 10)
	big := make([]byte, 64<<10)
	if _, err := tr.RoundTrip(make([]byte, 7), big[:20000], nil, big[:20000]); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large both ways: %v", err)
	}
	if _, err := tr.RoundTrip(make([]byte, 7), make([]byte, 64<<10), nil, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("larger than msize: %v", err)
	}
	// A device claiming more than the buffer it was given.
	f.claim = 1 << 30
	if _, err := tr.RoundTrip(make([]byte, 7), nil, make([]byte, 11), nil); err == nil {
		t.Error("a device claiming 1 GiB was believed")
	}
	// Every slot came back.
	if len(tr.slots) != Slots {
		t.Errorf("%d slots free after the calls; want %d", len(tr.slots), Slots)
	}
}

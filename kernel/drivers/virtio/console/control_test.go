package console

import (
	"bytes"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	var b [ctrlHeaderSize]byte
	m := ctrlMsg{id: 0x01020304, event: evPortOpen, value: 1}
	if n := m.encode(b[:]); n != ctrlHeaderSize {
		t.Fatalf("encode wrote %d bytes", n)
	}
	// struct virtio_console_control, little-endian.
	if want := []byte{4, 3, 2, 1, 6, 0, 1, 0}; !bytes.Equal(b[:], want) {
		t.Fatalf("encoded % x, want % x", b, want)
	}
	got, err := decodeCtrl(b[:])
	if err != nil || got.id != m.id || got.event != m.event || got.value != m.value || len(got.data) != 0 {
		t.Fatalf("decode = %+v, %v", got, err)
	}
}

func TestDecodeName(t *testing.T) {
	// What QEMU sends: header, name, NUL.
	msg := append([]byte{2, 0, 0, 0, 7, 0, 1, 0}, "runikraft.stdout\x00"...)
	m, err := decodeCtrl(msg)
	if err != nil || m.id != 2 || m.event != evPortName {
		t.Fatalf("decode = %+v, %v", m, err)
	}
	if name := portName(m.data); name != "runikraft.stdout" {
		t.Fatalf("name %q", name)
	}
	if name := portName([]byte("no-nul")); name != "no-nul" {
		t.Fatalf("name without NUL %q", name)
	}
	if got := m.String(); got != `PORT_NAME port 2 "runikraft.stdout"` {
		t.Fatalf("String = %q", got)
	}
	if got := (ctrlMsg{id: 1, event: 42}).String(); got != "event 42 port 1 value 0" {
		t.Fatalf("String = %q", got)
	}
}

func TestDecodeShort(t *testing.T) {
	if _, err := decodeCtrl(make([]byte, 7)); err == nil {
		t.Fatal("7-byte message accepted")
	}
}

func TestQueueNumbers(t *testing.T) {
	for _, tt := range []struct {
		id     uint32
		rx, tx int
	}{{0, 0, 1}, {1, 4, 5}, {2, 6, 7}, {31, 64, 65}} {
		if rxQueue(tt.id) != tt.rx || txQueue(tt.id) != tt.tx {
			t.Errorf("port %d: queues %d, %d; want %d, %d", tt.id, rxQueue(tt.id), txQueue(tt.id), tt.rx, tt.tx)
		}
	}
}

package net

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// hdr encodes a header of size bytes.
func hdr(size int, h header) []byte {
	b := make([]byte, size)
	b[0], b[1] = h.flags, h.gsoType
	binary.LittleEndian.PutUint16(b[2:], h.hdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.gsoSize)
	binary.LittleEndian.PutUint16(b[6:], h.csumStart)
	binary.LittleEndian.PutUint16(b[8:], h.csumOffset)
	if size >= hdrLenModern {
		binary.LittleEndian.PutUint16(b[10:], h.numBuffers)
	}
	return b
}

func frameOf(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i)
	}
	return f
}

func TestSingleBufferFrame(t *testing.T) {
	for _, size := range []int{hdrLenLegacy, hdrLenModern} {
		a := assembler{hdrLen: size, merge: size == hdrLenModern, maxFrame: maxFrame}
		f := frameOf(60, 1)
		buf := append(hdr(size, header{numBuffers: 1, flags: flagDataValid}), f...)
		buf = append(buf, make([]byte, 100)...) // slack the device did not write
		got, ok, err := a.add(buf, uint32(size+len(f)))
		if err != nil || !ok || !bytes.Equal(got.frame, f) || !got.csumValid {
			t.Fatalf("hdr %d: got %v %v %v", size, got, ok, err)
		}
	}
}

func TestMergedFrame(t *testing.T) {
	a := assembler{hdrLen: hdrLenModern, merge: true, maxFrame: maxFrame}
	f := frameOf(1400, 7)
	b1 := append(hdr(hdrLenModern, header{numBuffers: 3}), f[:500]...)
	if _, ok, err := a.add(b1, uint32(len(b1))); ok || err != nil {
		t.Fatalf("first buffer: ok %v err %v", ok, err)
	}
	if _, ok, err := a.add(f[500:1000], 500); ok || err != nil {
		t.Fatalf("second buffer: ok %v err %v", ok, err)
	}
	got, ok, err := a.add(f[1000:], 400)
	if !ok || err != nil || !bytes.Equal(got.frame, f) {
		t.Fatalf("third buffer: ok %v err %v len %d", ok, err, len(got.frame))
	}
	// The next buffer starts a new frame.
	g := frameOf(80, 3)
	got, ok, err = a.add(append(hdr(hdrLenModern, header{numBuffers: 1}), g...), uint32(hdrLenModern+len(g)))
	if !ok || err != nil || !bytes.Equal(got.frame, g) {
		t.Fatalf("next frame: ok %v err %v", ok, err)
	}
}

func TestHostileBuffers(t *testing.T) {
	long := frameOf(maxFrame+1, 0)
	for _, tc := range []struct {
		name string
		buf  []byte
		n    uint32
	}{
		{"short", []byte{1, 2, 3}, 3},
		{"header only", hdr(hdrLenModern, header{numBuffers: 1}), hdrLenModern},
		{"runt frame", append(hdr(hdrLenModern, header{numBuffers: 1}), 1, 2, 3), hdrLenModern + 3},
		{"zero buffers", append(hdr(hdrLenModern, header{}), frameOf(60, 0)...), hdrLenModern + 60},
		{"too many buffers", append(hdr(hdrLenModern, header{numBuffers: maxMerge + 1}), frameOf(60, 0)...), hdrLenModern + 60},
		{"gso", append(hdr(hdrLenModern, header{numBuffers: 1, gsoType: 1}), frameOf(60, 0)...), hdrLenModern + 60},
		{"too long", append(hdr(hdrLenModern, header{numBuffers: 1}), long...), uint32(hdrLenModern + len(long))},
		{"csum outside", append(hdr(hdrLenModern, header{numBuffers: 1, flags: flagNeedsCsum, csumStart: 50, csumOffset: 20}), frameOf(60, 0)...), hdrLenModern + 60},
	} {
		a := assembler{hdrLen: hdrLenModern, merge: true, maxFrame: maxFrame}
		if _, ok, err := a.add(tc.buf, tc.n); ok || err == nil {
			t.Errorf("%s: accepted (ok %v err %v)", tc.name, ok, err)
		}
	}
}

// A merged frame that grows too long is dropped whole, and the
// assembler is back in step after its last buffer.
func TestMergedTooLong(t *testing.T) {
	a := assembler{hdrLen: hdrLenModern, merge: true, maxFrame: 1000}
	b1 := append(hdr(hdrLenModern, header{numBuffers: 3}), frameOf(600, 0)...)
	a.add(b1, uint32(len(b1)))
	if _, ok, err := a.add(frameOf(600, 0), 600); ok || err == nil {
		t.Fatalf("overlong merge: ok %v err %v", ok, err)
	}
	if _, ok, err := a.add(frameOf(10, 0), 10); ok || err != nil {
		t.Fatalf("rest of dropped frame: ok %v err %v", ok, err)
	}
	g := frameOf(80, 3)
	got, ok, err := a.add(append(hdr(hdrLenModern, header{numBuffers: 1}), g...), uint32(hdrLenModern+len(g)))
	if !ok || err != nil || !bytes.Equal(got.frame, g) {
		t.Fatalf("next frame: ok %v err %v", ok, err)
	}
}

// finishChecksum against a UDP datagram whose checksum is known.
func TestFinishChecksum(t *testing.T) {
	// 8-byte UDP header + "hi", checksum field holding the pseudo-header
	// sum as a device leaves it.
	seg := []byte{0x30, 0x39, 0x00, 0x35, 0x00, 0x0a, 0, 0, 'h', 'i'}
	src, dst := []byte{10, 0, 2, 15}, []byte{10, 0, 2, 3}
	var ph uint32
	for _, a := range [][]byte{src, dst} {
		ph += uint32(a[0])<<8 | uint32(a[1]) + uint32(a[2])<<8 | uint32(a[3])
	}
	ph += 17 + uint32(len(seg))
	for ph > 0xffff {
		ph = ph>>16 + ph&0xffff
	}
	binary.BigEndian.PutUint16(seg[6:], uint16(ph))
	frame := append(make([]byte, 34), seg...) // Ethernet + IPv4 headers before it
	if err := finishChecksum(frame, 34, 6); err != nil {
		t.Fatal(err)
	}
	// Check: the full sum over pseudo-header and segment folds to 0xffff.
	var sum uint32
	for _, a := range [][]byte{src, dst} {
		sum += uint32(a[0])<<8 | uint32(a[1]) + uint32(a[2])<<8 | uint32(a[3])
	}
	sum += 17 + uint32(len(seg))
	s := frame[34:]
	for i := 0; i+1 < len(s); i += 2 {
		sum += uint32(s[i])<<8 | uint32(s[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	if sum != 0xffff {
		t.Fatalf("sum with the completed checksum %#x, want 0xffff", sum)
	}
}

// FuzzReceive feeds the assembler arbitrary buffers and used lengths, as
// a hostile device would: it must not panic, must never return a frame
// outside the bounds, and a returned frame must lie within what the
// device wrote.
func FuzzReceive(f *testing.F) {
	f.Add(append(hdr(hdrLenModern, header{numBuffers: 1}), frameOf(60, 0)...), uint32(72), uint32(0), true, []byte{})
	f.Add(append(hdr(hdrLenModern, header{numBuffers: 2, flags: flagNeedsCsum, csumStart: 14, csumOffset: 6}), frameOf(40, 0)...), uint32(52), uint32(30), true, frameOf(30, 5))
	f.Add(hdr(hdrLenLegacy, header{}), uint32(1<<31), uint32(5), false, []byte{1})
	f.Fuzz(func(t *testing.T, first []byte, n1, n2 uint32, merge bool, second []byte) {
		size := hdrLenLegacy
		if merge {
			size = hdrLenModern
		}
		a := assembler{hdrLen: size, merge: merge, maxFrame: maxFrame}
		for _, step := range []struct {
			b []byte
			n uint32
		}{{first, n1}, {second, n2}, {first, n1}} {
			got, ok, err := a.add(step.b, step.n)
			if ok && err != nil {
				t.Fatalf("frame and error: %v", err)
			}
			if ok && (len(got.frame) < ethHeaderLen || len(got.frame) > maxFrame) {
				t.Fatalf("frame of %d bytes", len(got.frame))
			}
			if len(a.scratch) > maxFrame {
				t.Fatalf("scratch grew to %d", len(a.scratch))
			}
			if a.left < 0 || a.left >= maxMerge {
				t.Fatalf("left %d", a.left)
			}
		}
	})
}

package virtio

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"unsafe"
)

// FuzzUsedRing plays a hostile device: the driver publishes chains, and
// the device writes whatever used index and used entries the fuzzer
// gives (the table's descriptors too). The driver must never panic,
// report a head it did not have in flight or more bytes than the chain
// could take, or lose track of its free descriptors; a protocol breach is
// an error, after which the queue is not used again.
func FuzzUsedRing(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 16, 0, 0, 0})
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 7, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{200, 5, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		const n = 8
		r := newRing(queueMem(n), n)
		buf := make([]byte, 64)
		inFlight := map[uint16]uint32{} // head → writable bytes
		for i := 0; i < 4; i++ {        // chains of one, two, three and one buffers: 7 of 8 descriptors
			bufs := []Buf{{Addr: addr(buf), Len: 16}}
			for k := 0; k < i%3; k++ {
				bufs = append(bufs, Buf{Addr: addr(buf), Len: 24, DeviceWrites: true})
			}
			head, err := r.push(bufs)
			if err != nil {
				t.Fatalf("push: %v", err)
			}
			inFlight[head] = uint32(24 * (i % 3))
		}
		for len(in) >= 9 {
			// One step: the device's used index, one used entry, and a
			// scribble on a descriptor.
			idx := binary.LittleEndian.Uint16(in[0:])
			slot := in[2] % n
			id := binary.LittleEndian.Uint32(in[3:])
			ln := binary.LittleEndian.Uint16(in[7:])
			in = in[9:]
			r.usedRing[slot] = usedElem{id: id, len: uint32(ln)}
			r.desc[slot%n].next = uint16(id)
			atomic.StoreUint32(r.usedHdr, uint32(idx)<<16)
			for k := 0; k < n+1; k++ {
				head, written, ok, err := r.pop()
				if err != nil {
					return // broken device: the driver stops using the queue
				}
				if !ok {
					break
				}
				want, was := inFlight[head]
				if !was {
					t.Fatalf("pop gave head %d, which was not in flight", head)
				}
				if written > want {
					t.Fatalf("pop says %d bytes written into a chain taking %d", written, want)
				}
				delete(inFlight, head)
				if r.nfree > n {
					t.Fatalf("%d free descriptors in a ring of %d", r.nfree, n)
				}
			}
		}
	})
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

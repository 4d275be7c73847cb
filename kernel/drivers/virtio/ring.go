package virtio

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// The split virtqueue (virtio 1.1 §2.6), in one block of memory the
// device shares: the descriptor table, the available ring (driver to
// device) and the used ring (device to driver). The legacy interface
// needs exactly this layout, with the used ring at the next QueueAlign
// (PageSize) boundary; the modern one takes three addresses and is given
// the same layout.
//
// Ring fields are little-endian, as on riscv64 (and the hosts the tests
// run on): legacy devices use the guest's byte order, modern ones
// little-endian.

// Descriptor flags.
const (
	descNext  = 1 // the chain continues in next
	descWrite = 2 // device-writable
)

// desc is one entry of the descriptor table (16 bytes).
type desc struct {
	addr  uint64
	len   uint32
	flags uint16
	next  uint16
}

// usedElem is one entry of the used ring (8 bytes).
type usedElem struct {
	id  uint32 // head of the chain
	len uint32 // bytes the device wrote
}

// layout is where the parts of a queue of a given size lie, as offsets
// from the descriptor table.
type layout struct {
	avail uintptr // flags, idx, ring[n], used_event
	used  uintptr // flags, idx, ring[n], avail_event; PageSize-aligned
	size  uintptr // whole pages
}

func layoutFor(n uint16) layout {
	avail := 16 * uintptr(n)
	used := alignUp(avail+6+2*uintptr(n), PageSize)
	return layout{avail: avail, used: used, size: alignUp(used+6+8*uintptr(n), PageSize)}
}

// validSize reports whether n can be a split queue's size: a power of two
// up to 32768 (§2.6).
func validSize(n int) bool { return n > 0 && n <= 32768 && n&(n-1) == 0 }

// errNoRoom means the chain does not fit in the free descriptors now; it
// will once earlier requests complete.
var errNoRoom = errors.New("virtio: no free descriptors")

// ring is the driver's side of a split virtqueue. It is not safe for
// concurrent use (Queue locks it). Free descriptors and chains are
// tracked in shadow arrays in Go memory rather than through desc.next,
// so that a device scribbling on the table cannot corrupt the free list.
type ring struct {
	n         uint16
	desc      []desc
	availHdr  *uint32 // avail flags (low half) and idx (high half)
	availRing []uint16
	usedHdr   *uint32 // used flags (low half) and idx (high half)
	usedRing  []usedElem

	next     []uint16 // shadow next links: free list and in-flight chains
	chainLen []uint16 // descriptors in the chain at each in-flight head; 0 = not in flight
	writable []uint32 // device-writable bytes of the chain at each head
	free     uint16   // head of the free list
	nfree    uint16
	avail    uint16 // avail idx last published
	used     uint16 // used idx of the next completion to take

	availFlags uint32 // the avail ring's flags: availNoInterrupt or 0
	noIntr     bool   // the driver asked for no interrupts (setInterrupts)
	draining   bool   // completions are being taken: no interrupts meanwhile (setDraining)
}

// availNoInterrupt is VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.7): the driver
// asks the device not to interrupt when it uses buffers. A hint only.
const availNoInterrupt = 1

// setInterrupts records whether the driver wants interrupts and
// publishes it (unless a drain keeps them off for now).
func (r *ring) setInterrupts(on bool) {
	r.noIntr = !on
	r.publishFlags()
}

// setDraining switches interrupts off while the driver takes
// completions off the used ring anyway, and back to the driver's wish
// after. The caller must look at the used ring again after switching
// them back on (more): a completion published before the device saw the
// flag cleared raised no interrupt.
func (r *ring) setDraining(on bool) {
	r.draining = on
	r.publishFlags()
}

func (r *ring) publishFlags() {
	r.availFlags = 0
	if r.noIntr || r.draining {
		r.availFlags = availNoInterrupt
	}
	atomic.StoreUint32(r.availHdr, uint32(r.avail)<<16|r.availFlags)
}

// wantsInterrupts says whether the driver asked for interrupts.
func (r *ring) wantsInterrupts() bool { return !r.noIntr }

// more says whether the used ring holds a completion not yet taken. Its
// atomic load follows publishFlags' atomic store in a sequentially
// consistent order, so a completion the device published before it read
// the cleared flag is seen here, and any later one interrupts.
func (r *ring) more() bool {
	return uint16(atomic.LoadUint32(r.usedHdr)>>16) != r.used
}

// newRing lays a ring of n descriptors (validSize) over zeroed memory of
// layoutFor(n).size bytes at mem.
func newRing(mem unsafe.Pointer, n uint16) *ring {
	l := layoutFor(n)
	r := &ring{
		n:         n,
		desc:      unsafe.Slice((*desc)(mem), n),
		availHdr:  (*uint32)(unsafe.Add(mem, l.avail)),
		availRing: unsafe.Slice((*uint16)(unsafe.Add(mem, l.avail+4)), n),
		usedHdr:   (*uint32)(unsafe.Add(mem, l.used)),
		usedRing:  unsafe.Slice((*usedElem)(unsafe.Add(mem, l.used+4)), n),
		next:      make([]uint16, n),
		chainLen:  make([]uint16, n),
		writable:  make([]uint32, n),
		nfree:     n,
	}
	for i := range r.next {
		r.next[i] = uint16(i + 1)
	}
	return r
}

// push writes bufs into a descriptor chain and makes it available to the
// device. It returns the chain's head, or errNoRoom. The buffers are
// checked while the free descriptors are written, in one pass: a
// request refused leaves only free descriptors written, which the
// device is never shown, and the free list as it was.
func (r *ring) push(bufs []Buf) (uint16, error) {
	if len(bufs) == 0 {
		return 0, errors.New("virtio: empty request")
	}
	if len(bufs) > int(r.n) {
		return 0, fmt.Errorf("virtio: request of %d buffers exceeds the queue size %d", len(bufs), r.n)
	}
	if len(bufs) > int(r.nfree) {
		return 0, errNoRoom
	}
	var writable uint64
	head := r.free
	i := head
	last := len(bufs) - 1
	prevWrites := false
	for k, b := range bufs {
		d := &r.desc[i]
		d.addr = uint64(b.Addr)
		d.len = b.Len
		var flags, next uint16
		if b.DeviceWrites {
			flags = descWrite
			writable += uint64(b.Len)
		} else if prevWrites {
			// §2.6.4.2: device-readable buffers come first.
			return 0, fmt.Errorf("virtio: buffer %d is device-readable but follows a device-writable one", k)
		}
		prevWrites = b.DeviceWrites
		if k < last {
			flags |= descNext
			next = r.next[i]
		}
		d.flags, d.next = flags, next
		i = r.next[i]
	}
	if writable > 1<<32-1 {
		return 0, errors.New("virtio: request writes more than 4 GiB")
	}
	r.free = i
	r.nfree -= uint16(len(bufs))
	r.chainLen[head] = uint16(len(bufs))
	r.writable[head] = uint32(writable)

	r.availRing[r.avail&(r.n-1)] = head
	r.avail++
	// One atomic store publishes idx after the descriptors and the ring
	// entry (it is a release); the flags stay as setInterrupts left them.
	atomic.StoreUint32(r.availHdr, uint32(r.avail)<<16|r.availFlags)
	return head, nil
}

// usedNoNotify is VIRTQ_USED_F_NO_NOTIFY (§2.7.7), the device's hint that
// it will look at the available ring again by itself.
const usedNoNotify = 1

// wantsNotify says whether the device wants to be told of what push
// published. It must be called after push: push's atomic store and this
// atomic load are sequentially consistent, so the device either sees the
// new index or has its flag read here (§2.7.7.2). QEMU's virtio-net sets
// the flag on the receive queue while it has buffers and on the transmit
// queue while a flush is pending; skipping those notifications saves a
// trap into the hypervisor, and under TCG a wait for its global lock, per
// frame.
func (r *ring) wantsNotify() bool {
	return atomic.LoadUint32(r.usedHdr)&usedNoNotify == 0
}

// pop takes the next completion off the used ring: the chain's head and
// the bytes the device wrote, capped at the chain's writable size. ok is
// false if there is none. An error means the device broke the protocol.
func (r *ring) pop() (head uint16, written uint32, ok bool, err error) {
	// The atomic load orders the reads of the entry after it.
	idx := uint16(atomic.LoadUint32(r.usedHdr) >> 16)
	if idx == r.used {
		return 0, 0, false, nil
	}
	// The device can complete only what was published.
	if ahead, pending := idx-r.used, r.avail-r.used; ahead > pending {
		return 0, 0, false, fmt.Errorf("virtio: used index %d is %d ahead of %d with only %d requests pending", idx, ahead, r.used, pending)
	}
	e := r.usedRing[r.used&(r.n-1)]
	if e.id >= uint32(r.n) || r.chainLen[e.id] == 0 {
		return 0, 0, false, fmt.Errorf("virtio: device used descriptor %d, which is not the head of a request", e.id)
	}
	r.used++
	head = uint16(e.id)
	written = min(e.len, r.writable[head])

	// Return the chain to the free list.
	tail := head
	for k := uint16(1); k < r.chainLen[head]; k++ {
		tail = r.next[tail]
	}
	r.next[tail] = r.free
	r.free = head
	r.nfree += r.chainLen[head]
	r.chainLen[head] = 0
	r.writable[head] = 0
	return head, written, true, nil
}

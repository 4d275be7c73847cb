package net

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	vnet "github.com/runikraft/runikraft/kernel/drivers/virtio/net"
)

// Device is what the stack needs of a network device: the virtio-net
// driver (*virtio/net.Driver) has this shape, and tests give a fake.
type Device interface {
	MAC() [6]byte
	// Attach sets the receive function (one frame at a time, frame
	// valid during the call) and the function called when a transmit
	// slot frees.
	Attach(rx vnet.Receiver, room func())
	// Transmit queues one Ethernet frame, the concatenation of parts,
	// or returns vnet.ErrBusy when the device has no room now.
	Transmit(parts ...[]byte) error
}

// maxPending bounds the frames held while the device is busy; beyond it
// frames are dropped, as a full qdisc drops, and TCP retransmits.
const maxPending = 512

// linkEndpoint is the device for gVisor: an Ethernet link, whose
// header it parses on the way in and writes on the way out itself.
// (gVisor's ethernet.Endpoint would do that around a raw endpoint, but
// through its nested.Endpoint: calls and a lock per packet each way,
// and two header look-ups per frame received, some 600 guest
// instructions a Redis request and 900 an nginx one.) It owns no
// goroutine: frames arrive on the driver's interrupt goroutine, and
// writers transmit on their own.
type linkEndpoint struct {
	dev  Device
	addr tcpip.LinkAddress

	// dispatcher is the stack's, once attached: an atomic pointer, so
	// that each frame received loads it instead of taking mu.
	dispatcher atomic.Pointer[stack.NetworkDispatcher]

	mu      sync.Mutex
	pending []*stack.PacketBuffer // waiting for a transmit slot, in order
	onClose func()

	// divert, while set, takes the frames it wants (the DHCP client's)
	// before the stack sees them.
	divert atomic.Pointer[func([]byte) bool]

	dropped atomic.Uint64 // frames dropped because pending was full

	// parts holds a frame's pieces for the device (under mu), so that
	// handing them over allocates nothing (PacketBuffer.AsSlices makes
	// a slice per packet).
	parts [maxParts][]byte

	// Pure ACKs held back (under mu), at most one per connection and
	// maxHeld in all, in case a segment of the same connection carries
	// them; heldTimer sends what is left ackHold after the first. A
	// slice, chained by heldHead from a multiplicative hash of the flow
	// (findHeld): a map of these keys costs two passes of the runtime's
	// fallback hash (riscv64 has no AES hash) and a compare per look-up,
	// and a scan of the slice, one compare per held ACK: with 16 busy
	// connections most have one held, and every segment sent looked.
	held      []heldAck
	heldHead  [heldBuckets]uint8 // index+1 of a bucket's first held ACK; 0: none
	heldTimer *time.Timer
	coalesced atomic.Uint64 // held ACKs a later segment made unneeded

	// rx holds received pure ACKs back until their batch ends, when the
	// device says where batches end (ackrx.go).
	rx          rxState
	rxCoalesced atomic.Uint64 // received pure ACKs a later segment superseded
}

var _ stack.LinkEndpoint = (*linkEndpoint)(nil)

func newLinkEndpoint(dev Device) *linkEndpoint {
	m := dev.MAC()
	e := &linkEndpoint{dev: dev, addr: tcpip.LinkAddress(m[:])}
	if bd, ok := dev.(batchDevice); ok {
		bd.AttachBatchEnd(e.receiveDone)
		dev.Attach(e.receiveBatched, e.drain)
	} else {
		dev.Attach(e.receive, e.drain)
	}
	return e
}

// batchDevice is a device that says where each batch of received
// frames ends (the virtio-net driver does), which lets the link hold
// pure ACKs back for the rest of the batch (ackrx.go).
type batchDevice interface {
	AttachBatchEnd(fn func())
}

// receive hands one frame to the stack.
func (e *linkEndpoint) receive(frame []byte, csumValid bool) {
	if d := e.divert.Load(); d != nil && (*d)(frame) {
		return
	}
	e.deliver(frame, csumValid)
}

// deliver hands one frame to the stack (copied: the slot goes back to
// the device).
func (e *linkEndpoint) deliver(frame []byte, csumValid bool) {
	if len(frame) < header.EthernetMinimumSize {
		return // a runt: no header to go by
	}
	dp := e.dispatcher.Load()
	if dp == nil {
		return
	}
	eth := header.Ethernet(frame)
	proto := eth.Type()
	kind := e.frameKind(frame[:header.EthernetAddressSize])
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	// The Ethernet header becomes the packet's link header; the frame is
	// long enough, so this cannot fail.
	if _, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize); ok {
		pkt.PktType = kind
		// gVisor's NIC sets this again from Capabilities, so for now
		// the stack checks a frame the device validated all the same.
		pkt.RXChecksumValidated = csumValid
		(*dp).DeliverNetworkPacket(proto, pkt)
	}
	pkt.DecRef()
}

// frameKind says to whom a frame with destination address dst was sent:
// everyone, a multicast group (the group bit, the first byte's lowest),
// this device, or another host (a device in promiscuous mode).
func (e *linkEndpoint) frameKind(dst []byte) tcpip.PacketType {
	switch {
	case string(dst) == string(header.EthernetBroadcastAddress):
		return tcpip.PacketBroadcast
	case dst[0]&1 != 0:
		return tcpip.PacketMulticast
	case string(dst) == string(e.addr):
		return tcpip.PacketHost
	}
	return tcpip.PacketOtherHost
}

// WritePackets transmits what fits and queues the rest (up to
// maxPending) for when the device frees a slot. The stack treats
// queued packets as written.
func (e *linkEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, pkt := range pkts.AsSlice() {
		e.writePacketLocked(pkt)
	}
	return pkts.Len(), nil
}

// linkQDisc is the device NIC's queueing discipline. gVisor's default
// one wraps each packet in a new PacketBufferList (an allocation, three
// per nginx request) only to call WritePackets; this one hands the
// packet, its link header already added by the NIC, to the link.
type linkQDisc struct{ e *linkEndpoint }

// WritePacket implements stack.QueueingDiscipline.
func (q linkQDisc) WritePacket(pkt *stack.PacketBuffer) tcpip.Error {
	q.e.mu.Lock()
	defer q.e.mu.Unlock()
	q.e.writePacketLocked(pkt)
	return nil
}

// Close implements stack.QueueingDiscipline: the link has nothing queued
// that the stack would own.
func (linkQDisc) Close() {}

// writePacketLocked transmits pkt, holding a pure ACK back or dropping
// one a later segment covers (ackhold.go).
func (e *linkEndpoint) writePacketLocked(pkt *stack.PacketBuffer) {
	flow, th, isTCP := tcpSegment(pkt)
	if !isTCP {
		e.writeLocked(pkt)
		return
	}
	// The held ACK is looked at in place, by index: copying the keys
	// and entries about (a flowKey is five words) was a good part of
	// this function's cost, which runs for every segment sent.
	var ack uint32
	pure := false
	if th.Flags() == header.TCPFlagAck { // not a segment with data or another flag: no call
		ack, pure = pureAckNumber(pkt, th)
	}
	at := e.findHeld(&flow)
	switch {
	case at < 0:
		if pure && len(e.held) < maxHeld {
			e.hold(pureAck{flow: flow, ack: ack}, pkt)
			return
		}
		e.writeLocked(pkt)
	case pure && e.held[at].ack.ack != ack:
		// A second ACK while one waits: data is streaming in, and
		// as Linux acknowledges every second segment at once, this
		// one goes now and covers the held one.
		held := e.held[at].pkt
		e.dropHeld(at)
		held.DecRef()
		e.coalesced.Add(1)
		e.writeLocked(pkt)
	default:
		// Another segment of a connection with a held ACK. A pure
		// ACK here repeats the held one's number (a duplicate, or a
		// window update): the peer counts those, both go out.
		held, heldAck := e.held[at].pkt, e.held[at].ack.ack
		e.dropHeld(at)
		if !pure && acksAtLeast(th, heldAck) { // same connection: findHeld
			e.coalesced.Add(1)
		} else {
			e.writeLocked(held)
		}
		held.DecRef()
		e.writeLocked(pkt)
	}
}

// heldAck is a pure ACK held back.
type heldAck struct {
	ack  pureAck
	pkt  *stack.PacketBuffer
	next uint8 // index+1 of the next held ACK in this one's bucket; 0: none
}

// maxHeld bounds the ACKs held at once (one per connection); indexes
// plus one fit heldAck.next and heldHead's bytes.
const maxHeld = 64

// heldBuckets is the number of heldHead's chains (a power of two).
const heldBuckets = 64

// heldBucket is flow's chain in heldHead: the top bits of a
// multiplicative hash of its ports and (IPv4) addresses, which is what
// tells a server's connections apart.
func heldBucket(flow *flowKey) uint64 {
	return ((flow.ports ^ flow.a) * 0x9e3779b97f4a7c15) >> (64 - 6)
}

// findHeld is the index of flow's held ACK in e.held, or -1. It runs
// for every segment sent; a chain holds one held ACK or none most of
// the time.
func (e *linkEndpoint) findHeld(flow *flowKey) int {
	// hold and dropHeld keep the chains acyclic and in range
	// (TestHeldChains).
	for j := e.heldHead[heldBucket(flow)]; j != 0; j = e.held[j-1].next {
		if e.held[j-1].ack.flow.same(flow) {
			return int(j) - 1
		}
	}
	return -1
}

// unchain takes index i out of its bucket's chain.
func (e *linkEndpoint) unchain(i int) {
	p := &e.heldHead[heldBucket(&e.held[i].ack.flow)]
	for n := 0; *p != 0 && int(*p) <= len(e.held) && n < maxHeld; n++ {
		if int(*p) == i+1 {
			*p = e.held[i].next
			return
		}
		p = &e.held[*p-1].next
	}
}

// dropHeld removes e.held[i] (its packet reference goes to the caller).
func (e *linkEndpoint) dropHeld(i int) {
	last := len(e.held) - 1
	e.unchain(i)
	if i != last {
		// The last one moves to i: whatever pointed at it points at i.
		e.unchain(last)
		e.held[i] = e.held[last]
		b := heldBucket(&e.held[i].ack.flow)
		e.held[i].next = e.heldHead[b]
		e.heldHead[b] = uint8(i + 1)
	}
	e.held[last] = heldAck{}
	e.held = e.held[:last]
}

// hold keeps pkt, the pure ACK a, for at most ackHold.
func (e *linkEndpoint) hold(a pureAck, pkt *stack.PacketBuffer) {
	if len(e.held) == 0 {
		if e.heldTimer == nil {
			e.heldTimer = time.AfterFunc(ackHold, e.flushHeld)
		} else {
			e.heldTimer.Reset(ackHold)
		}
	}
	b := heldBucket(&a.flow)
	e.held = append(e.held, heldAck{ack: a, pkt: pkt.IncRef(), next: e.heldHead[b]})
	e.heldHead[b] = uint8(len(e.held))
}

// flushHeld sends the held ACKs no segment took along in time.
func (e *linkEndpoint) flushHeld() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, h := range e.held {
		e.writeLocked(h.pkt)
		h.pkt.DecRef()
		e.held[i] = heldAck{}
	}
	e.held = e.held[:0]
	e.heldHead = [heldBuckets]uint8{}
}

// writeLocked transmits pkt, or queues it (up to maxPending) for when
// the device frees a slot.
func (e *linkEndpoint) writeLocked(pkt *stack.PacketBuffer) {
	if len(e.pending) == 0 {
		err := e.transmitLocked(pkt)
		if err == nil {
			return
		}
		if !errors.Is(err, vnet.ErrBusy) {
			// A broken device or a frame it cannot take: drop it, as a
			// wire would.
			e.dropped.Add(1)
			return
		}
	}
	if len(e.pending) >= maxPending {
		e.dropped.Add(1)
		return
	}
	e.pending = append(e.pending, pkt.IncRef())
}

// maxParts is more pieces than a frame the stack builds has (headers
// in one view, the payload in a few); a frame with more goes through
// PacketBuffer.AsSlices.
const maxParts = 8

// transmitLocked gives pkt's bytes, from its first header on, to the
// device.
func (e *linkEndpoint) transmitLocked(pkt *stack.PacketBuffer) error {
	vl, off := pkt.AsViewList()
	n := 0
	for v := vl.Front(); v != nil; v = v.Next() {
		b := v.AsSlice()
		if off >= len(b) {
			off -= len(b)
			continue
		}
		if n == maxParts {
			clear(e.parts[:n])
			return e.dev.Transmit(pkt.AsSlices()...)
		}
		e.parts[n] = b[off:]
		off = 0
		n++
	}
	err := e.dev.Transmit(e.parts[:n]...)
	clear(e.parts[:n]) // hold no packet's memory
	return err
}

// drain transmits queued frames; the driver calls it when a slot frees.
func (e *linkEndpoint) drain() {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := 0
	for ; i < len(e.pending); i++ {
		err := e.transmitLocked(e.pending[i])
		if errors.Is(err, vnet.ErrBusy) {
			break
		}
		if err != nil {
			e.dropped.Add(1)
		}
		e.pending[i].DecRef()
		e.pending[i] = nil
	}
	if i > 0 {
		e.pending = append(e.pending[:0], e.pending[i:]...)
	}
}

// MTU is the largest IP packet a frame carries.
func (e *linkEndpoint) MTU() uint32   { return vnet.MTU }
func (e *linkEndpoint) SetMTU(uint32) {}

// MaxHeaderLength is the Ethernet header's, which AddHeader writes.
func (e *linkEndpoint) MaxHeaderLength() uint16          { return header.EthernetMinimumSize }
func (e *linkEndpoint) LinkAddress() tcpip.LinkAddress   { return e.addr }
func (e *linkEndpoint) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities: neighbours' link addresses come from ARP and NDP.
func (e *linkEndpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

func (e *linkEndpoint) Attach(d stack.NetworkDispatcher) {
	if d == nil {
		e.dispatcher.Store(nil)
		return
	}
	e.dispatcher.Store(&d)
}

func (e *linkEndpoint) IsAttached() bool { return e.dispatcher.Load() != nil }

func (e *linkEndpoint) Wait()                                   {}
func (e *linkEndpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader writes pkt's Ethernet header: to the route's next hop's
// link address, from the route's own (this device's), of pkt's network
// protocol. Every byte is written: the header's space may hold an
// earlier packet's bytes.
func (e *linkEndpoint) AddHeader(pkt *stack.PacketBuffer) {
	b := pkt.LinkHeader().Push(header.EthernetMinimumSize)
	putMAC(b[:header.EthernetAddressSize], pkt.EgressRoute.RemoteLinkAddress)
	putMAC(b[header.EthernetAddressSize:2*header.EthernetAddressSize], pkt.EgressRoute.LocalLinkAddress)
	b[12], b[13] = byte(pkt.NetworkProtocolNumber>>8), byte(pkt.NetworkProtocolNumber)
}

// putMAC writes a into b, or zeros if a is not an Ethernet address.
func putMAC(b []byte, a tcpip.LinkAddress) {
	if len(a) != len(b) || len(b) != header.EthernetAddressSize {
		clear(b)
		return
	}
	// Byte by byte: copy was a call to runtime.memmove (through a
	// linker trampoline from here), twice per frame sent.
	b[0], b[1], b[2], b[3], b[4], b[5] = a[0], a[1], a[2], a[3], a[4], a[5]
}

// ParseHeader takes the Ethernet header off pkt (a packet socket's
// write); false when pkt is too short to have one.
func (e *linkEndpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

func (e *linkEndpoint) Close() {
	e.mu.Lock()
	for i, h := range e.held {
		h.pkt.DecRef()
		e.held[i] = heldAck{}
	}
	e.held = e.held[:0]
	e.heldHead = [heldBuckets]uint8{}
	for _, p := range e.pending {
		p.DecRef()
	}
	e.pending = nil
	e.dispatcher.Store(nil)
	f := e.onClose
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

func (e *linkEndpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	e.onClose = f
	e.mu.Unlock()
}

// send and mac let the DHCP client use the device directly.
func (e *linkEndpoint) send(frame []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev.Transmit(frame)
}

func (e *linkEndpoint) mac() [6]byte { return [6]byte([]byte(e.addr)) }

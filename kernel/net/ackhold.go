package net

import (
	"encoding/binary"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ackHold is how long a pure TCP acknowledgement may wait for the
// segment that would carry it anyway. gVisor's TCP acknowledges every
// batch of received data at once, before the application has read it, so
// a request-response server sends an empty ACK and then, a moment
// later, its answer with the same acknowledgement: two frames through
// the device and the hypervisor's network for one. Linux delays its ACKs
// (up to 40 ms) for this. Holding the ACK a little and dropping it when
// a later segment of the same connection acknowledges as much halves
// the frames such a server sends. Under TCG an event loop serving 16
// connections takes milliseconds to answer the last of a batch, so the
// hold is 10 ms (Linux's delayed ACK is 40 ms at least); a connection
// streaming data in gets every second ACK at once (link.go), so a bulk
// sender does not wait on it.
const ackHold = 10 * time.Millisecond

// pureAck describes a frame that is a TCP segment carrying only an
// acknowledgement: no data, no flag but ACK, no option but timestamps
// (no SACK blocks: those report loss, and each one matters to the peer).
type pureAck struct {
	flow flowKey
	ack  uint32
}

// flowKey names a TCP connection by its addresses and ports as its
// segments carry them, in machine words: it is built for every segment
// sent (a string was two conversions, a concatenation and an
// allocation; byte arrays, a copy call each), and a key without padding
// hashes in one pass.
type flowKey struct {
	a, b, c, d uint64 // the addresses (IPv4's two in a)
	ports      uint64 // source and destination port; bit 32: IPv6
}

// same reports whether k and o name the same connection. The ports,
// which tell a server's connections apart, are compared first and the
// addresses only when they match: == on the structs was a call to
// runtime.memequal each time, and findHeld compares a sent segment's
// key with every held ACK's (about 1,300 instructions a Redis request
// with 16 connections).
func (k *flowKey) same(o *flowKey) bool {
	return k.ports == o.ports && k.a == o.a && k.b == o.b && k.c == o.c && k.d == o.d
}

// tcpSegment returns pkt's connection key and TCP header, if pkt is a
// TCP segment over IPv4 or IPv6.
func tcpSegment(pkt *stack.PacketBuffer) (flowKey, header.TCP, bool) {
	var k flowKey
	if pkt.TransportProtocolNumber != header.TCPProtocolNumber {
		return k, nil, false
	}
	nh, th, ok := headersOf(pkt)
	if !ok {
		nh = pkt.NetworkHeader().Slice()
		th = header.TCP(pkt.TransportHeader().Slice())
	}
	if len(th) < header.TCPMinimumSize {
		return k, nil, false
	}
	be := binary.BigEndian
	switch pkt.NetworkProtocolNumber {
	case header.IPv4ProtocolNumber:
		if len(nh) < header.IPv4MinimumSize {
			return k, nil, false
		}
		k.a = be.Uint64(nh[12:20])
	case header.IPv6ProtocolNumber:
		if len(nh) < header.IPv6MinimumSize {
			return k, nil, false
		}
		k.a, k.b, k.c, k.d = be.Uint64(nh[8:]), be.Uint64(nh[16:]), be.Uint64(nh[24:]), be.Uint64(nh[32:])
		k.ports = 1 << 32
	default:
		return k, nil, false
	}
	k.ports |= uint64(be.Uint32(th[:4]))
	return k, th, true
}

// headersOf finds an outgoing IPv4 TCP segment's network and TCP
// headers in the packet's first view, where the stack writes its
// Ethernet, IP and TCP headers one before the other. Asking the packet
// for each header (NetworkHeader().Slice()) pulls the buffer up each
// time, about 170 instructions a header and two headers a segment. ok
// is false for anything else (IPv6, a header not where expected): the
// caller asks the packet then.
func headersOf(pkt *stack.PacketBuffer) (nh []byte, th header.TCP, ok bool) {
	if pkt.NetworkProtocolNumber != header.IPv4ProtocolNumber {
		return nil, nil, false
	}
	vl, off := pkt.AsViewList()
	v := vl.Front()
	if v == nil {
		return nil, nil, false
	}
	b := v.AsSlice()
	if off < 0 || off > len(b) {
		return nil, nil, false
	}
	b = b[off:]
	if len(b) < header.EthernetMinimumSize+header.IPv4MinimumSize ||
		header.Ethernet(b).Type() != header.IPv4ProtocolNumber {
		return nil, nil, false
	}
	nh = b[header.EthernetMinimumSize:]
	ip := header.IPv4(nh)
	hl := int(ip.HeaderLength())
	if header.IPVersion(nh) != header.IPv4Version || hl < header.IPv4MinimumSize || ip.Protocol() != uint8(header.TCPProtocolNumber) ||
		len(nh) < hl+header.TCPMinimumSize {
		return nil, nil, false
	}
	th = header.TCP(nh[hl:])
	doff := int(th.DataOffset())
	if doff < header.TCPMinimumSize || doff > len(th) {
		return nil, nil, false
	}
	return nh[:hl], th[:doff], true
}

// asPureAck says whether pkt, a TCP segment of connection flow with
// header th, is a pure ACK (see pureAck).
func asPureAck(pkt *stack.PacketBuffer, flow flowKey, th header.TCP) (pureAck, bool) {
	ack, ok := pureAckNumber(pkt, th)
	if !ok {
		return pureAck{}, false
	}
	return pureAck{flow: flow, ack: ack}, true
}

// pureAckNumber is asPureAck without the key: the acknowledgement
// number, if pkt is a pure ACK (writePacketLocked copies no key for it).
func pureAckNumber(pkt *stack.PacketBuffer, th header.TCP) (uint32, bool) {
	if th.Flags() != header.TCPFlagAck || pkt.Data().Size() != 0 {
		return 0, false
	}
	off := int(th.DataOffset())
	if off < header.TCPMinimumSize || off > len(th) {
		return 0, false
	}
	opts := th[header.TCPMinimumSize:off]
	for i := 0; i < len(opts); {
		switch opts[i] {
		case header.TCPOptionEOL:
			i = len(opts)
		case header.TCPOptionNOP:
			i++
		case header.TCPOptionTS:
			if i+1 >= len(opts) || opts[i+1] != header.TCPOptionTSLength {
				return 0, false
			}
			i += header.TCPOptionTSLength
		default:
			return 0, false
		}
	}
	return th.AckNumber(), true
}

// supersedes says whether a segment of connection flow with header th,
// sent after the held ACK a, acknowledges at least as much on the same
// connection, so a need not be sent.
func supersedes(flow flowKey, th header.TCP, a pureAck) bool {
	return flow.same(&a.flow) && acksAtLeast(th, a.ack)
}

// acksAtLeast says whether a segment with header th acknowledges at
// least ack (and is no reset): supersedes for a segment already known
// to be of the held ACK's connection.
func acksAtLeast(th header.TCP, ack uint32) bool {
	if th.Flags()&header.TCPFlagAck == 0 || th.Flags()&header.TCPFlagRst != 0 {
		return false
	}
	return int32(th.AckNumber()-ack) >= 0
}

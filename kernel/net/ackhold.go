package net

import (
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
	flow string // addresses and ports
	ack  uint32
}

// tcpSegment returns pkt's connection key and TCP header, if pkt is a
// TCP segment over IPv4 or IPv6.
func tcpSegment(pkt *stack.PacketBuffer) (string, header.TCP, bool) {
	if pkt.TransportProtocolNumber != header.TCPProtocolNumber {
		return "", nil, false
	}
	nh := pkt.NetworkHeader().Slice()
	th := header.TCP(pkt.TransportHeader().Slice())
	if len(th) < header.TCPMinimumSize {
		return "", nil, false
	}
	var addrs []byte
	switch pkt.NetworkProtocolNumber {
	case header.IPv4ProtocolNumber:
		if len(nh) < header.IPv4MinimumSize {
			return "", nil, false
		}
		addrs = nh[12:20]
	case header.IPv6ProtocolNumber:
		if len(nh) < header.IPv6MinimumSize {
			return "", nil, false
		}
		addrs = nh[8:40]
	default:
		return "", nil, false
	}
	return string(addrs) + string(th[:4]), th, true
}

// asPureAck says whether pkt is a pure ACK (see pureAck).
func asPureAck(pkt *stack.PacketBuffer) (pureAck, bool) {
	flow, th, ok := tcpSegment(pkt)
	if !ok || th.Flags() != header.TCPFlagAck || pkt.Data().Size() != 0 {
		return pureAck{}, false
	}
	off := int(th.DataOffset())
	if off < header.TCPMinimumSize || off > len(th) {
		return pureAck{}, false
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
				return pureAck{}, false
			}
			i += header.TCPOptionTSLength
		default:
			return pureAck{}, false
		}
	}
	return pureAck{flow: flow, ack: th.AckNumber()}, true
}

// supersedes says whether pkt, sent after the held ACK a, acknowledges
// at least as much on the same connection, so a need not be sent.
func supersedes(pkt *stack.PacketBuffer, a pureAck) bool {
	flow, th, ok := tcpSegment(pkt)
	if !ok || flow != a.flow || th.Flags()&header.TCPFlagAck == 0 || th.Flags()&header.TCPFlagRst != 0 {
		return false
	}
	return int32(th.AckNumber()-a.ack) >= 0
}

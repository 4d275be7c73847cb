package net

import (
	"encoding/binary"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Receive-side ACK coalescing.
//
// The host's TCP (QEMU's slirp) acknowledges every segment the guest
// sends at once, so a request-response server gets a pure ACK for its
// answer and, soon after, the next request, which carries the same
// acknowledgement: for Redis about 0.47 pure ACKs a request, each a
// whole trip through gVisor's receive path (NIC, IPv4, demultiplexing,
// TCP). Frames come from the device in batches (what one drain of its
// receive queue brought), and the two often share one. As Linux's GRO
// and NICs' ACK coalescing do, the link holds a received pure ACK back
// until its batch ends and drops it when a later segment of the same
// connection in the batch tells the stack all it does.
//
// A held pure ACK P is dropped for a later segment Q of its connection
// (the next one of the batch) only if all of these hold:
//
//   - P is IPv4, not a fragment, has the flag ACK alone (no ECE/CWR
//     either), no payload, and no option but NOP, EOL and timestamps:
//     no SACK blocks, which report loss to the sender segment by
//     segment.
//   - P acknowledges more than any segment of its connection before it
//     (seen is the newest acknowledgement seen): it is not a duplicate
//     ACK, which the sender counts towards a fast retransmit, nor a
//     repeat (a window update, an answer to a keepalive or a window
//     probe). A connection not in seen, or one that a SYN or RST
//     reset, holds nothing back.
//   - Q is IPv4, not a fragment, checksums good (the device said so or
//     we checked: a corrupt Q would be dropped by the stack, taking
//     P's news with it), ACK set, no SYN, RST or URG.
//   - Q's sequence number is P's: Q is what the peer sent next, not a
//     retransmission that the stack would find outside its window and
//     drop without looking at the acknowledgement.
//   - Q acknowledges more than P (sequence-number order, so across the
//     wrap), or as much while carrying data or a FIN. A pure ACK Q
//     with P's number does not supersede P: after P it is a duplicate
//     ACK, and without P it would be the new one, so the sender would
//     count one duplicate fewer. Both go then.
//   - Q's window field is at least P's (the same connection, so the
//     same scale): Q does not announce less room than P did.
//
// Bounds: at most maxRxHeld ACKs held (one per connection), each frame
// at most rxHeldLen bytes; seen is a direct-mapped table of seenSize
// connections (a collision evicts, and an evicted connection holds
// nothing back until it is seen again). Every field is read within
// the lengths checked; a frame that is not what it claims is simply
// delivered as it is.

const (
	maxRxHeld = 16
	// rxHeldLen fits a pure ACK frame: Ethernet, an IPv4 header and a
	// TCP header of up to 60 bytes each.
	rxHeldLen = header.EthernetMinimumSize + 60 + 60
	seenBits  = 8
	seenSize  = 1 << seenBits
)

// rxSeg is what coalescing needs of a received TCP segment.
type rxSeg struct {
	flow     flowKey // addresses and ports as the segment carries them
	seq, ack uint32
	win      uint16
	flags    header.TCPFlags
	payload  int  // bytes of data
	pure     bool // flags ACK alone, no data, options only NOP/EOL/TS
	ip, tcp  int  // offsets of the IP and TCP headers in the frame
	end      int  // end of the IP packet in the frame
}

// rxHeldAck is a pure ACK held until its batch ends.
type rxHeldAck struct {
	seg  rxSeg
	csum bool
	n    int
	buf  [rxHeldLen]byte
}

// ackSeen is the newest acknowledgement seen on an IPv4 connection:
// its addresses, its ports (bit 32 set: the entry is in use) and the
// acknowledgement.
type ackSeen struct {
	addrs uint64
	ports uint64
	ack   uint32
}

// seenUsed marks an ackSeen in use.
const seenUsed = 1 << 32

// rxState is the receive side's coalescing state. Only the device's
// receive path touches it (frames and batch ends arrive one at a time,
// serialised by the driver), so it has no lock.
type rxState struct {
	held  [maxRxHeld]rxHeldAck
	nHeld int
	seen  [seenSize]ackSeen
}

// parseRx reads frame as an Ethernet frame carrying an unfragmented
// IPv4 TCP segment; ok is false for anything else, or anything whose
// lengths do not add up.
func parseRx(frame []byte) (s rxSeg, ok bool) {
	const eth = header.EthernetMinimumSize
	if len(frame) < eth+header.IPv4MinimumSize+header.TCPMinimumSize ||
		frame[12] != 0x08 || frame[13] != 0x00 {
		return s, false
	}
	be := binary.BigEndian
	ip := frame[eth:]
	if ip[0]>>4 != 4 || ip[9] != uint8(header.TCPProtocolNumber) ||
		be.Uint16(ip[6:])&0x3fff != 0 { // more fragments, or an offset
		return s, false
	}
	ihl := int(ip[0]&0xf) * 4
	total := int(be.Uint16(ip[2:]))
	if ihl < header.IPv4MinimumSize || total < ihl+header.TCPMinimumSize || total > len(ip) {
		return s, false
	}
	th := ip[ihl:total]
	doff := int(th[12]>>4) * 4
	if doff < header.TCPMinimumSize || doff > len(th) {
		return s, false
	}
	s.flow.a = be.Uint64(ip[12:20])
	s.flow.ports = uint64(be.Uint32(th[:4]))
	s.seq, s.ack = be.Uint32(th[4:]), be.Uint32(th[8:])
	s.flags = header.TCPFlags(th[13])
	s.win = be.Uint16(th[14:])
	s.payload = len(th) - doff
	s.ip, s.tcp, s.end = eth, eth+ihl, eth+total
	s.pure = s.flags == header.TCPFlagAck && s.payload == 0 && onlyTimestamps(th[header.TCPMinimumSize:doff])
	return s, true
}

// onlyTimestamps says whether TCP options opts are NOPs, EOL and
// well-formed timestamps only.
func onlyTimestamps(opts []byte) bool {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case header.TCPOptionEOL:
			return true
		case header.TCPOptionNOP:
			i++
		case header.TCPOptionTS:
			if i+header.TCPOptionTSLength > len(opts) || opts[i+1] != header.TCPOptionTSLength {
				return false
			}
			i += header.TCPOptionTSLength
		default:
			return false
		}
	}
	return true
}

// supersedesRx says whether q, the next segment of p's connection in the
// batch, tells the stack all the held pure ACK p does (the rules above
// but the checksums').
func supersedesRx(p, q *rxSeg) bool {
	if q.flags&(header.TCPFlagSyn|header.TCPFlagRst|header.TCPFlagUrg) != 0 || q.flags&header.TCPFlagAck == 0 ||
		q.seq != p.seq || q.win < p.win || !q.flow.same(&p.flow) {
		return false
	}
	d := int32(q.ack - p.ack)
	return d > 0 || d == 0 && (q.payload > 0 || q.flags&header.TCPFlagFin != 0)
}

// checksumsOK verifies s's IPv4 header and TCP checksums in frame.
func checksumsOK(frame []byte, s *rxSeg) bool {
	if s.ip < 0 || s.ip > s.tcp || s.tcp > s.end || s.end > len(frame) {
		return false
	}
	ip := frame[s.ip:s.tcp]
	if checksum.Checksum(ip, 0) != 0xffff {
		return false
	}
	var ph [12]byte
	copy(ph[:8], ip[12:20])
	ph[9] = uint8(header.TCPProtocolNumber)
	binary.BigEndian.PutUint16(ph[10:], uint16(s.end-s.tcp))
	return checksum.Checksum(frame[s.tcp:s.end], checksum.Checksum(ph[:], 0)) == 0xffff
}

// seenSlot is where flow's entry in seen goes: a multiplicative hash
// of the ports and addresses (a host's ephemeral ports are often all
// even, or spaced alike, so their low bits alone cluster).
func seenSlot(k *flowKey) int {
	return int(((k.ports ^ k.a) * 0x9e3779b97f4a7c15) >> (64 - seenBits))
}

// note records s's acknowledgement and says whether it is newer than
// any seen on its connection before (false for a connection not seen
// yet). A SYN or RST forgets the connection: its numbers start over.
// seen only ever moves forward, so a bogus segment can only make later
// ACKs look old, which holds nothing back.
func (r *rxState) note(s *rxSeg) bool {
	e := &r.seen[seenSlot(&s.flow)]
	ports := s.flow.ports | seenUsed
	switch {
	case s.flags&(header.TCPFlagSyn|header.TCPFlagRst) != 0:
		if e.ports == ports && e.addrs == s.flow.a {
			*e = ackSeen{}
		}
		return false
	case s.flags&header.TCPFlagAck == 0:
		return false
	case e.ports != ports || e.addrs != s.flow.a:
		*e = ackSeen{addrs: s.flow.a, ports: ports, ack: s.ack}
		return false
	case int32(s.ack-e.ack) > 0:
		e.ack = s.ack
		return true
	}
	return false
}

// findHeld is the index of flow's held ACK, or -1.
func (r *rxState) findHeld(flow *flowKey) int {
	for i := 0; i < r.nHeld; i++ {
		if r.held[i].seg.flow.same(flow) {
			return i
		}
	}
	return -1
}

// remove drops held ACK i (its order among other connections' does not
// matter).
func (r *rxState) remove(i int) {
	r.nHeld--
	if i != r.nHeld {
		r.held[i] = r.held[r.nHeld]
	}
}

// receiveBatched is receive for a device that says where its batches
// end (receiveDone): it holds pure ACKs back and drops those a later
// segment of the batch supersedes.
func (e *linkEndpoint) receiveBatched(frame []byte, csumValid bool) {
	if d := e.divert.Load(); d != nil && (*d)(frame) {
		return
	}
	r := &e.rx
	s, ok := parseRx(frame)
	if !ok {
		// Something we do not follow (ARP, IPv6, a fragment): what
		// was held goes first, so that nothing overtakes it.
		e.receiveDone()
		e.deliver(frame, csumValid)
		return
	}
	if i := r.findHeld(&s.flow); i >= 0 {
		h := &r.held[i]
		if supersedesRx(&h.seg, &s) && (csumValid || checksumsOK(frame, &s)) {
			e.rxCoalesced.Add(1)
		} else {
			e.deliver(h.buf[:h.n], h.csum)
		}
		r.remove(i)
	}
	if r.note(&s) && s.pure && r.nHeld < maxRxHeld && len(frame) <= rxHeldLen {
		h := &r.held[r.nHeld]
		h.seg, h.csum, h.n = s, csumValid, copy(h.buf[:], frame)
		r.nHeld++
		return
	}
	e.deliver(frame, csumValid)
}

// receiveDone ends a batch: the held ACKs go to the stack.
func (e *linkEndpoint) receiveDone() {
	r := &e.rx
	for i := 0; i < r.nHeld; i++ {
		h := &r.held[i]
		e.deliver(h.buf[:h.n], h.csum)
	}
	r.nHeld = 0
}

package net

import (
	"bytes"
	"math/rand"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// segment builds an outgoing frame as the stack does: Ethernet, IPv4
// (ipOpts bytes of options) and TCP (tcpOpts bytes of options) headers
// pushed into the reserved room, the payload in views of its own.
func segment(t *testing.T, ipOpts, tcpOpts int, payload []byte) *stack.PacketBuffer {
	t.Helper()
	thLen, ihl := header.TCPMinimumSize+tcpOpts, header.IPv4MinimumSize+ipOpts
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
		ReserveHeaderBytes: header.EthernetMinimumSize + ihl + thLen,
		Payload:            buffer.MakeWithData(payload),
	})
	th := header.TCP(pkt.TransportHeader().Push(thLen))
	th.Encode(&header.TCPFields{SrcPort: 8080, DstPort: 40000, SeqNum: 7, AckNum: 9, DataOffset: uint8(thLen), Flags: header.TCPFlagAck, WindowSize: 1000})
	pkt.TransportProtocolNumber = header.TCPProtocolNumber
	ip := header.IPv4(pkt.NetworkHeader().Push(ihl))
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(ihl + thLen + len(payload)), TTL: 64, Protocol: uint8(header.TCPProtocolNumber),
		SrcAddr: tcpip.AddrFrom4([4]byte{10, 0, 2, 15}), DstAddr: tcpip.AddrFrom4([4]byte{10, 0, 2, 2})})
	if ipOpts > 0 {
		ip.SetHeaderLength(uint8(ihl))
	}
	pkt.NetworkProtocolNumber = header.IPv4ProtocolNumber
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{Type: header.IPv4ProtocolNumber})
	return pkt
}

// TestHeadersOf checks that the direct parse finds the headers the
// packet itself reports, and the connection key tcpSegment builds from
// them, with and without options and payload.
func TestHeadersOf(t *testing.T) {
	for _, c := range []struct{ ipOpts, tcpOpts, payload int }{{0, 0, 0}, {0, 12, 0}, {0, 12, 1024}, {4, 12, 100}} {
		pkt := segment(t, c.ipOpts, c.tcpOpts, make([]byte, c.payload))
		nh, th, ok := headersOf(pkt)
		if !ok {
			t.Fatalf("%+v: not parsed", c)
		}
		if !bytes.Equal(nh, pkt.NetworkHeader().Slice()) || !bytes.Equal(th, pkt.TransportHeader().Slice()) {
			t.Errorf("%+v: headers %x %x, the packet's %x %x", c, nh, th, pkt.NetworkHeader().Slice(), pkt.TransportHeader().Slice())
		}
		k, th2, ok := tcpSegment(pkt)
		if !ok || !bytes.Equal(th2, th) || k.a != 0x0a00020f0a000202 || k.ports != 8080<<16|40000 {
			t.Errorf("%+v: tcpSegment %x %x %v", c, k, th2, ok)
		}
		if _, pure := asPureAck(pkt, k, th); pure != (c.payload == 0) {
			t.Errorf("%+v: pure ACK %v", c, pure)
		}
		pkt.DecRef()
	}
	// A frame whose Ethernet type is not IPv4 is left to the slow path.
	pkt := segment(t, 0, 0, nil)
	header.Ethernet(pkt.LinkHeader().Slice()).Encode(&header.EthernetFields{Type: header.ARPProtocolNumber})
	if _, _, ok := headersOf(pkt); ok {
		t.Error("an ARP-typed frame parsed as IPv4")
	}
	pkt.DecRef()
}

// The held ACKs' chains (heldHead) find exactly what a scan of e.held
// finds, through holds and drops in any order, and stay consistent.
func TestHeldChains(t *testing.T) {
	e := newLinkEndpoint(nullDev{linkMAC})
	scan := func(f flowKey) int {
		for i := range e.held {
			if e.held[i].ack.flow.same(&f) {
				return i
			}
		}
		return -1
	}
	flows := make([]flowKey, 200)
	for i := range flows {
		// Server connections: one address pair, the peer's port varies;
		// a few with other addresses.
		flows[i] = flowKey{a: 0x0a000002_0a000001 + uint64(i%7)<<40, ports: 6379<<16 | uint64(40000+i*13)}
	}
	rng := rand.New(rand.NewSource(1))
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{})
	defer pkt.DecRef()
	for step := 0; step < 20000; step++ {
		f := flows[rng.Intn(len(flows))]
		at := e.findHeld(&f)
		if want := scan(f); at != want {
			t.Fatalf("step %d: findHeld = %d, scan = %d", step, at, want)
		}
		switch {
		case at < 0 && len(e.held) < maxHeld:
			e.hold(pureAck{flow: f, ack: uint32(step)}, pkt)
		case at >= 0:
			h := e.held[at]
			e.dropHeld(at)
			h.pkt.DecRef()
		}
		// Every held ACK is on its bucket's chain exactly once.
		seen := 0
		for b := range e.heldHead {
			for j, n := e.heldHead[b], 0; j != 0; j, n = e.held[j-1].next, n+1 {
				if n > maxHeld || heldBucket(&e.held[j-1].ack.flow) != uint64(b) {
					t.Fatalf("step %d: bucket %d's chain is broken", step, b)
				}
				seen++
			}
		}
		if seen != len(e.held) {
			t.Fatalf("step %d: %d held ACKs on the chains, %d held", step, seen, len(e.held))
		}
	}
	e.Close()
	if len(e.held) != 0 || e.heldHead != [heldBuckets]uint8{} {
		t.Fatal("Close left held ACKs")
	}
}

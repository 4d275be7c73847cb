package net

import (
	"bytes"
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

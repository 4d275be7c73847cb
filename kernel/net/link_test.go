package net

import (
	"bytes"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	vnet "github.com/runikraft/runikraft/kernel/drivers/virtio/net"
)

// nullDev is a device that takes nothing.
type nullDev struct{ mac [6]byte }

func (d nullDev) MAC() [6]byte               { return d.mac }
func (nullDev) Attach(vnet.Receiver, func()) {}
func (nullDev) Transmit(...[]byte) error     { return nil }

// recordDispatcher notes what the link delivers.
type recordDispatcher struct{ got *[]delivered }

type delivered struct {
	proto tcpip.NetworkProtocolNumber
	kind  tcpip.PacketType
	link  []byte
	rest  []byte
}

func (recordDispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

func (r recordDispatcher) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	*r.got = append(*r.got, delivered{
		proto: proto,
		kind:  pkt.PktType,
		link:  append([]byte(nil), pkt.LinkHeader().Slice()...),
		rest:  pkt.Data().AsRange().ToSlice(),
	})
}

var linkMAC = [6]byte{2, 0, 0, 0, 0, 9}

// Frames in: the Ethernet header is the packet's link header, the type
// says the protocol, the destination whom it was for; runts are dropped.
func TestLinkReceive(t *testing.T) {
	e := newLinkEndpoint(nullDev{linkMAC})
	var got []delivered
	e.Attach(recordDispatcher{&got})
	frame := func(dst []byte, typ uint16, payload string) []byte {
		f := append(append([]byte(nil), dst...), 2, 0, 0, 0, 0, 1, byte(typ>>8), byte(typ))
		return append(f, payload...)
	}
	for n := 0; n < header.EthernetMinimumSize; n++ {
		e.receive(make([]byte, n), false)
	}
	if len(got) != 0 {
		t.Fatalf("runts delivered: %v", got)
	}
	cases := []struct {
		dst  []byte
		kind tcpip.PacketType
	}{
		{linkMAC[:], tcpip.PacketHost},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, tcpip.PacketBroadcast},
		{[]byte{0x01, 0x00, 0x5e, 0, 0, 1}, tcpip.PacketMulticast},
		{[]byte{0x33, 0x33, 0, 0, 0, 1}, tcpip.PacketMulticast},
		{[]byte{2, 0, 0, 0, 0, 8}, tcpip.PacketOtherHost},
	}
	for _, c := range cases {
		got = got[:0]
		f := frame(c.dst, uint16(header.IPv4ProtocolNumber), "payload")
		e.receive(f, false)
		if len(got) != 1 {
			t.Fatalf("dst %x: %d deliveries", c.dst, len(got))
		}
		d := got[0]
		if d.proto != header.IPv4ProtocolNumber || d.kind != c.kind || !bytes.Equal(d.link, f[:14]) || string(d.rest) != "payload" {
			t.Errorf("dst %x: delivered %+v, want IPv4, kind %d, the header as link header, the payload", c.dst, d, c.kind)
		}
	}
	got = got[:0]
	e.receive(frame(linkMAC[:], uint16(header.ARPProtocolNumber), ""), false)
	if len(got) != 1 || got[0].proto != header.ARPProtocolNumber || len(got[0].rest) != 0 {
		t.Errorf("a bare ARP header: %+v", got)
	}
}

// Frames out: the next hop's address (zeros without one), this
// device's, the protocol.
func TestLinkAddHeader(t *testing.T) {
	e := newLinkEndpoint(nullDev{linkMAC})
	for _, remote := range []tcpip.LinkAddress{"\x02\x00\x00\x00\x00\x07", ""} {
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{ReserveHeaderBytes: 64})
		pkt.NetworkHeader().Push(header.IPv6MinimumSize)
		pkt.NetworkProtocolNumber = header.IPv6ProtocolNumber
		pkt.EgressRoute.RemoteLinkAddress = remote
		pkt.EgressRoute.LocalLinkAddress = e.LinkAddress()
		e.AddHeader(pkt)
		h := pkt.LinkHeader().Slice()
		want := make([]byte, 14)
		copy(want, remote)
		copy(want[6:], linkMAC[:])
		want[12], want[13] = 0x86, 0xdd
		if !bytes.Equal(h, want) {
			t.Errorf("remote %q: header %x, want %x", remote, h, want)
		}
		pkt.DecRef()
	}
}

func TestLinkParseHeader(t *testing.T) {
	e := newLinkEndpoint(nullDev{linkMAC})
	for n, want := range map[int]bool{0: false, 13: false, 14: true, 60: true} {
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(make([]byte, n))})
		if got := e.ParseHeader(pkt); got != want || (got && len(pkt.LinkHeader().Slice()) != 14) {
			t.Errorf("ParseHeader of %d bytes = %v, want %v", n, got, want)
		}
		pkt.DecRef()
	}
}

func TestLinkProperties(t *testing.T) {
	e := newLinkEndpoint(nullDev{linkMAC})
	if e.MTU() != vnet.MTU || e.MaxHeaderLength() != header.EthernetMinimumSize ||
		e.ARPHardwareType() != header.ARPHardwareEther || e.Capabilities() != stack.CapabilityResolutionRequired ||
		e.LinkAddress() != tcpip.LinkAddress(linkMAC[:]) {
		t.Errorf("MTU %d, header %d, hardware %d, capabilities %#x, address %q", e.MTU(), e.MaxHeaderLength(), e.ARPHardwareType(), e.Capabilities(), e.LinkAddress())
	}
}

package net

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	vnet "github.com/runikraft/runikraft/kernel/drivers/virtio/net"
)

// batchDev is a device that says where batches end; the test hands
// frames to rx and ends batches itself.
type batchDev struct {
	rx  vnet.Receiver
	end func()
}

func (d *batchDev) MAC() [6]byte                      { return linkMAC }
func (d *batchDev) Attach(rx vnet.Receiver, _ func()) { d.rx = rx }
func (d *batchDev) Transmit(...[]byte) error          { return nil }
func (d *batchDev) AttachBatchEnd(fn func())          { d.end = fn }

// seg describes a test segment from the peer 10.0.2.2:40000 to
// 10.0.2.15:6379 (or from port sport when set).
type seg struct {
	sport    uint16
	seq, ack uint32
	win      uint16
	flags    header.TCPFlags
	opts     []byte
	data     string
	badSum   bool
	frag     bool
}

// frame builds s as an Ethernet frame to linkMAC, checksums right
// unless s.badSum.
func (s seg) frame() []byte {
	if s.sport == 0 {
		s.sport = 40000
	}
	if s.flags == 0 {
		s.flags = header.TCPFlagAck
	}
	if s.win == 0 {
		s.win = 1000
	}
	tl := header.TCPMinimumSize + len(s.opts)
	f := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+tl+len(s.data))
	copy(f, linkMAC[:])
	copy(f[6:], []byte{2, 0, 0, 0, 0, 1})
	f[12], f[13] = 0x08, 0x00
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	src, dst := tcpip.AddrFrom4([4]byte{10, 0, 2, 2}), tcpip.AddrFrom4([4]byte{10, 0, 2, 15})
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(ip)), TTL: 64, Protocol: uint8(header.TCPProtocolNumber),
		SrcAddr: src, DstAddr: dst,
	})
	if s.frag {
		binary.BigEndian.PutUint16(ip[6:], 0x2000) // more fragments
	}
	ip.SetChecksum(^ip.CalculateChecksum())
	th := header.TCP(ip[header.IPv4MinimumSize:])
	th.Encode(&header.TCPFields{
		SrcPort: s.sport, DstPort: 6379, SeqNum: s.seq, AckNum: s.ack,
		DataOffset: uint8(tl), Flags: s.flags, WindowSize: s.win,
	})
	copy(th[header.TCPMinimumSize:], s.opts)
	copy(th[tl:], s.data)
	xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(len(th)))
	th.SetChecksum(^checksum.Checksum(th, xsum))
	if s.badSum {
		th[16] ^= 0x55
	}
	return f
}

var (
	tsOpt   = []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	sackOpt = []byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}
)

// newBatchLink is a link over a batchDev, its deliveries recorded.
func newBatchLink() (*linkEndpoint, *batchDev, *[]delivered) {
	d := &batchDev{}
	e := newLinkEndpoint(d)
	got := new([]delivered)
	e.Attach(recordDispatcher{got})
	return e, d, got
}

// The coalescing rules (ackrx.go), batch by batch. Each case first
// delivers prime (in a batch of its own) so the connection is known,
// then batch, and expects the frames of batch at the indexes want to
// reach the stack, in that order.
func TestRxAckCoalescing(t *testing.T) {
	const s0, a0 = 5000, 9000
	req := seg{seq: s0, ack: a0, flags: header.TCPFlagAck | header.TCPFlagPsh, data: "GET", opts: tsOpt}
	p := seg{seq: s0 + 3, ack: a0 + 100, opts: tsOpt}              // a new pure ACK
	q := seg{seq: s0 + 3, ack: a0 + 100, data: "SET", opts: tsOpt} // the next request
	other := seg{sport: 40002, seq: 1, ack: 1, data: "x"}
	mod := func(s seg, f func(*seg)) seg { f(&s); return s }
	arp := func() []byte {
		f := make([]byte, 42)
		copy(f, linkMAC[:])
		f[12], f[13] = 0x08, 0x06
		return f
	}()
	cases := []struct {
		name      string
		prime     []seg
		batch     []seg
		raw       map[int][]byte // frames replacing batch[i]
		csumValid bool
		want      []int
		coalesced uint64
	}{
		{name: "request carries the ACK", prime: []seg{req}, batch: []seg{p, q}, want: []int{1}, coalesced: 1},
		{name: "FIN carries it", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.data, s.flags = "", header.TCPFlagAck|header.TCPFlagFin })}, want: []int{1}, coalesced: 1},
		{name: "a newer pure ACK", prime: []seg{req}, batch: []seg{p, mod(p, func(s *seg) { s.ack += 50 })}, want: []int{1}, coalesced: 1},
		{name: "newer, larger window", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.ack += 50; s.win = 2000 })}, want: []int{1}, coalesced: 1},
		{name: "then a duplicate ACK", prime: []seg{req}, batch: []seg{p, p}, want: []int{0, 1}},
		{name: "then a window update", prime: []seg{req}, batch: []seg{p, mod(p, func(s *seg) { s.win = 2000 })}, want: []int{0, 1}},
		{name: "P a duplicate itself", prime: []seg{req, mod(p, func(s *seg) { s.seq = s0 })}, batch: []seg{p, q}, want: []int{0, 1}},
		{name: "P older", prime: []seg{req, mod(p, func(s *seg) { s.ack += 500 })}, batch: []seg{p, q}, want: []int{0, 1}},
		{name: "connection unknown", batch: []seg{p, q}, want: []int{0, 1}},
		{name: "SYN forgets", prime: []seg{req, mod(req, func(s *seg) { s.flags = header.TCPFlagSyn; s.data = "" })}, batch: []seg{p, q}, want: []int{0, 1}},
		{name: "RST forgets", prime: []seg{req, mod(req, func(s *seg) { s.flags = header.TCPFlagRst; s.data = "" })}, batch: []seg{p, q}, want: []int{0, 1}},
		{name: "P with SACK", prime: []seg{req}, batch: []seg{mod(p, func(s *seg) { s.opts = sackOpt }), q}, want: []int{0, 1}},
		{name: "P with ECE", prime: []seg{req}, batch: []seg{mod(p, func(s *seg) { s.flags |= header.TCPFlagEce }), q}, want: []int{0, 1}},
		{name: "P with bad TS length", prime: []seg{req}, batch: []seg{mod(p, func(s *seg) { s.opts = []byte{8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1} }), q}, want: []int{0, 1}},
		{name: "Q smaller window", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.win = 999 })}, want: []int{0, 1}},
		{name: "Q older ACK", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.ack-- })}, want: []int{0, 1}},
		{name: "Q a retransmission", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.seq = s0 })}, want: []int{0, 1}},
		{name: "Q RST", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.flags = header.TCPFlagRst | header.TCPFlagAck; s.data = "" })}, want: []int{0, 1}},
		{name: "Q SYN", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.flags = header.TCPFlagSyn | header.TCPFlagAck })}, want: []int{0, 1}},
		{name: "Q URG", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.flags |= header.TCPFlagUrg })}, want: []int{0, 1}},
		{name: "Q no ACK flag", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.flags = header.TCPFlagPsh })}, want: []int{0, 1}},
		{name: "Q bad checksum", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.badSum = true })}, want: []int{0, 1}},
		{name: "Q bad checksum, device vouches", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.badSum = true })}, csumValid: true, want: []int{1}, coalesced: 1},
		{name: "Q a fragment", prime: []seg{req}, batch: []seg{p, mod(q, func(s *seg) { s.frag = true })}, want: []int{0, 1}},
		{name: "another connection between", prime: []seg{req}, batch: []seg{p, other, q}, want: []int{1, 2}, coalesced: 1},
		{name: "alone: at the batch's end", prime: []seg{req}, batch: []seg{p, other}, want: []int{1, 0}},
		{name: "ARP between", prime: []seg{req}, batch: []seg{p, {}, q}, raw: map[int][]byte{1: arp}, want: []int{0, 1, 2}},
		{name: "across the wrap", prime: []seg{mod(req, func(s *seg) { s.ack = 0xffffff00 })},
			batch: []seg{mod(p, func(s *seg) { s.ack = 0x10 }), mod(q, func(s *seg) { s.ack = 0x10 })}, want: []int{1}, coalesced: 1},
		{name: "older across the wrap", prime: []seg{mod(req, func(s *seg) { s.ack = 0x10 })},
			batch: []seg{mod(p, func(s *seg) { s.ack = 0xffffff00 }), mod(q, func(s *seg) { s.ack = 0xffffff00 })}, want: []int{0, 1}},
		{name: "seq across the wrap", prime: []seg{mod(req, func(s *seg) { s.seq = 0xfffffffe })},
			batch: []seg{mod(p, func(s *seg) { s.seq = 1 }), mod(q, func(s *seg) { s.seq = 1 })}, want: []int{1}, coalesced: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, d, got := newBatchLink()
			for _, s := range c.prime {
				d.rx(s.frame(), c.csumValid)
				d.end()
			}
			*got = (*got)[:0]
			var frames [][]byte
			for i, s := range c.batch {
				f := s.frame()
				if r, ok := c.raw[i]; ok {
					f = r
				}
				frames = append(frames, f)
				d.rx(f, c.csumValid)
			}
			d.end()
			if len(*got) != len(c.want) {
				t.Fatalf("%d frames delivered, want %d", len(*got), len(c.want))
			}
			for k, i := range c.want {
				if !bytes.Equal((*got)[k].rest, frames[i][header.EthernetMinimumSize:]) {
					t.Errorf("delivery %d is not frame %d", k, i)
				}
			}
			if n := e.rxCoalesced.Load(); n != c.coalesced {
				t.Errorf("%d coalesced, want %d", n, c.coalesced)
			}
			if e.rx.nHeld != 0 {
				t.Errorf("%d still held after the batch", e.rx.nHeld)
			}
		})
	}
}

// At most maxRxHeld ACKs are held; the rest go at once, and all of them
// arrive by the batch's end.
func TestRxAckHoldBound(t *testing.T) {
	_, d, got := newBatchLink()
	const conns = maxRxHeld + 5
	for i := 0; i < conns; i++ {
		d.rx(seg{sport: uint16(1000 + i), seq: 1, ack: 1, data: "x"}.frame(), false)
	}
	d.end()
	*got = (*got)[:0]
	for i := 0; i < conns; i++ {
		d.rx(seg{sport: uint16(1000 + i), seq: 2, ack: 50}.frame(), false)
	}
	if len(*got) != conns-maxRxHeld {
		t.Errorf("%d delivered before the batch ended, want %d", len(*got), conns-maxRxHeld)
	}
	d.end()
	if len(*got) != conns {
		t.Errorf("%d delivered, want %d", len(*got), conns)
	}
}

// Frames that are not what they claim (cut short, lengths that lie,
// random bytes) are delivered or dropped, never a panic, and nothing
// stays held past its batch.
func TestRxAckMalformed(t *testing.T) {
	e, d, _ := newBatchLink()
	good := seg{seq: 7, ack: 9, data: "hello", opts: tsOpt}.frame()
	prime := seg{seq: 1, ack: 1, data: "x"}.frame()
	pure := seg{seq: 8, ack: 20, opts: tsOpt}.frame()
	rng := rand.New(rand.NewSource(1))
	try := func(f []byte) {
		d.rx(prime, false)
		d.end()
		d.rx(pure, false)
		d.rx(f, false)
		d.rx(f, true)
		d.end()
		if e.rx.nHeld != 0 {
			t.Fatalf("held after the batch, frame %x", f)
		}
	}
	for _, f := range [][]byte{good, pure} {
		for n := 0; n <= len(f); n++ {
			try(f[:n])
		}
	}
	for _, fix := range []func(f []byte){
		func(f []byte) { f[14] = 0x4f },                               // IHL 60
		func(f []byte) { f[14] = 0x41 },                               // IHL 4
		func(f []byte) { binary.BigEndian.PutUint16(f[16:], 0xffff) }, // total length
		func(f []byte) { binary.BigEndian.PutUint16(f[16:], 20) },     // no room for TCP
		func(f []byte) { f[34+12] = 0xf0 },                            // data offset 60
		func(f []byte) { f[34+12] = 0x10 },                            // data offset 4
		func(f []byte) { f[34+20], f[34+21] = 8, 200 },                // option longer than the header
		func(f []byte) { f[34+20], f[34+21], f[34+22] = 1, 1, 8 },     // TS cut short
		func(f []byte) { f[14] = 0x65 },                               // version 6
	} {
		for _, base := range [][]byte{good, pure} {
			f := append([]byte(nil), base...)
			fix(f)
			try(f)
		}
	}
	for i := 0; i < 5000; i++ {
		f := append([]byte(nil), good[:rng.Intn(len(good)+1)]...)
		for k := rng.Intn(4); k >= 0 && len(f) > 0; k-- {
			f[rng.Intn(len(f))] = byte(rng.Intn(256))
		}
		try(f)
	}
}

// FuzzRxAck feeds a batch of three frames: a known connection's pure
// ACK, then fuzzed bytes twice.
func FuzzRxAck(f *testing.F) {
	f.Add(seg{seq: 8, ack: 20, data: "SET", opts: tsOpt}.frame())
	f.Add(seg{seq: 8, ack: 20, opts: sackOpt}.frame())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, d, _ := newBatchLink()
		d.rx(seg{seq: 1, ack: 1, data: "x"}.frame(), false)
		d.end()
		d.rx(seg{seq: 8, ack: 20}.frame(), false)
		d.rx(b, false)
		d.rx(b, true)
		d.end()
		if e.rx.nHeld != 0 {
			t.Fatal("held after the batch")
		}
		parseRx(b)
	})
}

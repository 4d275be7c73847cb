package net

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Feature bits of a network device (virtio 1.1 §5.1.3) that the driver
// knows about.
const (
	FeatureCsum      = 0  // the device completes partial checksums we send
	FeatureGuestCsum = 1  // the device may send partial or validated checksums
	FeatureMTU       = 3  // config space has the MTU
	FeatureMAC       = 5  // config space has the MAC address
	FeatureGuestTSO4 = 7  // the device may send TSO frames (GSO)
	FeatureMrgRxbuf  = 15 // a frame may span several receive buffers
	FeatureStatus    = 16 // config space has the link status
	FeatureCtrlVQ    = 17
)

// Header flags (virtio_net_hdr.flags).
const (
	flagNeedsCsum = 1 // checksum at CsumStart+CsumOffset is partial
	flagDataValid = 2 // the device validated the checksums
)

// gsoNone is the only gso_type the driver accepts: it never negotiates
// the GUEST_TSO/UFO features, so a device that sends GSO frames is
// broken.
const gsoNone = 0

// Header sizes: legacy devices without MRG_RXBUF have no num_buffers
// field (§5.1.6.1).
const (
	hdrLenLegacy = 10
	hdrLenModern = 12
)

// header is struct virtio_net_hdr, in the guest's order (little-endian
// on riscv64 for both interfaces).
type header struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
	numBuffers uint16 // 1 where the header has no such field
}

var errShort = errors.New("shorter than the virtio-net header")

// parseHeader decodes the header at the start of b, which is size bytes
// long (hdrLenLegacy or hdrLenModern). It runs for every frame received:
// one bounds check for the fields every header has, and the fields set
// in place (a composite literal was built on the stack and copied out
// field by field: about 90 instructions a frame).
func parseHeader(b []byte, size int) (h header, err error) {
	if len(b) < size || len(b) < hdrLenLegacy {
		return header{}, fmt.Errorf("%d bytes: %w", len(b), errShort)
	}
	le := binary.LittleEndian
	_ = b[hdrLenLegacy-1]
	h.flags = b[0]
	h.gsoType = b[1]
	h.hdrLen = le.Uint16(b[2:4])
	h.gsoSize = le.Uint16(b[4:6])
	h.csumStart = le.Uint16(b[6:8])
	h.csumOffset = le.Uint16(b[8:10])
	h.numBuffers = 1
	if size >= hdrLenModern {
		h.numBuffers = le.Uint16(b[10:12])
	}
	return h, nil
}

// finishChecksum completes a partial checksum (NEEDS_CSUM): the device
// left the pseudo-header's sum at start+off and wants the one's
// complement sum of frame[start:] stored there. It refuses offsets
// outside the frame.
func finishChecksum(frame []byte, start, off uint16) error {
	s, o := int(start), int(off)
	if s >= len(frame) || o > len(frame)-s-2 {
		return fmt.Errorf("partial checksum at %d+%d outside a %d-byte frame", start, off, len(frame))
	}
	var sum uint32
	b := frame[s:]
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	c := ^uint16(sum)
	// RFC 768: a UDP checksum of 0 means "none"; 0xffff is its
	// equivalent. TCP accepts either.
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[s+o:], c)
	return nil
}

// assembler turns the receive buffers the device used into frames. It
// copies nothing for a frame in one buffer (the usual case); a frame
// merged from several buffers (MRG_RXBUF) is copied into scratch. Every
// length and count comes from the device and is checked.
type assembler struct {
	hdrLen   int  // hdrLenLegacy or hdrLenModern
	merge    bool // MRG_RXBUF was negotiated
	maxFrame int  // longest frame accepted, Ethernet header included

	scratch []byte // the merged frame so far
	hdr     header // of the frame being merged
	left    int    // buffers still to come for it
	bad     bool   // the frame being merged is dropped
}

// maxMerge bounds num_buffers: a frame is at most 64 KiB, and the
// driver's receive buffers are at least 1 KiB.
const maxMerge = 64

// rxFrame is a frame ready for the stack. frame is valid until the next
// call to add.
type rxFrame struct {
	frame     []byte
	csumValid bool // the device vouched for the transport checksum
}

// add takes the n bytes the device wrote into one receive buffer buf (n
// is already capped at len(buf) by the ring). It returns a frame when
// one is complete (ok), or an error for a buffer that is dropped; after
// an error the assembler is ready for the next frame.
func (a *assembler) add(buf []byte, n uint32) (f rxFrame, ok bool, err error) {
	if int64(n) > int64(len(buf)) {
		n = uint32(len(buf))
	}
	b := buf[:n]
	if a.left > 0 {
		// A continuation: no header, just more of the frame.
		a.left--
		if !a.bad {
			if len(a.scratch)+len(b) > a.maxFrame {
				a.bad = true
				err = fmt.Errorf("merged frame longer than %d bytes", a.maxFrame)
			} else {
				a.scratch = append(a.scratch, b...)
			}
		}
		if a.left > 0 || a.bad {
			if a.left == 0 {
				a.bad = false
			}
			return rxFrame{}, false, err
		}
		return a.finish(a.scratch, a.hdr)
	}
	h, err := parseHeader(b, a.hdrLen)
	if err != nil {
		return rxFrame{}, false, err
	}
	if !a.merge {
		h.numBuffers = 1
	}
	if h.numBuffers == 0 || h.numBuffers > maxMerge {
		// Without a believable count the next buffers cannot be told
		// apart from new frames; take this one as a frame of its own.
		return rxFrame{}, false, fmt.Errorf("num_buffers %d", h.numBuffers)
	}
	body := b[a.hdrLen:]
	if h.numBuffers == 1 {
		return a.finish(body, h)
	}
	a.hdr, a.left, a.bad = h, int(h.numBuffers)-1, false
	if len(body) > a.maxFrame {
		a.bad = true
		return rxFrame{}, false, fmt.Errorf("merged frame longer than %d bytes", a.maxFrame)
	}
	a.scratch = append(a.scratch[:0], body...)
	return rxFrame{}, false, nil
}

// finish checks a whole frame and its header.
func (a *assembler) finish(frame []byte, h header) (rxFrame, bool, error) {
	switch {
	case h.gsoType != gsoNone:
		return rxFrame{}, false, fmt.Errorf("gso_type %d, which was not negotiated", h.gsoType)
	case len(frame) < ethHeaderLen:
		return rxFrame{}, false, fmt.Errorf("%d-byte frame, shorter than an Ethernet header", len(frame))
	case len(frame) > a.maxFrame:
		return rxFrame{}, false, fmt.Errorf("%d-byte frame, longer than %d", len(frame), a.maxFrame)
	}
	if h.flags&flagNeedsCsum != 0 {
		if err := finishChecksum(frame, h.csumStart, h.csumOffset); err != nil {
			return rxFrame{}, false, err
		}
		// The device computed the sum over data it had; what it
		// received was valid as far as it knows (§5.1.6.4.1).
		return rxFrame{frame: frame, csumValid: true}, true, nil
	}
	return rxFrame{frame: frame, csumValid: h.flags&flagDataValid != 0}, true, nil
}

// ethHeaderLen is an Ethernet II header: two MACs and the type.
const ethHeaderLen = 14

// Package net drives a virtio network device (virtio 1.1 §5.1) over
// virtio-mmio, legacy or modern (VIRTIO_F_VERSION_1): one receive and
// one transmit queue, frames in 2 KiB slots of DMA memory (MTU 1500).
//
// Open sets the first device up: features, the MAC from config space,
// the queues, and every receive slot given to the device. Frames
// arrive through the function given to Attach, on the device's
// interrupt goroutine (the transport's WaitIRQ loop: no polling, an idle
// device costs nothing). Transmit copies a frame into a free slot and
// returns; ErrBusy says all slots are in flight, and the Attach room
// function is called as each frees.
//
// Features: MAC, GUEST_CSUM (a DATA_VALID frame skips the stack's
// checksum check; a NEEDS_CSUM one has its checksum completed here) and
// MRG_RXBUF (a frame may span several receive slots) are taken when the
// device offers them. QEMU's user networking offers MAC and MRG_RXBUF
// only: it clears the checksum and segmentation features for a backend
// without a virtio-net header (user, socket), so GUEST_CSUM shows only
// with a tap backend. CSUM (transmit checksum offload) is not asked for:
// the stack computes checksums itself, and a partial one would have to
// carry the pseudo-header sum, which gVisor does not leave when told the
// link offloads; the GSO/TSO features need larger slots; CTRL_VQ and MQ
// are not needed for one queue pair without filtering.
//
// Everything the device reports is checked (header.go, FuzzReceive): the
// used length is capped at the slot by the ring, a buffer shorter than
// the header or a frame shorter than an Ethernet header or longer than
// the MTU is dropped, num_buffers is bounded (64) and a merged frame
// may not outgrow the MTU either, a GSO frame (never negotiated) is dropped, and a partial
// checksum's offsets must lie inside the frame.
package net

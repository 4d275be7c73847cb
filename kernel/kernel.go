//go:build riscv64

// Package kernel is what a Runikraft kernel program imports:
//
//	import _ "github.com/runikraft/runikraft/kernel"
//
// It links the hart layer the Go runtime runs on and brings up the
// drivers. At init it looks for virtio-mmio devices and, if there is a
// virtio-rng device, reseeds the kernel's random generator (getrandom,
// crypto/rand) from it with one 64-byte request. When the device tree
// gave a seed (QEMU's rng-seed), boot does not wait for that answer: it
// is mixed in whenever it arrives. Without one, boot waits for it (at
// most seedTimeout). A failure is reported on stderr and boot goes on
// with the seed the kernel has.
package kernel

import (
	"fmt"
	"os"
	"time"

	"github.com/runikraft/runikraft/kernel/drivers/virtio"
	"github.com/runikraft/runikraft/kernel/drivers/virtio/rng"
	"github.com/runikraft/runikraft/kernel/hart"
)

// seedSize is what one virtio-rng request gives the kernel's generator:
// far more than its 256-bit key needs.
const seedSize = 64

func init() {
	if err := seed(); err != nil {
		fmt.Fprintf(os.Stderr, "runikraft: %v\n", err)
	}
	hart.Stamp(hart.PhaseDevices)
}

// seedTimeout bounds the wait for the first virtio-rng answer: a device
// that never interrupts (or an interrupt routed elsewhere) must not stop
// the boot; the generator keeps its device-tree seed meanwhile.
const seedTimeout = 2 * time.Second

func seed() error {
	if _, ok := virtio.Find(virtio.IDEntropy); !ok {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		var b [seedSize]byte
		defer clear(b[:])
		if _, err := rng.Read(b[:]); err != nil {
			done <- err // already says virtio-rng
			return
		}
		if err := hart.Reseed(b[:]); err != nil {
			done <- fmt.Errorf("virtio-rng: %w", err)
			return
		}
		done <- nil
	}()
	if hart.Seeded() {
		// The device tree's rng-seed already keyed the generator: boot
		// does not wait for the device, whose answer is mixed in when it
		// comes (a failure is still reported).
		go func() {
			if err := <-done; err != nil {
				fmt.Fprintf(os.Stderr, "runikraft: %v\n", err)
			}
		}()
		return nil
	}
	select {
	case err := <-done:
		return err
	case <-time.After(seedTimeout):
		return fmt.Errorf("virtio-rng: no answer in %v; booting with the device tree's seed", seedTimeout)
	}
}

// Devices describes the virtio devices found, one line each, e.g.
// "virtio-mmio slot 7 irq 8: rng (device 4, legacy, registers at 0x3e10008000)".
func Devices() []string {
	var s []string
	for _, d := range virtio.Probe() {
		s = append(s, d.String())
	}
	return s
}
